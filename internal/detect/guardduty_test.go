package detect

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestFromGuardDuty(t *testing.T) {
	tests := []struct {
		file     string
		ok       bool
		typ      string
		severity Severity
		ip       string
	}{
		{"hit-getfindings-pascalcase.json", true, "Policy:IAMUser/RootCredentialUsage", Medium, "103.127.36.50"},
		{"hit-eventbridge-camelcase.json", true, "Policy:IAMUser/ShortTermRootCredentialUsage", High, "103.127.36.50"},
		{"miss-iamuser-finding.json", false, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "guardduty", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var env struct {
				Detail json.RawMessage `json:"detail"`
			}
			if json.Unmarshal(b, &env) == nil && len(env.Detail) > 0 {
				b = env.Detail
			}
			f, ok, err := FromGuardDuty(b)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v (err %v)", ok, tt.ok, err)
			}
			if !ok {
				return
			}
			if err != nil {
				t.Errorf("unexpected error: %v", err)
			}
			if f.Category != GuardDutyRootCredentialUsage || f.GuardDuty.Type != tt.typ || f.Severity != tt.severity || f.SourceIP != tt.ip {
				t.Errorf("got %s %s %s %s", f.Category, f.GuardDuty.Type, f.Severity, f.SourceIP)
			}
			if f.EventID != "60bebb31f802c270ce9157b51e3d5e5a" || f.Account != "000011112222" || f.EventName != "ListFindings" {
				t.Errorf("identity of the finding: id=%s account=%s api=%s", f.EventID, f.Account, f.EventName)
			}
			if f.EventTime.Format("2006-01-02T15:04:05Z") != "2021-12-01T14:19:55Z" {
				t.Errorf("eventTime = %s, want first seen", f.EventTime)
			}
		})
	}
}
