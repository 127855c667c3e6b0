package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestApprovalChangeGolden keeps the request and decision messages in
// testdata/approval-*.LANG.txt and .chatbot.json.
func TestApprovalChangeGolden(t *testing.T) {
	from := time.Date(2026, 10, 8, 1, 0, 0, 0, time.UTC)
	base := ApprovalChange{
		ID: "R-20261008T010000Z-1a2b3c4d", Account: "333333333333", Task: "s3-unlock", From: from, Until: from.Add(time.Hour),
		Requester: "arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_Operator_0123/alice@example.com",
		Reason:    "the archive bucket policy denies everyone (INC-4711)\nsecond line",
	}
	approved := base
	approved.Change, approved.By, approved.Note = ChangeApproved,
		"arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_SecurityApprover_4567/bob@example.com", "INC-4711 confirmed"
	base.Change, base.By = ChangeRequested, base.Requester
	emergency := base
	emergency.ID, emergency.Change, emergency.Reason = "E-20261008T010000Z-5e6f7a8b", ChangeEmergency, "leaked root key (INC-9)"
	for name, c := range map[string]ApprovalChange{"approval-requested": base, "approval-approved": approved, "approval-emergency": emergency} {
		for _, lang := range []Lang{English, Japanese, Both} {
			t.Run(name+"."+string(lang), func(t *testing.T) {
				al := RenderApprovalChange(c, lang)
				if c.Change == ChangeEmergency && (al.Attributes["page"] != "true" || al.Attributes["severity"] != "critical") {
					t.Errorf("an emergency does not page: %v", al.Attributes)
				}
				if len([]rune(al.Subject)) > MaxSubject || strings.ContainsAny(al.Subject, "\n\r") {
					t.Errorf("subject %q", al.Subject)
				}
				var b strings.Builder
				fmt.Fprintf(&b, "Subject: %s\n", al.Subject)
				var attrs []string
				for k, v := range al.Attributes {
					if v == "" {
						t.Errorf("attribute %s empty", k)
					}
					attrs = append(attrs, k+"="+v)
				}
				slices.Sort(attrs)
				fmt.Fprintf(&b, "Attributes: %s\n\n%s", strings.Join(attrs, ", "), al.Body)
				golden(t, name+"."+string(lang)+".txt", []byte(b.String()))
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, al.Chatbot, "", "  "); err != nil {
					t.Fatalf("Chatbot is not JSON: %v", err)
				}
				pretty.WriteByte('\n')
				golden(t, name+"."+string(lang)+".chatbot.json", pretty.Bytes())
			})
		}
	}
}
