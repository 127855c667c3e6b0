package notify

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Weekly is the scheduled audit's weekly digest: the organization's root
// state in its newest run, the trend against the run about a week
// earlier, what got worse and what was fixed in between, and the accounts
// that still need action. internal/monitor computes it from the history.
type Weekly struct {
	Organization string `json:"organization"`
	History      string `json:"history"` // s3://bucket/prefix
	// Generated is when the digest was made: a newest run more than a
	// week older says the scheduled audit may have stopped.
	Generated time.Time `json:"generated"`
	// Now is the newest run, nil when the history holds none. Then is the
	// run about a week earlier (or the oldest kept, when the history is
	// younger), nil when Now is the only run.
	Now  *OrgState `json:"now"`
	Then *OrgState `json:"then,omitempty"`
	// Runs counts the runs after Then up to Now, Now included.
	Runs        int           `json:"runs"`
	Regressions []WeeklyEvent `json:"regressions"`
	Fixes       []WeeklyEvent `json:"fixes"`
	NeedsAction []NeedsAction `json:"needsAction"`
	// Unreadable names the history objects of the week that could not be
	// read; the digest is computed without them.
	Unreadable []string `json:"unreadable,omitempty"`
}

// OrgState counts one run's accounts.
type OrgState struct {
	At                  time.Time `json:"at"`
	Accounts            int       `json:"accounts"`
	Audited             int       `json:"audited"`
	Unreadable          int       `json:"unreadable"`          // could not be read
	Inactive            int       `json:"inactive"`            // suspended or closing
	WithRoot            int       `json:"withRootCredentials"` // a password, access key or signing certificate
	WithoutRoot         int       `json:"withoutRootCredentials"`
	WithRootMFA         int       `json:"withRootCredentialsAndMFA"`
	WithRootNoMFA       int       `json:"withRootCredentialsNoMFA"`
	WithAccessKeys      int       `json:"withRootAccessKeys"`
	OrgControlsFailing  []string  `json:"orgControlsFailing,omitempty"`
	Controls            []Tally   `json:"controls"`
	Posture             *Posture  `json:"posture,omitempty"` // nil: no strict OU configured
	NeedingAction       int       `json:"needingAction"`
	OrganizationProblem string    `json:"organizationProblem,omitempty"`
}

// Tally counts one account control's outcomes.
type Tally struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Pass  int    `json:"pass"`
	Fail  int    `json:"fail"`
}

// Posture counts the OUs and accounts under strict OUs (no root
// credentials) and the rest (flexible).
type Posture struct {
	StrictOUs        int `json:"strictOUs"`
	StrictAccounts   int `json:"strictAccounts"`
	StrictWithRoot   int `json:"strictWithRootCredentials"`
	FlexibleOUs      int `json:"flexibleOUs"`
	FlexibleAccounts int `json:"flexibleAccounts"`
}

// WeeklyEvent is a regression or a fix seen by a run of the week.
type WeeklyEvent struct {
	At      time.Time `json:"at"`      // the run that saw it
	Account string    `json:"account"` // empty for the organization
	Name    string    `json:"name"`
	Kind    string    `json:"kind"` // a monitor regression kind, or "fixed"
	Detail  string    `json:"detail"`
}

// NeedsAction is an account failing controls in the newest run.
type NeedsAction struct {
	Account string   `json:"account"`
	Name    string   `json:"name"`
	OUPath  string   `json:"ouPath"`
	Failing []string `json:"failing"` // control ids
}

// MaxWeeklyLines caps each list of the weekly digest; the rest is "and N
// more".
const MaxWeeklyLines = 20

type weeklyWords struct {
	subjectFmt, emptySubjectFmt, titleFmt, emptyFmt string
	newest, compared, runsFmt, noEarlier, staleFmt  string
	state, controls                                 string
	accounts, audited, unreadable, inactive         string
	withRoot, withoutRoot, mfa, noMFA, accessKeys   string
	needing, strictFmt, flexibleFmt, orgFailing     string
	orgProblem, ous                                 string
	regressionsFmt, fixesFmt, needsFmt, none        string
	unreadableFmt, details, org                     string
	kinds                                           map[string]string
}

