package alert

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/notify"
)

// FuzzApprovalRecord: an approval stored in the table reads back as it
// was written, whatever its free-text fields hold (times are kept to the
// second, in UTC).
func FuzzApprovalRecord(f *testing.F) {
	f.Add("CHG-1234", "123456789012", "audit", "arn:aws:sts::1:assumed-role/a/b", "arn:aws:sts::1:assumed-role/c/d", "rotate\nkeys", OriginRequest, int64(1796000000), int64(3600))
	f.Add("", "", "", "", "", "", OriginGrant, int64(0), int64(0))
	f.Add("#h#1", "approval#x", "console", "\x00", "=cmd", "\u202e", OriginEmergency, int64(-62135596800), int64(-1))
	f.Fuzz(func(t *testing.T, id, account, task, requester, approver, reason, origin string, from, window int64) {
		if origin == "" {
			origin = OriginRequest // "" is a legacy grant, read below
		}
		a := Approval{Approval: approval.Approval{
			ID: id, Account: account, Task: approval.Task(task), Requester: requester, Approver: approver, Reason: reason,
			From: time.Unix(from%253402300800, 0).UTC(), Until: time.Unix(from%253402300800, 0).Add(time.Duration(window%86400) * time.Second).UTC(),
		}, Origin: origin, GrantedAt: time.Unix(from%253402300800, 0).UTC()}
		if a.From.Year() < 1 || a.Until.Year() < 1 || a.Until.Year() > 9999 {
			return // timeFormat holds years 0001 to 9999
		}
		got := decodeApproval(approvalItem(approvalIDKey(id), &a))
		if got.ID != a.ID || got.Account != a.Account || got.Task != a.Task || got.Requester != a.Requester ||
			got.Approver != a.Approver || got.Reason != a.Reason || got.Origin != a.Origin ||
			!got.From.Equal(a.From) || !got.Until.Equal(a.Until) || !got.GrantedAt.Equal(a.GrantedAt) {
			t.Fatalf("approval changed in the table:\nwrote %+v\nread  %+v", a, got)
		}
	})
}

// FuzzDecodeHistory: a history item is read only under the sort key the
// function writes ("h#" and a sequence number, %05d): an item written by
// anything else (a hand-edited table) is not taken for a state change
// such as "approved". An item the function wrote reads back as written.
func FuzzDecodeHistory(f *testing.F) {
	f.Add("h#00001", 1, "approved", "arn:aws:sts::1:assumed-role/a/b", "ok", "ASIAEXAMPLE")
	f.Add("h#1x", 1, "approved", "", "", "")
	f.Add("h#-0001", -1, "revoked", "", "", "")
	f.Add("h# 0002", 2, "approved", "", "", "")
	f.Add("-", 0, "requested", "", "", "")
	f.Add("h#123456", 123456, "used", "", "", "")
	f.Fuzz(func(t *testing.T, sk string, seq int, event, by, note, key string) {
		item := map[string]types.AttributeValue{attrSK: str(sk), "event": str(event), "by": str(by), "at": str("2026-12-06T01:02:03Z")}
		if ev, ok := decodeHistory(item); ok && (ev.Seq < 0 || fmt.Sprintf("h#%05d", ev.Seq) != sk) {
			t.Fatalf("sort key %q read as history event %d", sk, ev.Seq)
		}
		if seq < 0 {
			return
		}
		at := time.Date(2026, 12, 6, 1, 2, 3, 0, time.UTC)
		want := HistoryEvent{Seq: seq, Event: event, By: by, At: at, Note: note, AccessKeyID: key}
		got, ok := decodeHistory(historyItem("CHG-1", want, at))
		if !ok || got != want {
			t.Fatalf("history event changed in the table:\nwrote %+v\nread  %+v (%v)", want, got, ok)
		}
	})
}

