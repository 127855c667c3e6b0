package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// FuzzDecodeReport: a stored audit (the history database can be edited or
// damaged on disk) either decodes into a report that stores and decodes
// back to itself, or is an error that says what failed.
func FuzzDecodeReport(f *testing.F) {
	doc, err := json.Marshal(fullReport())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(doc))
	f.Add(`{}`)
	f.Add(`{"accounts":[null,{"root":null}]}`)
	f.Add(`{"startedAt":"not a time"}`)
	f.Add(`{"summary":{"byControl":{"IAM.4":{"fail":-1}}}}`)
	f.Add(string(doc[:len(doc)/2]))
	f.Fuzz(func(t *testing.T, doc string) {
		rep, err := decodeReport(doc)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "decode report: ") {
				t.Fatalf("decodeReport: error %q does not say what failed", err)
			}
			return
		}
		again, err := json.Marshal(rep)
		if err != nil {
			t.Fatalf("a decoded report does not encode: %v", err)
		}
		back, err := decodeReport(string(again))
		if err != nil {
			t.Fatalf("a re-encoded report does not decode: %v\n%s", err, again)
		}
		// Compared as JSON: times decoded twice carry equal but distinct
		// *time.Location values.
		if third, _ := json.Marshal(back); string(third) != string(again) {
			t.Fatalf("round trip changed the report:\n%s\n%s", again, third)
		}
	})
}

// FuzzParseTime: a stored time either reads back as exactly the text it
// was stored as, or is an error that quotes it.
func FuzzParseTime(f *testing.F) {
	f.Add(formatTime(t0))
	f.Add("2026-11-29T10:00:00.000000000Z")
	f.Add("2026-11-29T10:00:00Z")
	f.Add("2026-02-30T10:00:00.000000000Z")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseTime(s)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", s)) {
				t.Fatalf("parseTime(%q): error %q does not name it", s, err)
			}
			return
		}
		if got := formatTime(tm); got != s {
			t.Fatalf("parseTime(%q) formats back as %q", s, got)
		}
	})
}
