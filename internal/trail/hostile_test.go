package trail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// damage is one span the decoder reported as not read.
type damage struct {
	index       int
	off, length int64
	msg         string
}

// decodeHostile decodes r and returns the eventIDs handed on, the damage
// reported and the error.
func decodeHostile(t *testing.T, r io.Reader, opts Options) (ids []string, dmg []damage, err error) {
	t.Helper()
	d := NewDecoder(opts)
	err = d.Decode(t.Context(), r, func(rec Record) error {
		var v struct {
			EventID string `json:"eventID"`
		}
		if jerr := json.Unmarshal(rec.Raw, &v); jerr != nil {
			t.Errorf("record %d is not JSON: %v", rec.Index, jerr)
		}
		ids = append(ids, v.EventID)
		return nil
	}, func(e error) {
		var re *RecordError
		if !errors.As(e, &re) {
			t.Fatalf("soft error %T: %v", e, e)
		}
		dmg = append(dmg, damage{re.Index, re.Offset, re.Length, re.Err.Error()})
	})
	return ids, dmg, err
}

func recID(id string) string {
	return `{"eventVersion":"1.10","eventID":"` + id + `","userIdentity":{"type":"Root"}}`
}

// TestDecodeHostile holds the damage an attacker or a broken pipeline can
// put in an input: each case names the records that must still be read,
// and the spans reported as not read (offset and length in the
// decompressed input).
func TestDecodeHostile(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 2000) + `1` + strings.Repeat(`}`, 2000)
	long := `{"eventID":"` + strings.Repeat("x", 3<<20) + `"` // a 3 MiB line, cut short
	tests := []struct {
		name    string
		input   string
		ids     []string
		damage  []damage // msg is a substring
		wantErr string
	}{
		{name: "bad first line", input: "{\"eventVersion\": oops}\n" + recID("a") + "\n" + recID("b") + "\n",
			ids: []string{"a", "b"}, damage: []damage{{0, 0, 23, "invalid JSON at byte 17"}}},
		{name: "first line cut short", input: "{\"eventVersion\":\"1.10\",\n" + recID("a") + "\n",
			ids: []string{"a"}, damage: []damage{{0, 0, 24, "invalid JSON at byte 24"}}},
		{name: "first line with an open string", input: "{\"eventID\":\"x\n" + recID("a") + "\n" + recID("b") + "\n",
			ids: []string{"a", "b"}, damage: []damage{{0, 0, 14, "invalid JSON"}}},
		{name: "object left open swallows no line", input: "{\"a\":\n" + recID("a") + "\n",
			ids: []string{"a"}, damage: []damage{{0, 0, 6, "cut short by the next line"}}},
		{name: "bad line longer than the window", input: recID("a") + "\n" + long + "\n" + recID("b") + "\n",
			ids: []string{"a", "b"}, damage: []damage{{1, int64(len(recID("a")) + 1), int64(len(long) + 1), "invalid JSON"}}},
		{name: "line of garbage between lines", input: recID("a") + "\n#garbage\n" + recID("b"),
			ids: []string{"a", "b"}, damage: []damage{{1, int64(len(recID("a")) + 1), 9, "invalid JSON"}}},
		{name: "over-deep record in Records", input: `{"Records":[` + recID("a") + `,` + deep + `,` + recID("b") + `]}`,
			ids: []string{"a", "b"}, damage: []damage{{1, int64(12 + len(recID("a")) + 1), int64(len(deep)), "nesting too deep"}}},
		{name: "bad record in Records", input: `{"Records":[` + recID("a") + `,{"eventID": oops},` + recID("b") + `]}`,
			ids: []string{"a", "b"}, damage: []damage{{1, int64(12 + len(recID("a")) + 1), 17, "invalid JSON"}}},
		{name: "bracket left open in Records", input: `{"Records":[` + recID("a") + `,{"x":[1,2},` + recID("b") + "]}\n" + recID("c"),
			ids: []string{"a", "b", "c"}, damage: []damage{{1, int64(12 + len(recID("a")) + 1), 10, "invalid JSON"}}},
		// A damaged record whose '[' is closed by its '}' leaves a ']'
		// that must not end Records: the records after it are read.
		{name: "stray ']' after a bad record in Records", input: `{"Records":[` + recID("a") + `,{"eventID":[}],` + recID("b") + `]}`,
			ids: []string{"a", "b"}, damage: []damage{{1, int64(12 + len(recID("a")) + 1), 13, "invalid JSON"}, {2, int64(12 + len(recID("a")) + 14), 1, "unexpected ']'"}}},
		{name: "stray ']]' after a bad record in Findings", input: `{"Findings":[` + recID("a") + `,{"x":[[} ] ] ,` + "\n" + recID("b") + `]}`,
			ids: []string{"a", "b"}, damage: []damage{{1, -1, -1, "invalid JSON"}, {2, -1, 4, "unexpected ']'"}}},
		{name: "missing comma in Records", input: `{"Records":[` + recID("a") + ` ` + recID("b") + `]}`,
			ids: []string{"a", "b"}, damage: []damage{{1, int64(12 + len(recID("a")) + 1), 0, "missing ','"}}},
		{name: "junk between records", input: `{"Records":[` + recID("a") + ` junk, ` + recID("b") + `]}`,
			ids: []string{"a", "b"}, damage: []damage{{1, int64(12 + len(recID("a")) + 1), 4, "between array elements"}}},
		{name: "second Records member", input: `{"Records":[` + recID("a") + `],"Records":[` + recID("b") + `]}`,
			ids: []string{"a", "b"}},
		{name: "Records pretty-printed with a bad record", input: "{\n  \"Records\": [\n    " + recID("a") + ",\n    {\"eventID\": [}\n,\n    " + recID("b") + "\n  ]\n}\n",
			ids: []string{"a", "b"}, damage: []damage{{1, -1, -1, "invalid JSON"}}},
		{name: "second container after damage in a line", input: `{"Records":[` + recID("a") + `]} x` + "\n" + `{"Records":[` + recID("b") + `]}`,
			ids: []string{"a", "b"}, damage: []damage{{1, int64(14 + len(recID("a")) + 1), 2, "invalid JSON"}}},
		{name: "top-level array with damage", input: `[` + recID("a") + `,{"x":}, ` + recID("b") + `]`,
			ids: []string{"a", "b"}, damage: []damage{{1, int64(1 + len(recID("a")) + 1), 6, "invalid JSON"}}},
		{name: "lookup-events entry bad", input: `{"Events":[{"CloudTrailEvent":3},{"CloudTrailEvent":` + strings.ReplaceAll(fmt.Sprintf("%q", recID("a")), `\\`, `\`) + `}]}`,
			ids: []string{"a"}, damage: []damage{{0, 11, 21, "not a JSON string"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, dmg, err := decodeHostile(t, strings.NewReader(tt.input), Options{})
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
			if strings.Join(ids, ",") != strings.Join(tt.ids, ",") {
				t.Errorf("records = %v, want %v", ids, tt.ids)
			}
			if len(dmg) != len(tt.damage) {
				t.Fatalf("damage = %+v, want %d spans", dmg, len(tt.damage))
			}
			for i, w := range tt.damage {
				g := dmg[i]
				if g.index != w.index || (w.off >= 0 && g.off != w.off) || (w.length >= 0 && g.length != w.length) || !strings.Contains(g.msg, w.msg) {
					t.Errorf("damage %d = %+v, want %+v", i, g, w)
				}
				if g.off < 0 || g.off+g.length > int64(len(tt.input)) {
					t.Errorf("damage %d = %+v lies outside the input", i, g)
				}
			}
		})
	}
}

// endless streams a JSON Lines input with one huge line, without holding
// it: prefix, n filler bytes, suffix.
type endless struct {
	prefix, suffix string
	fill           byte
	n              int64
	at             int64
}

func (e *endless) Read(p []byte) (int, error) {
	total := int64(len(e.prefix)) + e.n + int64(len(e.suffix))
	if e.at >= total {
		return 0, io.EOF
	}
	w := 0
	for w < len(p) && e.at < total {
		switch {
		case e.at < int64(len(e.prefix)):
			k := copy(p[w:], e.prefix[e.at:])
			w += k
			e.at += int64(k)
		case e.at < int64(len(e.prefix))+e.n:
			k := int(min(int64(len(p)-w), int64(len(e.prefix))+e.n-e.at))
			b := p[w : w+k]
			for i := range b {
				b[i] = e.fill
			}
			w += k
			e.at += int64(k)
		default:
			k := copy(p[w:], e.suffix[e.at-int64(len(e.prefix))-e.n:])
			w += k
			e.at += int64(k)
		}
	}
	return w, nil
}

// TestDecodeHugeLineBoundedMemory reads a 256 MiB line (a valid string
// value, then an unterminated one) and checks that the records around it
// are read while the decoder allocates a small, fixed amount: the line is
// skipped, never held.
func TestDecodeHugeLineBoundedMemory(t *testing.T) {
	const huge = 256 << 20
	for _, tt := range []struct{ name, prefix, suffix string }{
		{"long string", recID("a") + "\n" + `{"eventID":"`, `"}` + "\n" + recID("b") + "\n"},
		{"open string", recID("a") + "\n" + `{"eventID":"`, "\n" + recID("b") + "\n"},
		{"long Records element", `{"Records":[` + recID("a") + `,"`, `",` + recID("b") + "]}\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			ids, dmg, err := decodeHostile(t, &endless{prefix: tt.prefix, suffix: tt.suffix, fill: 'x', n: huge}, Options{MaxValue: 4 << 20})
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(ids, ",") != "a,b" || len(dmg) != 1 || dmg[0].length < huge {
				t.Errorf("records %v, damage %+v", ids, dmg)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 24<<20 {
				t.Errorf("allocated %d MiB to skip a %d MiB line; want at most 24 MiB", alloc>>20, huge>>20)
			}
		})
	}
}

// TestDecodeBudget checks that a window grown for a large value borrows
// from the shared budget and gives it back.
func TestDecodeBudget(t *testing.T) {
	b := NewBudget(8 << 20)
	big := `{"eventID":"big","pad":"` + strings.Repeat("y", 3<<20) + `"}`
	ids, dmg, err := decodeHostile(t, strings.NewReader(recID("a")+"\n"+big+"\n"+recID("b")), Options{Budget: b})
	if err != nil || strings.Join(ids, ",") != "a,big,b" || len(dmg) != 0 {
		t.Fatalf("ids %v damage %v err %v", ids, dmg, err)
	}
	if !b.sem.TryAcquire(8 << 20) {
		t.Fatal("the budget was not given back")
	}
	// With the budget taken, a large value waits until the context ends.
	d := NewDecoder(Options{Budget: b})
	ctx, cancel := contextWithCancel(t)
	cancel()
	err = d.Decode(ctx, strings.NewReader(big), func(Record) error { return nil }, nil)
	if err == nil || !strings.Contains(err.Error(), "wait for memory") {
		t.Fatalf("err = %v", err)
	}
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}
