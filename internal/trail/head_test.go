package trail

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestHeadOf(t *testing.T) {
	const ui = `"userIdentity":{"type":"Root","invokedBy":"lambda.amazonaws.com","arn":"x"}`
	tests := []struct {
		name, raw string
		want      [5]string // type, invokedBy, eventType, eventSource, eventName
		exact     bool
	}{
		{"record", `{"eventVersion":"1.10",` + ui + `,"eventSource":"s3.amazonaws.com","eventName":"PutObject","eventType":"AwsApiCall"}`,
			[5]string{"Root", "lambda.amazonaws.com", "AwsApiCall", "s3.amazonaws.com", "PutObject"}, true},
		{"absent and null", `{"userIdentity":null,"eventType":null}`, [5]string{}, true},
		{"keys in any ASCII case, as encoding/json matches them", `{"USERIDENTITY":{"Type":"Root","INVOKEDBY":"x"},"EventType":"a","eventsource":"b","EVENTNAME":"c"}`,
			[5]string{"Root", "x", "a", "b", "c"}, true},
		{"nested members are not the record's", `{"requestParameters":{"eventName":"x","userIdentity":{"type":"Root"}},"eventName":"y"}`,
			[5]string{"", "", "", "", "y"}, true},
		{"white space", "{ \"userIdentity\" : { \"type\" : \"Root\" } ,\n\"eventName\" : \"x\" }", [5]string{"Root", "", "", "", "x"}, true},
		{"escaped value", `{"userIdentity":{"type":"R\u006fot"}}`, [5]string{}, false},
		{"escaped key", `{"userIdentity":{"\u0074ype":"Root"}}`, [5]string{}, false},
		{"non-ASCII key that folds onto a name", "{\"eventſource\":\"sts.amazonaws.com\"}", [5]string{}, false},
		{"repeated member", `{"eventType":"AwsServiceEvent","eventType":"AwsApiCall"}`, [5]string{}, false},
		{"repeated in other case", `{"eventType":"AwsServiceEvent","EVENTTYPE":"AwsApiCall"}`, [5]string{}, false},
		{"repeated userIdentity", `{"userIdentity":{"type":"IAMUser"},"userIdentity":{"invokedBy":"x"}}`, [5]string{}, false},
		{"value not a string", `{"eventName":["AssumeRoot"]}`, [5]string{}, false},
		{"userIdentity not an object", `{"userIdentity":"Root"}`, [5]string{}, false},
		{"not an object", `["Root"]`, [5]string{}, false},
		{"damaged", `{"userIdentity":{"type":"Root"}`, [5]string{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := HeadOf([]byte(tt.raw))
			if h.Exact != tt.exact {
				t.Fatalf("Exact = %v, want %v (%+v)", h.Exact, tt.exact, h)
			}
			if !tt.exact {
				return
			}
			got := [5]string{string(h.Type), string(h.InvokedBy), string(h.EventType), string(h.EventSource), string(h.EventName)}
			if got != tt.want {
				t.Errorf("head = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestHeadInRecords: in a Records array the decoder hands the Candidate
// the Head it read while finding each record's end.
func TestHeadInRecords(t *testing.T) {
	var heads []string
	d := NewDecoder(Options{Candidate: func(h *Head) bool {
		heads = append(heads, string(h.Type)+"/"+string(h.EventName)+"/"+map[bool]string{true: "exact", false: "inexact"}[h.Exact])
		return true
	}})
	in := `{"Records":[{"userIdentity":{"type":"Root"},"eventName":"A"},` + "\n" +
		`{"userIdentity":{"type":"IAMUser"},"eventName":"B","eventName":"C"},{"eventName":"D"}]}` + "\n" +
		`{"userIdentity":{"type":"AssumedRole"},"eventVersion":"1","eventName":"E"}`
	if err := d.Decode(t.Context(), oneByteReader{strings.NewReader(in), 5}, func(Record) error { return nil }, nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"Root/A/exact", "IAMUser/C/inexact", "/D/exact", "AssumedRole/E/exact"}
	if strings.Join(heads, " ") != strings.Join(want, " ") {
		t.Errorf("heads = %q, want %q", heads, want)
	}
}

// headFields is what encoding/json decodes from a record into the five
// string fields a Head holds (the same names as detect.Event's).
type headFields struct {
	UserIdentity struct {
		Type      string `json:"type"`
		InvokedBy string `json:"invokedBy"`
	} `json:"userIdentity"`
	EventType   string `json:"eventType"`
	EventSource string `json:"eventSource"`
	EventName   string `json:"eventName"`
}

// FuzzHead holds an exact Head to encoding/json: whatever the record,
// when HeadOf says Exact, its values are the ones encoding/json decodes
// (invalid UTF-8 read as U+FFFD, as encoding/json does).
func FuzzHead(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "detect", "testdata", "rules", "*", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{rec1, rec2,
		`{"USERIDENTITY":{"Type":"Root","INVOKEDBY":"x"},"EventType":"a"}`,
		`{"userIdentity":{"type":"R\u006fot"},"eventType":"AwsServiceEvent","eventType":null}`,
		"{\"eventſource\":\"sts.amazonaws.com\",\"userIdentity\":{\"type\":\"Root\xff\"}}",
		`{"userIdentity":{"type":"IAMUser"},"userIdentity":{"invokedBy":"x"},"eventName":7}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h := HeadOf(b)
		if !h.Exact {
			return
		}
		var e headFields
		if err := json.Unmarshal(b, &e); err != nil {
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) {
				return // not JSON encoding/json reads: never a finding
			}
			t.Fatalf("exact head %+v, but encoding/json met a type error: %v", h, err)
		}
		for _, c := range []struct {
			name string
			head []byte
			json string
		}{
			{"userIdentity.type", h.Type, e.UserIdentity.Type},
			{"userIdentity.invokedBy", h.InvokedBy, e.UserIdentity.InvokedBy},
			{"eventType", h.EventType, e.EventType},
			{"eventSource", h.EventSource, e.EventSource},
			{"eventName", h.EventName, e.EventName},
		} {
			if got := asJSONDecodes(c.head); got != c.json {
				t.Fatalf("%s: head %q, encoding/json %q", c.name, got, c.json)
			}
		}
	})
}

// asJSONDecodes is the string encoding/json makes of an unescaped JSON
// string's bytes: each byte that is not valid UTF-8 becomes U+FFFD.
func asJSONDecodes(b []byte) string {
	var s strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		s.WriteRune(r)
		b = b[n:]
	}
	return s.String()
}
