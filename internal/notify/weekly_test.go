package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func weeklyState(at time.Time, accounts, withRoot, noMFA, keys, needing int, fails ...int) *OrgState {
	s := &OrgState{At: at, Accounts: accounts, Audited: accounts - 2, Unreadable: 1, Inactive: 1,
		WithRoot: withRoot, WithoutRoot: accounts - 2 - withRoot, WithRootMFA: withRoot - noMFA, WithRootNoMFA: noMFA,
		WithAccessKeys: keys, NeedingAction: needing}
	ids := []string{"IAM.4", "IAM.9", "IAM.6", "RG.ROOT.1", "RG.ROOT.2", "RG.SCP.1"}
	titles := []string{"Root user has no access keys", "Root user has MFA", "Hardware MFA is enabled for the root user",
		"Root credentials absent (strict mode target)", "Root user not used in the last 90 days", "SCPs leave centralized root sessions working"}
	for i, id := range ids {
		s.Controls = append(s.Controls, Tally{ID: id, Title: titles[i], Pass: accounts - 2 - fails[i], Fail: fails[i]})
	}
	return s
}

func weeklyCases() []struct {
	name string
	wk   Weekly
} {
	now := time.Date(2026, 12, 7, 0, 0, 5, 0, time.UTC)
	then := now.Add(-7 * 24 * time.Hour)
	full := Weekly{
		Organization: "o-exampleorg1", History: "s3://rootguard-history/o-exampleorg1", Generated: now.Add(time.Hour),
		Now:  weeklyState(now, 502, 12, 2, 1, 14, 1, 2, 5, 3, 0, 1),
		Then: weeklyState(then, 500, 15, 2, 2, 16, 2, 2, 6, 5, 1, 0),
		Runs: 7,
		Regressions: []WeeklyEvent{
			{At: now.Add(-3 * 24 * time.Hour), Account: "111111111111", Name: "dev\nFAKE: all clear `<@here>`", Kind: "credential-appeared", Detail: "AKIAEXAMPLE1 (Active)"},
			{At: now.Add(-2 * 24 * time.Hour), Account: "333333333333", Name: "payments", Kind: "scp-blocks-sessions", Detail: "RG.SCP.1 pass -> fail: p-deny blocks iam:GetLoginProfile"},
		},
		Fixes: []WeeklyEvent{
			{At: now.Add(-24 * time.Hour), Account: "222222222222", Name: "prod", Kind: "fixed", Detail: "IAM.4, IAM.6, IAM.9, RG.ROOT.1"},
			{At: now.Add(-24 * time.Hour), Kind: "feature-enabled", Detail: "RootSessions"},
		},
		NeedsAction: []NeedsAction{
			{Account: "111111111111", Name: "dev\nFAKE: all clear `<@here>`", OUPath: "/Sandbox", Failing: []string{"IAM.4", "IAM.6", "IAM.9"}},
			{Account: "444444444444", Name: "shared", OUPath: "/Workloads/Prod", Failing: []string{"RG.ROOT.1"}},
		},
	}
	full.Now.Posture = &Posture{StrictOUs: 2, StrictAccounts: 120, StrictWithRoot: 1, FlexibleOUs: 9, FlexibleAccounts: 382}
	full.Then.Posture = &Posture{StrictOUs: 2, StrictAccounts: 118, StrictWithRoot: 3, FlexibleOUs: 9, FlexibleAccounts: 382}

	first := Weekly{Organization: "o-exampleorg1", History: "s3://rootguard-history/o-exampleorg1", Generated: now,
		Now: weeklyState(now, 8, 3, 1, 1, 3, 1, 1, 2, 3, 0, 0)}
	for i := range 25 {
		first.NeedsAction = append(first.NeedsAction, NeedsAction{Account: fmt.Sprintf("5000000000%02d", i), OUPath: "/Sandbox", Failing: []string{"IAM.6"}})
	}
	first.Now.NeedingAction = 25
	first.Now.OrgControlsFailing = []string{"RG.ORG.1"}

	stale := Weekly{Organization: "o-exampleorg1", History: "s3://rootguard-history/o-exampleorg1", Generated: now.Add(20 * 24 * time.Hour),
		Now: weeklyState(now, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), Then: weeklyState(then, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), Runs: 1}

	empty := Weekly{Organization: "o-exampleorg1", History: "s3://rootguard-history/o-exampleorg1", Generated: now}
	return []struct {
		name string
		wk   Weekly
	}{{"weekly-trend", full}, {"weekly-first-run", first}, {"weekly-stale", stale}, {"weekly-empty", empty}}
}

// TestWeeklyGolden keeps the weekly digest's renderings in testdata/,
// as TestGolden does the alerts'.
func TestWeeklyGolden(t *testing.T) {
	for _, rc := range weeklyCases() {
		for _, lang := range []Lang{English, Japanese, Both} {
			t.Run(rc.name+"."+string(lang), func(t *testing.T) {
				al := RenderWeekly(rc.wk, lang)
				var b strings.Builder
				fmt.Fprintf(&b, "Subject: %s\n", al.Subject)
				var attrs []string
				for k, v := range al.Attributes {
					attrs = append(attrs, k+"="+v)
				}
				slices.Sort(attrs)
				fmt.Fprintf(&b, "Attributes: %s\n\n%s", strings.Join(attrs, ", "), al.Body)
				golden(t, rc.name+"."+string(lang)+".txt", []byte(b.String()))
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, al.Chatbot, "", "  "); err != nil {
					t.Fatalf("Chatbot is not JSON: %v\n%s", err, al.Chatbot)
				}
				pretty.WriteByte('\n')
				golden(t, rc.name+"."+string(lang)+".chatbot.json", pretty.Bytes())
			})
		}
	}
}

// TestWeeklyHostileName: an account name with a line break and chat
// markup stays on its line in the text and inside a code span in chat.
func TestWeeklyHostileName(t *testing.T) {
	al := RenderWeekly(weeklyCases()[0].wk, Both)
	for _, line := range strings.Split(al.Body, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "FAKE") {
			t.Errorf("an account name broke a line: %q", line)
		}
	}
	if !strings.Contains(al.Body, "111111111111 (dev FAKE: all clear `<@here>`)") {
		t.Errorf("account name not kept on one line:\n%s", al.Body)
	}
	var n struct{ Content struct{ Description string } }
	if err := json.Unmarshal(al.Chatbot, &n); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(n.Content.Description, "<@here>") || !strings.Contains(n.Content.Description, "‹@here›") {
		t.Errorf("chat markup not neutralised:\n%s", n.Content.Description)
	}
	if len([]rune(al.Subject)) > MaxSubject || al.Attributes["page"] != "false" {
		t.Errorf("subject %q attributes %v", al.Subject, al.Attributes)
	}
}

func TestDelta(t *testing.T) {
	tests := []struct {
		now, then int
		ok        bool
		want      string
	}{
		{12, 15, true, "-3"},
		{15, 12, true, "+3"},
		{7, 7, true, "±0"},
		{0, 0, true, "±0"},
		{0, 5, true, "-5"},
		{3, 0, false, ""},
	}
	for _, tt := range tests {
		if got := delta(tt.now, tt.then, tt.ok); got != tt.want {
			t.Errorf("delta(%d, %d, %v) = %q, want %q", tt.now, tt.then, tt.ok, got, tt.want)
		}
	}
}
