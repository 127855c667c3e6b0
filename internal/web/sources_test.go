package web

import (
	"strings"
	"testing"
)

func TestReadFindings(t *testing.T) {
	in := `{"eventId":"a","eventTime":"2026-11-01T00:00:00Z","account":"111111111111","eventName":"ConsoleLogin","category":"console-login","approval":{"status":"unapproved"}}

not json
{"eventId":"b"}
{"eventId":"c","eventTime":"2026-11-02T00:00:00Z","account":"222222222222","eventName":"GetCallerIdentity"}
` + `{"eventId":"d","eventTime":"2026-11-03T00:00:00Z","account":"333333333333","eventName":"` + strings.Repeat("x", 100<<10) + `"}`
	fs, problems, err := ReadFindings(strings.NewReader(in), "f.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 3 || fs[0].EventID != "a" || fs[1].EventID != "c" || fs[2].EventID != "d" {
		t.Errorf("findings %+v", fs)
	}
	if len(problems) != 2 || !strings.HasPrefix(problems[0], "f.jsonl:3: ") || !strings.HasPrefix(problems[1], "f.jsonl:4: not a finding") {
		t.Errorf("problems %q", problems)
	}
}

func FuzzReadFindings(f *testing.F) {
	f.Add([]byte(`{"eventId":"a","eventTime":"2026-11-01T00:00:00Z","account":"111111111111"}` + "\n"))
	f.Add([]byte("\n\n{\"eventTime\":1}\n"))
	f.Add([]byte(`{"session":{"outsideTaskPolicy":true},"eventTime":"2026-11-01T00:00:00Z","account":"1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, problems, err := ReadFindings(strings.NewReader(string(b)), "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Count(string(b), "\n") + 1
		if len(fs)+len(problems) > lines {
			t.Errorf("%d findings and %d problems from %d lines", len(fs), len(problems), lines)
		}
		for _, f := range fs {
			if f.Account == "" || f.EventTime.IsZero() {
				t.Errorf("finding without account or time: %+v", f)
			}
		}
	})
}
