package trail

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzSkipValue checks the structural scanner against encoding/json: it
// never panics, never rejects valid JSON, and agrees on where a valid
// value ends.
func FuzzSkipValue(f *testing.F) {
	for _, s := range []string{rec1, `{"Records":[` + rec1 + `]}`, `[1,-2.5e+3,"a\"b\\",true,false,null,{}]`, `"\\\\"`, `{"a":`, `01`, `1.`, `-`, `[1,]`, `{"a" 1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		end, err := skipValue(b, 0)
		if err == nil && (end < 0 || end > len(b)) {
			t.Fatalf("end %d outside input of %d bytes", end, len(b))
		}
		if json.Valid(b) {
			if err != nil {
				t.Fatalf("valid JSON %q rejected: %v", b, err)
			}
			if len(bytes.TrimSpace(b[end:])) != 0 {
				t.Fatalf("valid JSON %q: value ends at %d", b, end)
			}
		}
	})
}

// FuzzDecode feeds arbitrary bytes to the decoder: it must not panic, must
// only hand on records that are valid JSON objects, and must account for
// every record it saw.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"Records":[` + rec1 + `,` + rec2 + `]}`,
		rec1 + "\n" + rec2,
		`{"Events":[{"CloudTrailEvent":"{\"eventID\":\"a\",\"userIdentity\":{\"type\":\"Root\"}}"}]}`,
		`{"detail-type":"GuardDuty Finding","detail":{"schemaVersion":"2.0","id":"g"}}`,
		`{"Findings":[{"SchemaVersion":"2.0"}]}`,
		`{"Records":"x"}`, `{"Records":[1,2`, `[[[[`, "",
		// Damage the decoder resynchronises after (issue 11).
		"{\"eventVersion\": oops}\n" + rec1 + "\n" + rec2,
		"{\"eventID\":\"x\n" + rec1 + "\n",
		"{\"a\":\n" + rec1 + "\n",
		rec1 + "\n#garbage\n" + rec2,
		`{"Records":[` + rec1 + `,{"x":[1,2},` + rec2 + "]}\n" + rec1,
		`{"Records":[` + rec1 + ` ` + rec2 + `]}`,
		`{"Records":[` + rec1 + ` junk, ` + rec2 + `,]}`,
		`{"Records":[` + rec1 + `],"Records":[` + rec2 + `]} x` + "\n" + rec1,
		`{"Records":[` + strings.Repeat(`{"a":`, 300) + `1` + strings.Repeat(`}`, 300) + `,` + rec1 + `]}`,
		`[` + rec1 + `,{"x":}, ` + rec2 + `]`,
		"2026-10-08T01:00:00.000Z " + rec1 + "\n2026-10-08T01:00:01.000Z {oops\n" + rec2,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(Options{MaxValue: 1 << 20})
		seen := 0
		_ = d.Decode(t.Context(), bytes.NewReader(b), func(r Record) error {
			seen++
			if !json.Valid(r.Raw) && !validStructure(r.Raw) {
				t.Fatalf("record %d is not JSON: %q", r.Index, r.Raw)
			}
			if len(r.Raw) == 0 || r.Raw[0] != '{' {
				t.Fatalf("record %d is not an object: %q", r.Index, r.Raw)
			}
			return nil
		}, func(err error) {
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("soft error of unexpected type %T: %v", err, err)
			}
		})
		if seen > d.Stats().Records {
			t.Fatalf("handed on %d records, counted %d", seen, d.Stats().Records)
		}
	})
}

// validStructure accepts what the scanner accepts but encoding/json does
// not (bad escapes, control characters in strings).
func validStructure(b []byte) bool {
	end, err := skipValue(b, 0)
	return err == nil && end == len(b)
}
