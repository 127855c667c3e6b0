package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Pattern is an EventBridge event pattern. Marshal it with encoding/json to
// get a rule's EventPattern.
type Pattern map[string]any

// The detail-type values EventBridge gives the events rootguard watches.
const (
	DetailTypeAPICall       = "AWS API Call via CloudTrail"
	DetailTypeConsoleSignIn = "AWS Console Sign In via CloudTrail"
	DetailTypeConsoleAction = "AWS Console Action via CloudTrail"
	DetailTypeServiceEvent  = "AWS Service Event via CloudTrail"
	DetailTypeGuardDuty     = "GuardDuty Finding"
)

// cloudTrailDetailTypes are the detail-types under which CloudTrail
// delivers an event Classify may report: every kind of CloudTrail record
// but AwsServiceEvent, which Classify drops (and Insights events, which
// record no action).
var cloudTrailDetailTypes = []string{DetailTypeAPICall, DetailTypeConsoleSignIn, DetailTypeConsoleAction}

// detailTypeOf returns the detail-type EventBridge gives a CloudTrail
// record of that eventType.
func detailTypeOf(eventType string) string {
	switch eventType {
	case "AwsConsoleSignIn":
		return DetailTypeConsoleSignIn
	case "AwsConsoleAction":
		return DetailTypeConsoleAction
	case "AwsServiceEvent":
		return DetailTypeServiceEvent
	}
	return DetailTypeAPICall
}

// personInvokers are the userIdentity.invokedBy values that still mean a
// person, as rootPerson reads them; "" stands for the field being absent.
// A test holds this list to rootPerson.
var personInvokers = []string{"", "signin.amazonaws.com", "console.amazonaws.com"}

// EventPatterns returns the event patterns a member account's EventBridge
// rules need so that every event the rules in Rules would report reaches
// the pipeline. They are derived from Rules and GuardDutyRootTypes:
//
//   - one for the root user's own activity: any CloudTrail detail-type but
//     AWS Service Event, userIdentity.type Root, and userIdentity.invokedBy
//     absent or naming the console (as rootPerson reads it), so that AWS
//     services acting as root are dropped at the bus;
//   - one per group of AnyIdentity rules sharing their event sources: the
//     EventBridge source, eventSource and eventName the rules name
//     (plus one on eventType for rules that also match by EventTypes);
//   - one for GuardDuty's root-credential findings.
//
// A rule's When predicate cannot be written as a pattern, so a pattern may
// admit events the rule then rejects: the receiver classifies every event
// again. Deploy each pattern in every enabled region (CloudTrail delivers
// an event to EventBridge in the region it was recorded in, which for
// global services is US East (N. Virginia)), with the rule state
// ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS: a rule in the plain
// ENABLED state never receives read-only management events, and root's
// read-only calls are findings too.
func EventPatterns() []Pattern {
	ps := []Pattern{rootPattern()}
	ps = append(ps, anyIdentityPatterns()...)
	return append(ps, guardDutyPattern())
}

// ManagementPatterns returns the patterns for the organization's
// management account. They are the member set: the management account's
// root user is watched like any other, and the AnyIdentity patterns (root
// sessions issued by sts:AssumeRoot, centralized root access enabled or
// disabled, a primary email change accepted) are already in the member
// set because a delegated administrator, which is a member account, makes
// those calls too. The function exists so that a deployment names the set
// it installs and a future difference has one place to go.
func ManagementPatterns() []Pattern { return EventPatterns() }

func rootPattern() Pattern {
	invokedBy := []any{map[string]any{"exists": false}}
	for _, v := range personInvokers {
		invokedBy = append(invokedBy, v)
	}
	return Pattern{
		"detail-type": slices.Clone(cloudTrailDetailTypes),
		"detail": map[string]any{
			"userIdentity": map[string]any{
				"type":      []string{"Root"},
				"invokedBy": invokedBy,
			},
		},
	}
}

