package newaccount

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rootguard/rootguard/internal/detect"
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
