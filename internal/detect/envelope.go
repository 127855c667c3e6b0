package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// CloudTrailEnvelope wraps a CloudTrail record in the EventBridge event
// CloudTrail delivers it in: detail-type from its eventType, source from its
// eventSource. The envelope's id is fixed; EventBridge would give a fresh
// one. It is what event patterns are matched against.
func CloudTrailEnvelope(rec []byte) ([]byte, error) {
	var e Event
	if err := json.Unmarshal(rec, &e); err != nil {
		if _, typeErr := err.(*json.UnmarshalTypeError); !typeErr {
			return nil, fmt.Errorf("detect: envelope: %w", err)
		}
	}
	return json.Marshal(map[string]any{
		"version":     "0",
		"id":          "6f87d04b-9f74-4f04-a780-7acf4b0a9b38",
		"detail-type": detailTypeOf(e.EventType),
		"source":      eventBridgeSource(e.EventSource),
		"account":     e.account(),
		"time":        e.EventTime,
		"region":      e.AWSRegion,
		"resources":   []string{},
		"detail":      json.RawMessage(bytes.TrimSpace(rec)),
	})
}

// GuardDutyEnvelope wraps a GuardDuty finding in its EventBridge event,
// with GetFindings' PascalCase keys turned into the camelCase EventBridge
// carries.
func GuardDutyEnvelope(finding []byte) ([]byte, error) {
	var v any
	if err := decodeJSON(finding, &v); err != nil {
		return nil, fmt.Errorf("detect: envelope: %w", err)
	}
	m, ok := camelKeys(v).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("detect: envelope: a finding is a JSON object")
	}
	return json.Marshal(map[string]any{
		"version":     "0",
		"id":          "c8c4daa7-a20c-2f03-0070-b7393dd542ad",
		"detail-type": DetailTypeGuardDuty,
		"source":      "aws.guardduty",
		"account":     m["accountId"],
		"time":        m["updatedAt"],
		"region":      m["region"],
		"resources":   []string{},
		"detail":      m,
	})
}

// camelKeys lower-cases the first letter of every object key.
func camelKeys(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			r, n := utf8.DecodeRuneInString(k)
			out[string(unicode.ToLower(r))+k[n:]] = camelKeys(x)
		}
		return out
	case []any:
		for i := range v {
			v[i] = camelKeys(v[i])
		}
	}
	return v
}
