package newaccount

import (
	"fmt"
	"strings"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/mode"
	"github.com/rootguard/rootguard/internal/notify"
	"github.com/rootguard/rootguard/internal/remediate"
)

type words struct {
	subjEnforced, subjViolation, subjFailed, subjReport string
	event, ou, modeLine, root, noRoot, notAudited       string
	deleted, refused, left, enforceOff, action, flex    string
}

var catalog = map[notify.Lang]words{
	notify.English: {
		subjEnforced:  "[MEDIUM] rootguard: new account %s secured: root credentials deleted",
		subjViolation: "[HIGH] rootguard: new account %s in a strict OU has (or may have) root credentials",
		subjFailed:    "[HIGH] rootguard: new account %s: root credentials NOT deleted",
		subjReport:    "[INFO] rootguard: new account %s audited",
		event:         "Event: %s (%s, %s)",
		ou:            "Account: %s%s, OU %s",
		modeLine:      "Mode: %s (%s)",
		root:          "Root credentials: %s",
		noRoot:        "Root credentials: none",
		notAudited:    "Not audited: %s",
		deleted:       "Deleted (IAMDeleteRootUserCredentials), and verified: %s",
		refused:       "Enforcement did not complete: %s",
		left:          "Still present: %s",
		enforceOff:    "Enforcement is off for this OU (set enforce: true on it in rootguard.yaml to delete them automatically).",
		action:        "Delete them: rootguard root delete-credentials --account %s (plan, then --apply).",
		flex:          "Flexible OU: reported only.",
	},
	notify.Japanese: {
		subjEnforced:  "[MEDIUM] rootguard: 新規アカウント %s を保護: ルート認証情報を削除",
		subjViolation: "[HIGH] rootguard: strict OU の新規アカウント %s にルート認証情報あり (またはその可能性)",
		subjFailed:    "[HIGH] rootguard: 新規アカウント %s: ルート認証情報を削除できず",
		subjReport:    "[INFO] rootguard: 新規アカウント %s を監査",
		event:         "イベント: %s (%s, %s)",
		ou:            "アカウント: %s%s, OU %s",
		modeLine:      "モード: %s (%s)",
		root:          "ルート認証情報: %s",
		noRoot:        "ルート認証情報: なし",
		notAudited:    "監査できず: %s",
		deleted:       "削除 (IAMDeleteRootUserCredentials) し、確認済み: %s",
		refused:       "強制削除は完了していません: %s",
		left:          "残っているもの: %s",
		enforceOff:    "この OU では強制削除が無効です (rootguard.yaml でこの OU に enforce: true を設定すると自動で削除します)。",
		action:        "削除してください: rootguard root delete-credentials --account %s (計画のあと --apply)。",
		flex:          "flexible OU: 報告のみ。",
	},
}

// Render writes the one alert of an event's result, in lang (Both:
// English then Japanese). A strict OU's account left with root
// credentials pages; a deletion that was verified, and everything in a
// flexible OU, does not.
func Render(res *Result, lang notify.Lang) notify.Alert {
	langs := []notify.Lang{notify.English}
	switch lang {
	case notify.Japanese:
		langs = []notify.Lang{notify.Japanese}
	case notify.Both:
		langs = []notify.Lang{notify.English, notify.Japanese}
	}
	a, ev := res.Account, res.Event
	dec := mode.Decision{Mode: mode.Flexible}
	if res.Mode != nil {
		dec = *res.Mode
	}
	// A strict OU's account with root credentials, or one that could not
	// be read, is a violation until shown otherwise.
	strictCreds := dec.Mode == mode.Strict && a != nil && (a.Error != "" || a.Root != nil && a.Root.HasCredentials())
	severity, page := "INFO", false
	switch {
	case res.Outcome == OutcomeEnforced:
		severity = "MEDIUM"
	case res.Outcome == OutcomeRefused || strictCreds:
		severity, page = "HIGH", true
	}
	var body []string
	var subject string
	for i, l := range langs {
		w := catalog[l]
		if i > 0 {
			body = append(body, "", "----", "")
		}
		s := w.subjReport
		switch {
		case res.Outcome == OutcomeEnforced:
			s = w.subjEnforced
		case res.Outcome == OutcomeRefused:
			s = w.subjFailed
		case strictCreds:
			s = w.subjViolation
		}
		if i == 0 {
			subject = fmt.Sprintf(s, ev.Account)
		}
		body = append(body, fmt.Sprintf(w.event, ev.Name, ev.ID, ev.Time.Format("2006-01-02 15:04:05Z")))
		name, ou := "", ""
		if a != nil {
			ou = a.OUPath
			if a.Name != "" {
				name = " (" + a.Name + ")"
			}
		}
		body = append(body, fmt.Sprintf(w.ou, ev.Account, name, ou), fmt.Sprintf(w.modeLine, dec.Mode, dec.Source))
		if del := res.Deletion; del != nil && del.Before != nil {
			body = append(body, fmt.Sprintf(w.root, credentialList(del.Before)))
		}
		switch {
		case a != nil && a.Error != "":
			body = append(body, fmt.Sprintf(w.notAudited, a.Error))
		case res.Deletion != nil:
			if res.Deletion.Verified() {
				var steps []string
				for _, st := range res.Deletion.Steps {
					steps = append(steps, st.Step+" "+st.Result)
				}
				body = append(body, fmt.Sprintf(w.deleted, strings.Join(steps, ", ")))
			} else {
				body = append(body, fmt.Sprintf(w.refused, cmpOr(res.Deletion.Refused, res.Reason)))
				if len(res.Deletion.Left) > 0 {
					body = append(body, fmt.Sprintf(w.left, strings.Join(res.Deletion.Left, ", ")))
				}
			}
		case a != nil && a.Root != nil && a.Root.HasCredentials():
			body = append(body, fmt.Sprintf(w.root, rootCredentials(a.Root)))
			if dec.Mode == mode.Strict {
				body = append(body, w.enforceOff, fmt.Sprintf(w.action, ev.Account))
			} else {
				body = append(body, w.flex)
			}
		default:
			body = append(body, w.noRoot)
		}
	}
	if len([]rune(subject)) > notify.MaxSubject {
		subject = string([]rune(subject)[:notify.MaxSubject])
	}
	return notify.Alert{
		Subject: subject,
		Body:    strings.Join(body, "\n") + "\n",
		Attributes: map[string]string{"severity": severity, "category": "new-account", "account": ev.Account,
			"approval": "unapproved", "page": fmt.Sprint(page), "outcome": res.Outcome, "mode": string(dec.Mode)},
	}
}

func rootCredentials(r *audit.Root) string {
	var parts []string
	if r.Password {
		parts = append(parts, "password")
	}
	for _, k := range r.AccessKeys {
		parts = append(parts, "access key "+k.ID+" ("+k.Status+")")
	}
	for _, c := range r.SigningCertificates {
		parts = append(parts, "certificate "+c.ID+" ("+c.Status+")")
	}
	for _, d := range r.MFADevices {
		parts = append(parts, "MFA "+d.Serial)
	}
	return strings.Join(parts, ", ")
}

func credentialList(c *remediate.Credentials) string {
	var parts []string
	if c.Password {
		parts = append(parts, "password")
	}
	for _, k := range c.AccessKeys {
		parts = append(parts, "access key "+k.ID+" ("+k.Status+")")
	}
	for _, x := range c.SigningCertificates {
		parts = append(parts, "certificate "+x.ID+" ("+x.Status+")")
	}
	for _, d := range c.MFADevices {
		parts = append(parts, "MFA "+d.Serial)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
