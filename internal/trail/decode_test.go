package trail

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

type got struct {
	kinds   []Kind
	raws    []string
	indexes []int
	soft    []string
}

func decodeAll(t *testing.T, input string, opts Options) (got, error) {
	t.Helper()
	var g got
	d := NewDecoder(opts)
	err := d.Decode(t.Context(), strings.NewReader(input), func(r Record) error {
		g.kinds = append(g.kinds, r.Kind)
		var v any
		if json.Unmarshal(r.Raw, &v) != nil {
			t.Errorf("record %d handed on is not valid JSON: %s", r.Index, r.Raw)
		}
		compact, _ := json.Marshal(v)
		g.raws = append(g.raws, string(compact))
		g.indexes = append(g.indexes, r.Index)
		return nil
	}, func(err error) { g.soft = append(g.soft, err.Error()) })
	return g, err
}

const rec1 = `{"eventVersion":"1.10","eventID":"a","userIdentity":{"type":"Root"}}`
const rec2 = `{"eventVersion":"1.10","eventID":"b","userIdentity":{"type":"IAMUser"}}`

func TestDecodeShapes(t *testing.T) {
	lookup, _ := json.Marshal(map[string]any{"Events": []map[string]any{
		{"EventId": "a", "CloudTrailEvent": rec1}, {"EventId": "b", "CloudTrailEvent": rec2},
	}})
	tests := []struct {
		name    string
		input   string
		kinds   []Kind
		ids     []string // eventID or id of each record, in order
		indexes []int
		soft    int
		wantErr string
	}{
		{name: "log file", input: `{"Records":[` + rec1 + `,` + rec2 + `]}`,
			kinds: []Kind{KindCloudTrail, KindCloudTrail}, ids: []string{"a", "b"}, indexes: []int{0, 1}},
		{name: "log file, pretty, keys after Records", input: "{\n \"Records\" : [\n" + rec1 + " ],\n \"extra\": {\"x\": [1, 2.5e3, true, null]}\n}\n",
			kinds: []Kind{KindCloudTrail}, ids: []string{"a"}, indexes: []int{0}},
		{name: "single record", input: rec1, kinds: []Kind{KindCloudTrail}, ids: []string{"a"}, indexes: []int{0}},
		{name: "json lines", input: rec1 + "\n" + rec2 + "\n", kinds: []Kind{KindCloudTrail, KindCloudTrail}, ids: []string{"a", "b"}, indexes: []int{0, 1}},
		{name: "lookup-events", input: string(lookup), kinds: []Kind{KindCloudTrail, KindCloudTrail}, ids: []string{"a", "b"}, indexes: []int{0, 1}},
		{name: "eventbridge api call", input: `{"version":"0","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","detail":` + rec1 + `}`,
			kinds: []Kind{KindCloudTrail}, ids: []string{"a"}, indexes: []int{0}},
		{name: "eventbridge detail before detail-type", input: `{"detail":` + rec1 + `,"detail-type":"AWS Console Sign In via CloudTrail"}`,
			kinds: []Kind{KindCloudTrail}, ids: []string{"a"}, indexes: []int{0}},
		{name: "eventbridge guardduty", input: `{"detail-type":"GuardDuty Finding","detail":{"schemaVersion":"2.0","id":"g1","type":"Policy:IAMUser/RootCredentialUsage"}}`,
			kinds: []Kind{KindGuardDuty}, ids: []string{"g1"}, indexes: []int{0}},
		{name: "get-findings output", input: `{"Findings":[{"SchemaVersion":"2.0","Id":"g1"},{"SchemaVersion":"2.0","Id":"g2"}]}`,
			kinds: []Kind{KindGuardDuty, KindGuardDuty}, ids: []string{"g1", "g2"}, indexes: []int{0, 1}},
		{name: "array of findings", input: `[{"SchemaVersion":"2.0","Id":"g1"}]`, kinds: []Kind{KindGuardDuty}, ids: []string{"g1"}, indexes: []int{0}},
		{name: "array of records and events", input: `[` + rec1 + `,{"detail-type":"x","detail":` + rec2 + `}]`,
			kinds: []Kind{KindCloudTrail, KindCloudTrail}, ids: []string{"a", "b"}, indexes: []int{0, 1}},
		{name: "empty Records", input: `{"Records":[]}`},
		{name: "Records not an array", input: `{"Records":"not-an-array"}`, wantErr: "Records is not an array"},
		{name: "Records element not an object", input: `{"Records":[` + rec1 + `,42,` + rec2 + `]}`,
			kinds: []Kind{KindCloudTrail, KindCloudTrail}, ids: []string{"a", "b"}, indexes: []int{0, 2}, soft: 1},
		{name: "truncated log file keeps complete records", input: `{"Records":[` + rec1 + `,` + rec2[:20],
			kinds: []Kind{KindCloudTrail}, ids: []string{"a"}, indexes: []int{0}, wantErr: "truncated"},
		{name: "invalid json", input: `{"Records":[{"eventVersion":"1.10","userIdentity":{"type":"Root"`, wantErr: "truncated"},
		{name: "garbage", input: "this is not json\n", soft: 1},
		{name: "garbage then a record", input: "this is not json\n" + rec1, kinds: []Kind{KindCloudTrail}, ids: []string{"a"}, indexes: []int{1}, soft: 1},
		{name: "empty", input: "", wantErr: "empty input"},
		{name: "blank", input: " \n\t", wantErr: "empty input"},
		{name: "json lines with a bad line", input: rec1 + "\n{\"eventID\": oops}\n" + rec2 + "\n",
			kinds: []Kind{KindCloudTrail, KindCloudTrail}, ids: []string{"a", "b"}, indexes: []int{0, 2}, soft: 1},
		{name: "cloudwatch logs export", input: "2026-10-08T01:02:03.456Z " + rec1 + "\n2026-10-08T01:02:04Z\t" + rec2 + "\n",
			kinds: []Kind{KindCloudTrail, KindCloudTrail}, ids: []string{"a", "b"}, indexes: []int{0, 1}},
		{name: "a number that looks like no timestamp", input: `2026`, soft: 1},
		{name: "unrecognised object", input: `{"hello":"world"}`, soft: 1},
		{name: "top-level scalar", input: `42`, soft: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := decodeAll(t, tt.input, Options{})
			if tt.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if fmt.Sprint(g.kinds) != fmt.Sprint(tt.kinds) {
				t.Errorf("kinds = %v, want %v", g.kinds, tt.kinds)
			}
			var ids []string
			for _, r := range g.raws {
				var v map[string]any
				_ = json.Unmarshal([]byte(r), &v)
				id, _ := v["eventID"].(string)
				if id == "" {
					id, _ = v["id"].(string)
				}
				if id == "" {
					id, _ = v["Id"].(string)
				}
				ids = append(ids, id)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.ids) {
				t.Errorf("ids = %v, want %v", ids, tt.ids)
			}
			if fmt.Sprint(g.indexes) != fmt.Sprint(tt.indexes) {
				t.Errorf("indexes = %v, want %v", g.indexes, tt.indexes)
			}
			if len(g.soft) != tt.soft {
				t.Errorf("soft errors = %q, want %d", g.soft, tt.soft)
			}
		})
	}
}