// KindText is the text, in l (English or Japanese), of a kind of change
// the scheduled audit reports (monitor's regression kinds, fixed and
// feature-enabled): one table for the drift page and the digest.
func KindText(l Lang, kind string) string {
	if l == Japanese {
		return weeklyJA.kinds[kind]
	}
	return weeklyEN.kinds[kind]
}

var weeklyEN = weeklyWords{
	subjectFmt:      "rootguard weekly digest %s: %d of %d accounts with root credentials%s",
	emptySubjectFmt: "rootguard weekly digest %s: no scheduled audit in the history",
	titleFmt:        "Weekly root digest of %s",
	emptyFmt:        "The history (%s) holds no run of the scheduled audit yet: nothing to report. Check that the audit schedule is enabled and that its function succeeds.",
	newest:          "Newest run", compared: "Compared with",
	runsFmt:   "%s (runs since: %d)",
	noEarlier: "no earlier run kept: no trend yet",
	staleFmt:  "the newest run is %d days old: the scheduled audit may not be running",
	state:     "State now (change in a week):", controls: "Controls (pass / fail):",
	accounts: "Accounts", audited: "Audited", unreadable: "Not readable", inactive: "Suspended or closing",
	withRoot: "With root credentials", withoutRoot: "Without root credentials", mfa: "  with MFA", noMFA: "  without MFA",
	accessKeys: "With root access keys", needing: "Needing action",
	strictFmt: "strict: %d OUs, %d accounts, %d with root credentials", flexibleFmt: "flexible: %d OUs, %d accounts",
	orgFailing: "Organization controls failing", orgProblem: "Organization setup not readable", ous: "OUs",
	regressionsFmt: "Got worse this week (%d):", fixesFmt: "Fixed this week (%d):", needsFmt: "Accounts still needing action (%d):",
	none: "  none", unreadableFmt: "Runs not readable (left out): %s",
	details: "Details: rootguard audit history %s", org: "organization",
	kinds: map[string]string{
		"credential-appeared": "root credential appeared", "mfa-removed": "root MFA removed", "feature-disabled": "feature disabled",
		"new-account-with-root": "new account with root credentials", "scp-blocks-sessions": "an SCP now blocks root sessions",
		"left-strict-ou": "left a strict OU", "fixed": "fixed", "feature-enabled": "feature enabled",
	},
}

var weeklyJA = weeklyWords{
	subjectFmt:      "rootguard 週次ダイジェスト %s: ルート認証情報あり %d/%d アカウント%s",
	emptySubjectFmt: "rootguard 週次ダイジェスト %s: 定期監査の履歴がありません",
	titleFmt:        "%s のルートユーザー週次ダイジェスト",
	emptyFmt:        "履歴 (%s) に定期監査の実行結果がまだありません。報告する内容はありません。監査スケジュールが有効で、関数が成功していることを確認してください。",
	newest:          "最新の実行", compared: "比較対象",
	runsFmt:   "%s（以降 %d 回実行）",
	noEarlier: "以前の実行結果がないため、推移はまだありません",
	staleFmt:  "最新の実行は %d 日前です。定期監査が動いていない可能性があります",
	state:     "現在の状態（1週間の増減）:", controls: "コントロール（合格 / 不合格）:",
	accounts: "アカウント", audited: "監査済み", unreadable: "読み取り不可", inactive: "停止中・閉鎖中",
	withRoot: "ルート認証情報あり", withoutRoot: "ルート認証情報なし", mfa: "  うち MFA あり", noMFA: "  うち MFA なし",
	accessKeys: "ルートアクセスキーあり", needing: "要対応",
	strictFmt: "strict OU %d 個: %d アカウント、うちルート認証情報あり %d", flexibleFmt: "flexible OU %d 個: %d アカウント",
	orgFailing: "組織のコントロール不合格", orgProblem: "組織の設定を読み取れません", ous: "OU",
	regressionsFmt: "今週悪化した項目（%d 件）:", fixesFmt: "今週是正された項目（%d 件）:", needsFmt: "引き続き対応が必要なアカウント（%d 件）:",
	none: "  なし", unreadableFmt: "読み取れなかった実行結果（除外）: %s",
	details: "詳細: rootguard audit history %s", org: "組織",
	kinds: map[string]string{
		"credential-appeared": "ルート認証情報の出現", "mfa-removed": "ルート MFA の削除", "feature-disabled": "機能の無効化",
		"new-account-with-root": "ルート認証情報を持つ新規アカウント", "scp-blocks-sessions": "SCP がルートセッションを拒否",
		"left-strict-ou": "strict OU からの移動", "fixed": "是正", "feature-enabled": "機能の有効化",
	},
}