// FuzzDecodePending: a session summary item whose finding attributes are
// damaged still reads (the others are kept), and the error names the
// summary and each damaged finding.
func FuzzDecodePending(f *testing.F) {
	f.Add("summary#ASIAEXAMPLE", "evt-1", `{"eventId":"evt-1","account":"123456789012","eventTime":"2026-12-06T01:02:03Z"}`, "12")
	f.Add("summary#k", "evt-2", `{"eventTime":"yesterday"}`, "x")
	f.Add("digest#arn:aws:sts::1:assumed-role/a/b", "", `not json`, "-1")
	f.Add("", "e", `{"session":{"issuedAt":7}}`, "99999999999999999999")
	f.Fuzz(func(t *testing.T, sk, id, finding, n string) {
		item := map[string]types.AttributeValue{
			attrSK: str(sk), "account": str("123456789012"), "first": &types.AttributeValueMemberN{Value: n},
			findingPrefix + "good": str(`{"eventId":"good"}`), findingPrefix + id: str(finding),
		}
		p, err := decodePending(item)
		if p == nil {
			t.Fatalf("decodePending(%q) = nil, %v", sk, err)
		}
		if p.digest != nil {
			return
		}
		if id != "good" && p.findings["good"].EventID != "good" {
			t.Fatalf("a damaged finding cost the others: %+v", p.findings)
		}
		if err != nil {
			if !strings.Contains(err.Error(), "summary "+sk) || !strings.Contains(err.Error(), "finding "+id) {
				t.Fatalf("error %q does not name summary %q and finding %q", err, sk, id)
			}
			if json.Valid([]byte(finding)) && strings.HasPrefix(strings.TrimSpace(finding), "{") && id != "good" {
				return // a field of the wrong type
			}
			return
		}
		if _, ok := p.findings[id]; !ok {
			t.Fatalf("finding %q neither read nor reported", id)
		}
	})
}

// FuzzConfigFromEnv: the function's environment is either a
// configuration whose every value is in range, or an error naming each
// variable that is not.
func FuzzConfigFromEnv(f *testing.F) {
	f.Add("en", "1h", "15m", "1h", "50", "arn:aws:sts::*:assumed-role/AWSReservedSSO_SecurityApprover_*/*")
	f.Add("", "", "", "", "", "")
	f.Add("fr", "-1s", "forever", "1e3h", "0", "*")
	f.Add("both", "9223372036854775807ns", "0s", "1ns", "200", "arn:aws:iam::*:user/a,,")
	f.Add("ja", "3000000h", "5m", "5m", "201", "arn:aws:iam::111111111111:user/x,arn:aws:sts::*:*")
	f.Fuzz(func(t *testing.T, lang, ttl, quiet, maxAge, maxActions, approvers string) {
		env := map[string]string{"TOPIC_ARN": "arn:aws:sns:us-east-1:1:t", "TABLE_NAME": "t", "LANGUAGE": lang,
			"ENRICH_TTL": ttl, "SUMMARY_QUIET": quiet, "SUMMARY_MAX_AGE": maxAge, "SUMMARY_MAX_ACTIONS": maxActions,
			"APPROVERS": approvers, "STANDING_AUDIT_PRINCIPALS": approvers}
		c, err := ConfigFromEnv(func(k string) string { return env[k] })
		if err != nil {
			for _, name := range []string{"LANGUAGE", "ENRICH_TTL", "SUMMARY_QUIET", "SUMMARY_MAX_AGE", "SUMMARY_MAX_ACTIONS", "APPROVERS"} {
				if strings.Contains(err.Error(), name) {
					return
				}
			}
			t.Fatalf("error %q names no variable", err)
		}
		switch c.Lang {
		case notify.English, notify.Japanese, notify.Both:
		default:
			t.Fatalf("LANGUAGE %q accepted as %q", lang, c.Lang)
		}
		if c.EnrichTTL < 0 || c.Summary.Quiet < 0 || c.Summary.MaxAge < 0 {
			t.Fatalf("negative duration accepted: %+v", c)
		}
		if c.Summary.MaxActions < 1 || c.Summary.MaxActions > maxSummaryActions {
			t.Fatalf("SUMMARY_MAX_ACTIONS %q accepted as %d", maxActions, c.Summary.MaxActions)
		}
	})
}
