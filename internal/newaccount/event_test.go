package newaccount

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/detect"
	"github.com/rootguard/rootguard/internal/mode"
	"github.com/rootguard/rootguard/internal/notify"
	"github.com/rootguard/rootguard/internal/remediate"
)

func readEvent(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParse reads every event of testdata/events (their sources are in
// SOURCES.md) and checks that exactly one of Patterns admits it.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		file    string
		name    string
		account string
		ou      string
		failed  bool
		member  bool
	}{
		{"createaccountresult-succeeded.json", CreateAccountResult, "444455556666", "", false, true},
		{"createaccountresult-failed.json", CreateAccountResult, "", "", true, false},
		{"createmanagedaccount.json", CreateManagedAccount, "444455556666", "ou-XXXX-l3zc8b3h", false, true},
		{"updatemanagedaccount.json", UpdateManagedAccount, "624281831893", "ou-XXXX-l3zc8b3h", false, true},
		{"moveaccount.json", MoveAccount, "333333333333", "ou-examplerootid111-exampleouid111", false, true},
		{"inviteaccounttoorganization.json", InviteAccountToOrganization, "111111111111", "", false, false},
		{"accepthandshake.json", AcceptHandshake, "222222222222", "", false, true},
		{"accountjoinedorganization.json", AccountJoinedOrganization, "222222222222", "", false, true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b := readEvent(t, tc.file)
			e, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if e.Name != tc.name || e.Account != tc.account || e.OU != tc.ou || (e.Failed != "") != tc.failed ||
				e.Member() != tc.member || e.ID == "" || e.Time.IsZero() || e.Recorder == "" {
				t.Errorf("%+v", e)
			}
			if !IsAccountEvent(b) {
				t.Error("IsAccountEvent: false")
			}
			n := 0
			for _, p := range Patterns() {
				ok, err := detect.MatchPattern(p, b)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d patterns admit it, want 1", n)
			}
		})
	}
}