func weeklyCatalogs(lang Lang) []weeklyWords {
	switch lang {
	case Japanese:
		return []weeklyWords{weeklyJA}
	case Both:
		return []weeklyWords{weeklyEN, weeklyJA}
	}
	return []weeklyWords{weeklyEN}
}

// delta writes a change as +3, -2 or ±0; "" without an earlier run.
func delta(now, then int, ok bool) string {
	switch {
	case !ok:
		return ""
	case now > then:
		return fmt.Sprintf("+%d", now-then)
	case now < then:
		return fmt.Sprintf("-%d", then-now)
	}
	return "±0"
}

// RenderWeekly builds the weekly digest's one message: informational,
// page=false, so that a pager's filter policy leaves it out. Account
// names and details come from the history and are kept to one line each.
func RenderWeekly(wk Weekly, lang Lang) Alert {
	var body, desc []string
	for i, w := range weeklyCatalogs(lang) {
		cat := en
		if w.org == weeklyJA.org {
			cat = ja
		}
		if i > 0 {
			body = append(body, separator)
			desc = append(desc, "")
		}
		text, md := weeklyLines(cat, w, wk)
		body = append(body, text...)
		desc = append(desc, md...)
	}
	first := weeklyCatalogs(lang)[0]
	org := CleanLine(wk.Organization)
	subj := fmt.Sprintf(first.emptySubjectFmt, org)
	if wk.Now != nil {
		trend := ""
		if wk.Then != nil {
			trend = " (" + delta(wk.Now.WithRoot, wk.Then.WithRoot, true) + ")"
		}
		subj = fmt.Sprintf(first.subjectFmt, org, wk.Now.WithRoot, wk.Now.Accounts, trend)
	}
	subj = truncate(CleanLine(subj), MaxSubject)
	stamp := "empty"
	if wk.Now != nil {
		stamp = wk.Now.At.UTC().Format("20060102T150405Z")
	}
	ctx := map[string]string{"organization": wk.Organization, "history": wk.History}
	if wk.Now != nil {
		ctx["accounts"] = fmt.Sprint(wk.Now.Accounts)
		ctx["withRootCredentials"] = fmt.Sprint(wk.Now.WithRoot)
		ctx["needingAction"] = fmt.Sprint(wk.Now.NeedingAction)
	}
	return Alert{
		Subject: subj,
		Body:    strings.Join(body, "\n") + "\n",
		Attributes: map[string]string{"severity": "info", "category": "weekly-digest",
			"account": cmp.Or(wk.Organization, "organization"), "approval": "none", "page": "false"},
		Chatbot: chatbot(chatbotInput{
			id: safeID("weekly-" + wk.Organization + "-" + stamp), title: subj, description: strings.Join(desc, "\n"),
			keywords: []string{"weekly-digest", wk.Organization}, threadID: safeID("weekly-" + wk.Organization),
			summary: subj, eventType: "weekly-digest", context: ctx,
		}),
	}
}