// anyIdentityPatterns groups the AnyIdentity rules by their sources and
// event types, in rule order, and writes one pattern per group.
func anyIdentityPatterns() []Pattern {
	type group struct {
		sources, eventTypes []string
		names               []string
		anyName             bool
	}
	var groups []*group
	for _, r := range Rules {
		if !r.AnyIdentity {
			continue
		}
		var g *group
		for _, h := range groups {
			if slices.Equal(h.sources, r.Sources) && slices.Equal(h.eventTypes, r.EventTypes) {
				g = h
			}
		}
		if g == nil {
			g = &group{sources: r.Sources, eventTypes: r.EventTypes}
			groups = append(groups, g)
		}
		if len(r.Names) == 0 {
			g.anyName = true
		}
		for _, n := range r.Names {
			if !slices.Contains(g.names, n) {
				g.names = append(g.names, n)
			}
		}
	}
	var ps []Pattern
	for _, g := range groups {
		detail := map[string]any{}
		if !g.anyName {
			detail["eventName"] = slices.Clone(g.names)
		}
		p := Pattern{"detail-type": slices.Clone(cloudTrailDetailTypes)}
		if len(g.sources) > 0 {
			var srcs []string
			for _, s := range g.sources {
				srcs = append(srcs, eventBridgeSource(s))
			}
			p["source"] = srcs
			detail["eventSource"] = slices.Clone(g.sources)
		}
		if len(detail) > 0 {
			p["detail"] = detail
		}
		ps = append(ps, p)
		if len(g.eventTypes) > 0 && len(g.sources) > 0 {
			// Rule.matches also admits these event types from any source.
			d := map[string]any{"eventType": slices.Clone(g.eventTypes)}
			if !g.anyName {
				d["eventName"] = slices.Clone(g.names)
			}
			var dts []string
			for _, et := range g.eventTypes {
				if dt := detailTypeOf(et); !slices.Contains(dts, dt) {
					dts = append(dts, dt)
				}
			}
			ps = append(ps, Pattern{"detail-type": dts, "detail": d})
		}
	}
	return ps
}

func guardDutyPattern() Pattern {
	return Pattern{
		"source":      []string{"aws.guardduty"},
		"detail-type": []string{DetailTypeGuardDuty},
		"detail":      map[string]any{"type": GuardDutyRootTypes()},
	}
}

// eventBridgeSource returns the EventBridge source of events CloudTrail
// records from an event source: iam.amazonaws.com becomes aws.iam.
func eventBridgeSource(eventSource string) string {
	return "aws." + strings.TrimSuffix(eventSource, ".amazonaws.com")
}

// PatternError reports an event pattern MatchPattern cannot evaluate.
type PatternError struct {
	Path string // the field, dotted from the top; empty for the whole pattern
	Msg  string
}

func (e *PatternError) Error() string {
	if e.Path == "" {
		return "detect: event pattern: " + e.Msg
	}
	return fmt.Sprintf("detect: event pattern: %s: %s", e.Path, e.Msg)
}

// MatchPattern reports whether an EventBridge event (the whole envelope,
// as JSON) matches an event pattern. It implements the EventBridge
// semantics the patterns of this package use:
//
//   - keys of an object are ANDed, values in an array are ORed;
//   - exact strings, numbers, booleans and null, each matching only its
//     own JSON type (null and "" differ);
//   - {"exists": true|false}, which looks at leaf values only;
//   - {"prefix": "..."} on strings;
//   - {"anything-but": v}, v a value, a list of values, or {"prefix": "..."};
//     it matches a present value not among them.
//
// A field whose event value is an array matches when any element does;
// an object pattern meeting an array of objects must be matched by one
// element as a whole. A missing field matches only {"exists": false}.
// Any other operator is reported as a *PatternError rather than guessed.
func MatchPattern(p Pattern, event []byte) (bool, error) {
	if len(p) == 0 {
		return false, &PatternError{Msg: "empty pattern"}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return false, &PatternError{Msg: err.Error()}
	}
	var pat map[string]any
	if err := decodeJSON(b, &pat); err != nil {
		return false, &PatternError{Msg: err.Error()}
	}
	var ev any
	if err := decodeJSON(event, &ev); err != nil {
		return false, fmt.Errorf("detect: decode event: %w", err)
	}
	obj, ok := ev.(map[string]any)
	if !ok {
		return false, fmt.Errorf("detect: decode event: not a JSON object")
	}
	return matchObject(pat, obj, "")
}

func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

