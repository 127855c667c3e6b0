package monitor

import (
	"fmt"
	"strings"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/notify"
)

// words are one language's texts of a drift alert.
type words struct {
	subject, intro, action string
}

var catalog = map[notify.Lang]words{
	notify.English: {
		subject: "[HIGH] rootguard: %d root regression(s) in %s",
		intro:   "The scheduled root audit of %s (%s) found what got worse since the previous run (%s):",
		action:  "Fix it, or approve it, then the next run archives its Security Hub finding. Details: rootguard audit diff --from %s",
	},
	notify.Japanese: {
		subject: "[HIGH] rootguard: ルートユーザーの状態が悪化 %d 件 (%s)",
		intro:   "%s の定期ルート監査 (%s) で、前回 (%s) から悪化した項目が見つかりました:",
		action:  "是正するか承認してください。是正後の次回実行で Security Hub の検出結果はアーカイブされます。詳細: rootguard audit diff --from %s",
	},
}

// Render writes one alert for a run's regressions, in lang (Both: English
// then Japanese), with page=true: it goes to the same topics, with the
// same attributes, as the real-time alerts.
func Render(regs []Regression, prev, cur *audit.Report, history string, lang notify.Lang) notify.Alert {
	langs := []notify.Lang{notify.English}
	switch lang {
	case notify.Japanese:
		langs = []notify.Lang{notify.Japanese}
	case notify.Both:
		langs = []notify.Lang{notify.English, notify.Japanese}
	}
	var body []string
	for i, l := range langs {
		w := catalog[l]
		if i > 0 {
			body = append(body, "", "----", "")
		}
		body = append(body, fmt.Sprintf(w.intro, cur.Organization.ID, stamp(cur), stamp(prev)), "")
		for _, r := range regs {
			// Account names and details come from the accounts: one line
			// each, so a name cannot forge lines of the message.
			who := r.Account
			if r.Name != "" {
				who += " (" + notify.CleanLine(r.Name) + ")"
			}
			if who == "" {
				who = cur.Organization.ID
			}
			body = append(body, fmt.Sprintf("  - %s: %s: %s", who, notify.KindText(l, r.Kind), notify.CleanLine(r.Detail)))
		}
		body = append(body, "", fmt.Sprintf(w.action, history))
	}
	subject := fmt.Sprintf(catalog[langs[0]].subject, len(regs), cur.Organization.ID)
	if len([]rune(subject)) > notify.MaxSubject {
		subject = string([]rune(subject)[:notify.MaxSubject])
	}
	account := "organization"
	if len(regs) > 0 && regs[0].Account != "" {
		account = regs[0].Account
	}
	kinds := map[string]bool{}
	var ks []string
	for _, r := range regs {
		if !kinds[r.Kind] {
			kinds[r.Kind] = true
			ks = append(ks, r.Kind)
		}
	}
	return notify.Alert{
		Subject: subject,
		Body:    strings.Join(body, "\n") + "\n",
		Attributes: map[string]string{"severity": "HIGH", "category": "audit-drift", "account": account,
			"approval": "unapproved", "page": "true", "drift": strings.Join(ks, ",")},
	}
}

func stamp(r *audit.Report) string {
	if r == nil || r.StartedAt.IsZero() {
		return "?"
	}
	return r.StartedAt.UTC().Format("2006-01-02 15:04Z")
}