// weeklyLines writes one language's digest as text lines and as chat
// markdown lines.
func weeklyLines(c *catalog, w weeklyWords, wk Weekly) (text, md []string) {
	title := fmt.Sprintf(w.titleFmt, CleanLine(wk.Organization))
	text = append(text, title, "")
	md = append(md, "*"+title+"*")
	if wk.Now == nil {
		line := fmt.Sprintf(w.emptyFmt, CleanLine(wk.History))
		return append(text, line), append(md, line)
	}
	now, then := wk.Now, wk.Then
	has := then != nil
	var th OrgState
	if has {
		th = *then
	}
	head := []field{{w.newest, value{w.s(c.clock(now.At))}}}
	if has {
		head = append(head, field{w.compared, value{w.s(fmt.Sprintf(w.runsFmt, c.clock(then.At), wk.Runs))}})
	} else {
		head = append(head, field{w.compared, value{w.s(w.noEarlier)}})
	}
	text = append(text, weeklyText(c, head)...)
	md = append(md, renderMarkdown(head)...)
	if d := wk.staleDays(); d > 0 {
		s := fmt.Sprintf(w.staleFmt, d)
		text, md = append(text, "  ! "+s), append(md, "*"+s+"*")
	}

	num := func(label string, n, was int) field {
		s := fmt.Sprint(n)
		if dl := delta(n, was, has); dl != "" {
			s += " (" + dl + ")"
		}
		return field{label, value{w.s(s)}}
	}
	state := []field{
		num(w.accounts, now.Accounts, th.Accounts),
		num(w.audited, now.Audited, th.Audited),
		num(w.withRoot, now.WithRoot, th.WithRoot),
		num(w.mfa, now.WithRootMFA, th.WithRootMFA),
		num(w.noMFA, now.WithRootNoMFA, th.WithRootNoMFA),
		num(w.withoutRoot, now.WithoutRoot, th.WithoutRoot),
		num(w.accessKeys, now.WithAccessKeys, th.WithAccessKeys),
		num(w.inactive, now.Inactive, th.Inactive),
		num(w.unreadable, now.Unreadable, th.Unreadable),
		num(w.needing, now.NeedingAction, th.NeedingAction),
	}
	if p := now.Posture; p != nil {
		var tp Posture
		if has && then.Posture != nil {
			tp = *then.Posture
		}
		s := fmt.Sprintf(w.strictFmt, p.StrictOUs, p.StrictAccounts, p.StrictWithRoot)
		if dl := delta(p.StrictWithRoot, tp.StrictWithRoot, has && then.Posture != nil); dl != "" {
			s += " (" + dl + ")"
		}
		state = append(state, field{w.ous, value{w.s(s)}},
			field{"", value{w.s(fmt.Sprintf(w.flexibleFmt, p.FlexibleOUs, p.FlexibleAccounts))}})
	}
	if len(now.OrgControlsFailing) > 0 {
		state = append(state, field{w.orgFailing, value{d(strings.Join(now.OrgControlsFailing, ", "))}})
	}
	if now.OrganizationProblem != "" {
		state = append(state, field{w.orgProblem, value{d(now.OrganizationProblem)}})
	}
	text = append(text, "", w.state)
	text = append(text, indent(weeklyText(c, state))...)
	md = append(md, "", "*"+w.state+"*")
	md = append(md, renderMarkdown(trimLabels(state))...)

	var ctl []field
	for _, t := range now.Controls {
		s := fmt.Sprintf("%d / %d", t.Pass, t.Fail)
		if has {
			was := 0
			for _, o := range then.Controls {
				if o.ID == t.ID {
					was = o.Fail
				}
			}
			s += " (" + delta(t.Fail, was, true) + ")"
		}
		ctl = append(ctl, field{t.ID, value{w.s(s + "  "), d(t.Title)}})
	}
	text = append(text, "", w.controls)
	text = append(text, indent(weeklyText(c, ctl))...)
	md = append(md, "", "*"+w.controls+"*")
	md = append(md, renderMarkdown(ctl)...)

	events := func(format string, evs []WeeklyEvent) {
		head := fmt.Sprintf(format, len(evs))
		text, md = append(text, "", head), append(md, "", "*"+head+"*")
		if len(evs) == 0 {
			text, md = append(text, w.none), append(md, strings.TrimSpace(w.none))
		}
		for i, e := range evs {
			if i == MaxWeeklyLines {
				more := fmt.Sprintf(c.andMoreFmt, len(evs)-i)
				text, md = append(text, "  "+more), append(md, more)
				break
			}
			v := value{w.s(e.At.UTC().Format("2006-01-02") + " "), d(who(e.Account, e.Name, w.org)), w.s(": " + cmp.Or(w.kinds[e.Kind], e.Kind) + ": "), d(e.Detail)}
			text, md = append(text, "  - "+v.text()), append(md, "• "+v.markdown())
		}
	}
	events(w.regressionsFmt, wk.Regressions)
	events(w.fixesFmt, wk.Fixes)

	needs := fmt.Sprintf(w.needsFmt, now.NeedingAction)
	text, md = append(text, "", needs), append(md, "", "*"+needs+"*")
	if now.NeedingAction == 0 && len(wk.NeedsAction) == 0 {
		text, md = append(text, w.none), append(md, strings.TrimSpace(w.none))
	}
	shown := wk.NeedsAction[:min(len(wk.NeedsAction), MaxWeeklyLines)]
	for _, a := range shown {
		v := value{d(who(a.Account, a.Name, w.org)), w.s(" "), d(a.OUPath), w.s(": " + strings.Join(a.Failing, ", "))}
		text, md = append(text, "  - "+v.text()), append(md, "• "+v.markdown())
	}
	if rest := max(now.NeedingAction, len(wk.NeedsAction)) - len(shown); rest > 0 {
		more := fmt.Sprintf(c.andMoreFmt, rest)
		text, md = append(text, "  "+more), append(md, more)
	}
	if len(wk.Unreadable) > 0 {
		v := value{w.s(fmt.Sprintf(w.unreadableFmt, "")), d(strings.Join(wk.Unreadable, ", "))}
		text, md = append(text, "", v.text()), append(md, "", v.markdown())
	}
	flag := "--from "
	if !strings.HasPrefix(wk.History, "s3://") {
		flag = "--db " // the CLI's history database
	}
	details := value{w.s(strings.TrimSuffix(w.details, "%s") + flag), d(wk.History)}
	text, md = append(text, "", details.text()), append(md, "", details.markdown())
	return text, md
}