// matchObject matches an object pattern against one event object.
func matchObject(pat map[string]any, obj map[string]any, path string) (bool, error) {
	// Visit keys in order so that a bad pattern is reported the same way
	// every time.
	keys := make([]string, 0, len(pat))
	for k := range pat {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, present := obj[k]
		ok, err := matchField(pat[k], v, present, joinPath(path, k))
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// matchField matches the pattern for one key against the event's value
// for it.
func matchField(pat any, v any, present bool, path string) (bool, error) {
	switch pat := pat.(type) {
	case map[string]any:
		if len(pat) == 0 {
			return false, &PatternError{Path: path, Msg: "empty object"}
		}
		var objs []map[string]any
		collectObjects(v, present, &objs)
		if len(objs) == 0 {
			// Nothing to descend into: only exists:false can still hold.
			objs = []map[string]any{{}}
		}
		for _, o := range objs {
			ok, err := matchObject(pat, o, path)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case []any:
		var leaves []any
		if present {
			collectLeaves(v, &leaves)
		}
		matched := false
		for _, c := range pat {
			ok, err := matchCondition(c, leaves, path)
			if err != nil {
				return false, err
			}
			matched = matched || ok
		}
		return matched, nil
	}
	return false, &PatternError{Path: path, Msg: "a pattern value must be an array or an object"}
}

// collectObjects gathers the objects a value holds: itself, or the objects
// among its elements if it is an array.
func collectObjects(v any, present bool, out *[]map[string]any) {
	if !present {
		return
	}
	switch v := v.(type) {
	case map[string]any:
		*out = append(*out, v)
	case []any:
		for _, e := range v {
			collectObjects(e, true, out)
		}
	}
}

// collectLeaves gathers the leaf values a value holds: itself if it is a
// scalar or null, its elements' leaves if it is an array. Objects are not
// leaves.
func collectLeaves(v any, out *[]any) {
	switch v := v.(type) {
	case map[string]any:
	case []any:
		for _, e := range v {
			collectLeaves(e, out)
		}
	default:
		*out = append(*out, v)
	}
}

// matchCondition evaluates one element of a pattern array against a
// field's leaf values.
func matchCondition(c any, leaves []any, path string) (bool, error) {
	op, ok := c.(map[string]any)
	if !ok {
		if _, isArray := c.([]any); isArray {
			return false, &PatternError{Path: path, Msg: "nested array"}
		}
		return slices.ContainsFunc(leaves, func(v any) bool { return sameValue(c, v) }), nil
	}
	if len(op) != 1 {
		return false, &PatternError{Path: path, Msg: "an operator object must have exactly one key"}
	}
	for name, arg := range op {
		switch name {
		case "exists":
			want, ok := arg.(bool)
			if !ok {
				return false, &PatternError{Path: path, Msg: "exists takes true or false"}
			}
			return (len(leaves) > 0) == want, nil
		case "prefix":
			prefix, ok := arg.(string)
			if !ok {
				return false, &PatternError{Path: path, Msg: "prefix takes a string"}
			}
			return slices.ContainsFunc(leaves, func(v any) bool {
				s, ok := v.(string)
				return ok && strings.HasPrefix(s, prefix)
			}), nil
		case "anything-but":
			return anythingBut(arg, leaves, path)
		default:
			return false, &PatternError{Path: path, Msg: fmt.Sprintf("unsupported operator %q", name)}
		}
	}
	return false, nil
}

func anythingBut(arg any, leaves []any, path string) (bool, error) {
	switch arg := arg.(type) {
	case map[string]any:
		prefix, ok := arg["prefix"].(string)
		if len(arg) != 1 || !ok {
			return false, &PatternError{Path: path, Msg: `anything-but takes a value, a list of values or {"prefix": "..."}`}
		}
		return slices.ContainsFunc(leaves, func(v any) bool {
			s, ok := v.(string)
			return ok && !strings.HasPrefix(s, prefix)
		}), nil
	case []any:
		for _, x := range arg {
			switch x.(type) {
			case map[string]any, []any:
				return false, &PatternError{Path: path, Msg: "anything-but lists hold plain values"}
			}
		}
		return slices.ContainsFunc(leaves, func(v any) bool {
			return !slices.ContainsFunc(arg, func(x any) bool { return sameValue(x, v) })
		}), nil
	default:
		return slices.ContainsFunc(leaves, func(v any) bool { return !sameValue(arg, v) }), nil
	}
}

// sameValue compares a pattern value with an event value: equal JSON type
// and equal value; numbers compare by value.
func sameValue(p, v any) bool {
	switch p := p.(type) {
	case string:
		s, ok := v.(string)
		return ok && s == p
	case bool:
		b, ok := v.(bool)
		return ok && b == p
	case nil:
		return v == nil
	case json.Number:
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		if n == p {
			return true
		}
		a, errA := strconv.ParseFloat(string(p), 64)
		b, errB := strconv.ParseFloat(string(n), 64)
		return errA == nil && errB == nil && a == b
	}
	return false
}
