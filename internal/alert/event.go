package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rootguard/rootguard/internal/detect"
)

// Event is what EventBridge hands the function: the envelope, with the
// detail (a CloudTrail record or a GuardDuty finding) left raw. Only the
// fields the handler reads are decoded, so that an odd value elsewhere in
// the envelope cannot cost an alert. The scheduled flush sends
// {"rootguard":"flush"} instead.
type Event struct {
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Region     string          `json:"region"`
	Detail     json.RawMessage `json:"detail"`
	// Rootguard carries rootguard's own commands: "flush".
	Rootguard string `json:"rootguard,omitempty"`
}

// decodeEvent reads an envelope. A field of an unexpected type is left
// empty rather than failing the event.
func decodeEvent(payload []byte) (Event, error) {
	var ev Event
	err := json.Unmarshal(payload, &ev)
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		err = nil
	}
	return ev, err
}

// FlushCommand is the value of the rootguard field of the event a
// schedule sends to flush session summaries: {"rootguard":"flush"}.
const FlushCommand = "flush"

// errNotClassified reports an event the detection rules cannot read.
var errNotClassified = errors.New("alert: not a CloudTrail or GuardDuty event")

// classify turns an EventBridge event into a finding with the rules of
// internal/detect, the same rules the scanner uses. ok is false for an
// event that is not root activity. A non-nil error with ok true means the
// record was odd but still reported.
func classify(ev *Event) (f detect.Finding, ok bool, err error) {
	if len(ev.Detail) == 0 || ev.Detail[0] != '{' {
		return f, false, fmt.Errorf("%w: detail is not an object", errNotClassified)
	}
	// As the scanner reads EventBridge events: a GuardDuty finding by its
	// detail-type or source, anything else as a CloudTrail record (the
	// rules then drop what is not root activity).
	if ev.DetailType == detect.DetailTypeGuardDuty || ev.Source == "aws.guardduty" {
		f, ok, err = detect.FromGuardDuty(ev.Detail)
	} else {
		f, ok, err = detect.FromCloudTrail(ev.Detail)
	}
	if ok {
		f.Source = detect.Source{File: "eventbridge:" + ev.ID}
		if f.Region == "" {
			f.Region = ev.Region
		}
	}
	return f, ok, err
}

// deliveryID names an event for de-duplication: the CloudTrail eventID,
// or the GuardDuty finding id with its occurrence count — the same in
// every redelivery and every copy of the event — else the EventBridge
// event id, else a hash of the detail.
//
// A GuardDuty finding that occurs again keeps its id: "for every finding
// with a unique finding ID, GuardDuty aggregates all subsequent
// occurrences of a particular finding that take place in 6-hour intervals
// into a single event" (GuardDuty User Guide, "Notifications for
// subsequent finding occurrences"), with service.count raised and a new
// updatedAt. Keyed on the id alone, that repeat occurrence would be taken
// for a redelivery and never alerted. So the key is the id plus
// service.count ("#count=N"); a finding without a count is keyed on its
// updatedAt instead. An update that raises neither (the same occurrence
// delivered again) stays a duplicate.
func deliveryID(ev *Event, f *detect.Finding) string {
	switch {
	case f.EventID != "" && f.GuardDuty != nil:
		return guardDutyDeliveryID(f)
	case f.EventID != "":
		return f.EventID
	case ev.ID != "":
		return "eventbridge:" + ev.ID
	}
	sum := sha256.Sum256(ev.Detail)
	return "sha256:" + hex.EncodeToString(sum[:16])
}

// guardDutyDeliveryID keys one occurrence of a GuardDuty finding.
func guardDutyDeliveryID(f *detect.Finding) string {
	switch g := f.GuardDuty; {
	case g.Count > 0:
		return f.EventID + "#count=" + strconv.Itoa(g.Count)
	case !g.UpdatedAt.IsZero():
		return f.EventID + "#updated=" + g.UpdatedAt.UTC().Format(time.RFC3339Nano)
	}
	return f.EventID
}