// s is one of our own segments.
func (weeklyWords) s(s string) seg { return w(s) }

// who names an account as "id (name)", or the organization.
func who(account, name, org string) string {
	switch {
	case account == "":
		return org
	case name == "":
		return account
	}
	return account + " (" + name + ")"
}

// weeklyText writes labelled lines, the English ones aligned.
func weeklyText(c *catalog, fs []field) []string {
	width := 0
	for _, f := range fs {
		width = max(width, runes(f.label)+1)
	}
	var out []string
	for _, f := range fs {
		switch {
		case c.pad && f.label == "":
			out = append(out, strings.Repeat(" ", width+1)+f.v.text())
		case c.pad:
			out = append(out, fmt.Sprintf("%-*s %s", width, f.label+":", f.v.text()))
		case f.label == "":
			out = append(out, "  "+f.v.text())
		default:
			out = append(out, f.label+": "+f.v.text())
		}
	}
	return out
}

// trimLabels drops the indent of sub-labels, which chat markdown would
// put inside the bold marks.
func trimLabels(fs []field) []field {
	out := slices.Clone(fs)
	for i := range out {
		out[i].label = strings.TrimSpace(out[i].label)
	}
	return out
}

func indent(lines []string) []string {
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return lines
}

// staleDays is how many days the newest run is older than the digest,
// when that is more than a week (0 otherwise).
func (wk Weekly) staleDays() int {
	if wk.Now == nil || wk.Generated.IsZero() {
		return 0
	}
	age := wk.Generated.Sub(wk.Now.At)
	if age <= 7*24*time.Hour {
		return 0
	}
	return int(age.Hours() / 24)
}