func TestDecodeCandidateFilter(t *testing.T) {
	var rejected []string
	opts := Options{Candidate: func(h *Head) bool {
		ok := string(h.Type) == "Root"
		if !ok {
			rejected = append(rejected, string(h.Type))
		}
		return ok
	}}
	d := NewDecoder(opts)
	var n int
	err := d.Decode(t.Context(), strings.NewReader(`{"Records":[`+rec1+`,`+rec2+`]}`), func(Record) error { n++; return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(rejected) != 1 || d.Stats().Records != 2 || d.Stats().Rejected != 1 {
		t.Errorf("passed %d, rejected %d, stats %+v", n, len(rejected), d.Stats())
	}
}

// TestDecodeLargeStream makes values cross the decoder's read boundaries.
func TestDecodeLargeStream(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"Records":[`)
	const n = 5000
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"eventID":"e%d","userIdentity":{"type":"Root"},"pad":"%s"}`, i, strings.Repeat("x", i%700))
	}
	b.WriteString(`]}`)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(b.String()))
	zw.Close()
	var op Opener
	r, err := op.Reader("x.json.gz", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(Options{})
	var count int
	err = d.Decode(t.Context(), oneByteReader{r, 7000}, func(rec Record) error {
		want := fmt.Sprintf(`{"eventID":"e%d",`, rec.Index)
		if !bytes.HasPrefix(rec.Raw, []byte(want)) {
			t.Fatalf("record %d starts %q", rec.Index, rec.Raw[:20])
		}
		count++
		return nil
	}, nil)
	if err != nil || count != n {
		t.Fatalf("count=%d err=%v", count, err)
	}
	if d.Stats().Bytes != int64(b.Len()) {
		t.Errorf("bytes = %d, want %d", d.Stats().Bytes, b.Len())
	}
}

// oneByteReader returns at most n bytes a read, to exercise refills.
type oneByteReader struct {
	r io.Reader
	n int
}

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > o.n {
		p = p[:o.n]
	}
	return o.r.Read(p)
}

func TestDecodeMaxValue(t *testing.T) {
	g, err := decodeAll(t, `{"Records":["`+strings.Repeat("x", 1<<20)+`",`+rec1+`]}`, Options{MaxValue: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.soft) != 1 || !strings.Contains(g.soft[0], "larger than 1024 bytes") || !strings.Contains(g.soft[0], fmt.Sprintf("%d bytes at offset 12 not read", 1<<20+2)) {
		t.Errorf("soft = %q", g.soft)
	}
	if fmt.Sprint(g.indexes) != "[1]" {
		t.Errorf("indexes = %v: the record after the large one must be read", g.indexes)
	}
}

func TestOpener(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(rec1))
	zw.Close()
	whole := gz.Bytes()
	tests := []struct {
		name, file string
		data       []byte
		want       string
		wantErr    string
	}{
		{"gzip", "a.json.gz", whole, rec1, ""},
		{"gzip without .gz name", "a.json", whole, rec1, ""},
		{"plain", "a.json", []byte(rec1), rec1, ""},
		{"not gzip but named .gz", "a.json.gz", []byte("this is not gzip\n"), "", "not gzip"},
		{"empty .gz", "a.json.gz", nil, "", "empty file"},
		{"truncated gzip", "a.json.gz", whole[:len(whole)/2], "", "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var op Opener
			r, err := op.Reader(tt.file, bytes.NewReader(tt.data))
			var b []byte
			if err == nil {
				b, err = io.ReadAll(r)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(b) != tt.want {
				t.Fatalf("got %q, %v", b, err)
			}
		})
	}
	if !errors.Is(ErrNotGzip, ErrNotGzip) {
		t.Fatal("sentinel")
	}
}