// TestParseOthers: events of other kinds are not account events, and
// broken ones are errors naming the event.
func TestParseOthers(t *testing.T) {
	other := readEvent(t, filepath.Join("..", "..", "..", "alert", "testdata", "events", "root_listbuckets.json"))
	if IsAccountEvent(other) {
		t.Error("root activity taken for an account event")
	}
	for _, p := range Patterns() {
		if ok, _ := detect.MatchPattern(p, other); ok {
			t.Error("a pattern admits root activity")
		}
	}
	if _, err := Parse(other); !errors.Is(err, ErrNotAccountEvent) {
		t.Errorf("root activity: %v", err)
	}
	for _, tc := range []struct{ name, payload string }{
		{"not json", `{`},
		{"no detail", `{"id":"e1","source":"aws.organizations"}`},
		{"no status", `{"id":"e1","source":"aws.organizations","detail":{"eventID":"x","eventName":"CreateAccountResult","serviceEventDetails":{}}}`},
		{"bad account", `{"id":"e1","source":"aws.organizations","detail":{"eventID":"x","eventName":"MoveAccount","requestParameters":{"accountId":"12"}}}`},
		{"no id", `{"source":"aws.organizations","detail":{"eventName":"MoveAccount","requestParameters":{"accountId":"123456789012"}}}`},
		{"two joined", `{"id":"e1","account":"111111111111","source":"aws.organizations","detail":{"eventID":"x","eventName":"AccountJoinedOrganization","serviceEventDetails":{"a":{"accountId":"222222222222"},"b":{"accountId":"333333333333"}}}}`},
	} {
		var pe *ParseError
		if _, err := Parse([]byte(tc.payload)); !errors.As(err, &pe) {
			t.Errorf("%s: %v, want a *ParseError", tc.name, err)
		}
	}
	// A refused MoveAccount moved nothing.
	e, err := Parse([]byte(`{"id":"e1","source":"aws.organizations","detail":{"eventID":"x","eventName":"MoveAccount","errorCode":"AccessDenied","requestParameters":{"accountId":"123456789012"}}}`))
	if err != nil || e.Member() || e.Failed != "AccessDenied" {
		t.Errorf("refused move: %+v %v", e, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"createaccountresult-succeeded.json", "createmanagedaccount.json", "moveaccount.json",
		"accepthandshake.json", "accountjoinedorganization.json", "inviteaccounttoorganization.json"} {
		f.Add(readEvent(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Parse(b)
		if err != nil {
			return
		}
		if e.ID == "" || (e.Account != "" && !reAccount.MatchString(e.Account)) {
			t.Errorf("parsed %+v", e)
		}
		if !IsAccountEvent(b) {
			t.Error("parsed but IsAccountEvent says no")
		}
	})
}

// TestRender: one alert per outcome, its severity and paging as the
// package doc says, in each language.
func TestRender(t *testing.T) {
	ev := Event{ID: "e1", Name: CreateAccountResult, Account: "444455556666", Time: time.Date(2026, 12, 6, 1, 2, 3, 0, time.UTC)}
	strict := &mode.Decision{Mode: mode.Strict, Enforce: true, Source: "ous[0] Root/Prod"}
	flexible := &mode.Decision{Mode: mode.Flexible, Source: "default"}
	withPassword := &audit.Account{ID: ev.Account, OUPath: "Root/Prod", Root: &audit.Root{Password: true}}
	for _, tc := range []struct {
		name     string
		res      Result
		severity string
		page     string
		want     string
	}{
		{"enforced", Result{Event: ev, Outcome: OutcomeEnforced, Mode: strict, Account: &audit.Account{ID: ev.Account, Root: &audit.Root{}},
			Deletion: &remediate.Deletion{Before: &remediate.Credentials{Password: true}, Steps: []remediate.DeletedStep{{Step: "DeleteLoginProfile", Result: "ok"}}}},
			"MEDIUM", "false", "DeleteLoginProfile ok"},
		{"refused", Result{Event: ev, Outcome: OutcomeRefused, Mode: strict, Account: withPassword,
			Deletion: &remediate.Deletion{Before: &remediate.Credentials{Password: true}, Refused: "access-key-in-use: AKIA used"}},
			"HIGH", "true", "access-key-in-use"},
		{"strict, not enforced", Result{Event: ev, Outcome: OutcomeReported, Mode: &mode.Decision{Mode: mode.Strict}, Account: withPassword},
			"HIGH", "true", "enforce: true"},
		{"strict, not audited", Result{Event: ev, Outcome: OutcomeReported, Mode: strict, Account: &audit.Account{ID: ev.Account, Error: "AccessDenied"}},
			"HIGH", "true", "Not audited: AccessDenied"},
		{"flexible", Result{Event: ev, Outcome: OutcomeReported, Mode: flexible, Account: withPassword}, "INFO", "false", "reported only"},
		{"clean", Result{Event: ev, Outcome: OutcomeReported, Mode: strict, Account: &audit.Account{ID: ev.Account, Root: &audit.Root{}}},
			"INFO", "false", "Root credentials: none"},
	} {
		for _, lang := range []notify.Lang{notify.English, notify.Japanese, notify.Both} {
			a := Render(&tc.res, lang)
			if a.Attributes["severity"] != tc.severity || a.Attributes["page"] != tc.page || a.Attributes["category"] != "new-account" ||
				!strings.Contains(a.Subject, ev.Account) || len([]rune(a.Subject)) > notify.MaxSubject {
				t.Errorf("%s %s: %q %v", tc.name, lang, a.Subject, a.Attributes)
			}
			if lang != notify.Japanese && !strings.Contains(a.Body, tc.want) {
				t.Errorf("%s %s: body lacks %q:\n%s", tc.name, lang, tc.want, a.Body)
			}
			if lang != notify.English && !strings.Contains(a.Body, "アカウント") {
				t.Errorf("%s %s: no Japanese:\n%s", tc.name, lang, a.Body)
			}
		}
	}
}
