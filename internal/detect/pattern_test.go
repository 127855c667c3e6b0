package detect

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestMatchPattern(t *testing.T) {
	const event = `{
		"source": "aws.iam", "detail-type": "AWS API Call via CloudTrail",
		"detail": {
			"eventName": "CreateUser", "count": 5, "ratio": 1.5, "flag": true,
			"nothing": null, "empty": "", "tags": ["a", "b"],
			"resources": [{"type": "bucket", "arn": "x"}, {"type": "key", "arn": "y"}],
			"nested": {"deep": {"v": "z"}}
		}
	}`
	tests := []struct {
		name    string
		pattern string
		want    bool
	}{
		{"exact string", `{"source": ["aws.iam"]}`, true},
		{"other string", `{"source": ["aws.sts"]}`, false},
		{"values are ORed", `{"source": ["aws.sts", "aws.iam"]}`, true},
		{"keys are ANDed", `{"source": ["aws.iam"], "detail-type": ["GuardDuty Finding"]}`, false},
		{"nested object", `{"detail": {"nested": {"deep": {"v": ["z"]}}}}`, true},
		{"nested object, other value", `{"detail": {"nested": {"deep": {"v": ["w"]}}}}`, false},
		{"number", `{"detail": {"count": [5]}}`, true},
		{"number by value", `{"detail": {"count": [5.0], "ratio": [1.50]}}`, true},
		{"a string never matches a number", `{"detail": {"count": ["5"]}}`, false},
		{"bool", `{"detail": {"flag": [true]}}`, true},
		{"a string never matches a bool", `{"detail": {"flag": ["true"]}}`, false},
		{"null", `{"detail": {"nothing": [null]}}`, true},
		{"empty string is not null", `{"detail": {"nothing": [""]}}`, false},
		{"null is not the empty string", `{"detail": {"empty": [null]}}`, false},
		{"empty string", `{"detail": {"empty": [""]}}`, true},
		{"missing field", `{"detail": {"absent": ["x"]}}`, false},
		{"missing parent", `{"nope": {"absent": ["x"]}}`, false},
		{"exists true", `{"detail": {"eventName": [{"exists": true}]}}`, true},
		{"exists true, missing", `{"detail": {"absent": [{"exists": true}]}}`, false},
		{"exists false, missing", `{"detail": {"absent": [{"exists": false}]}}`, true},
		{"exists false, present", `{"detail": {"eventName": [{"exists": false}]}}`, false},
		{"exists false, parent missing", `{"nope": {"absent": [{"exists": false}]}}`, true},
		{"exists true, null is a value", `{"detail": {"nothing": [{"exists": true}]}}`, true},
		{"exists looks at leaves only", `{"detail": {"nested": [{"exists": true}]}}`, false},
		{"exists false or a value, missing", `{"detail": {"absent": [{"exists": false}, "signin.amazonaws.com"]}}`, true},
		{"exists false or a value, that value", `{"detail": {"eventName": [{"exists": false}, "CreateUser"]}}`, true},
		{"exists false or a value, another value", `{"detail": {"eventName": [{"exists": false}, "DeleteUser"]}}`, false},
		{"prefix", `{"detail": {"eventName": [{"prefix": "Create"}]}}`, true},
		{"prefix, no", `{"detail": {"eventName": [{"prefix": "Delete"}]}}`, false},
		{"prefix ignores numbers", `{"detail": {"count": [{"prefix": "5"}]}}`, false},
		{"anything-but value", `{"detail": {"eventName": [{"anything-but": "DeleteUser"}]}}`, true},
		{"anything-but that value", `{"detail": {"eventName": [{"anything-but": "CreateUser"}]}}`, false},
		{"anything-but list", `{"detail": {"eventName": [{"anything-but": ["CreateUser", "DeleteUser"]}]}}`, false},
		{"anything-but number", `{"detail": {"count": [{"anything-but": [4, 6]}]}}`, true},
		{"anything-but prefix", `{"detail": {"eventName": [{"anything-but": {"prefix": "Delete"}}]}}`, true},
		{"anything-but prefix, no", `{"detail": {"eventName": [{"anything-but": {"prefix": "Create"}}]}}`, false},
		{"anything-but needs a value", `{"detail": {"absent": [{"anything-but": "x"}]}}`, false},
		{"array: any element", `{"detail": {"tags": ["b"]}}`, true},
		{"array: no element", `{"detail": {"tags": ["c"]}}`, false},
		{"array: anything-but any element", `{"detail": {"tags": [{"anything-but": "a"}]}}`, true},
		{"array: exists", `{"detail": {"tags": [{"exists": true}]}}`, true},
		{"array of objects: one element matches", `{"detail": {"resources": {"type": ["key"], "arn": ["y"]}}}`, true},
		{"array of objects: fields of two elements do not combine", `{"detail": {"resources": {"type": ["key"], "arn": ["x"]}}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Pattern
			if err := json.Unmarshal([]byte(tt.pattern), &p); err != nil {
				t.Fatal(err)
			}
			got, err := MatchPattern(p, []byte(event))
			if err != nil {
				t.Fatalf("MatchPattern: %v", err)
			}
			if got != tt.want {
				t.Errorf("MatchPattern(%s) = %v, want %v", tt.pattern, got, tt.want)
			}
		})
	}
}

func TestMatchPatternGoValues(t *testing.T) {
	// Patterns built in Go, with typed slices, work like decoded ones.
	p := Pattern{"detail": map[string]any{"n": []int{7}, "s": []string{"x"}}}
	got, err := MatchPattern(p, []byte(`{"detail": {"n": 7, "s": "x"}}`))
	if err != nil || !got {
		t.Errorf("MatchPattern = %v, %v; want true", got, err)
	}
}

func TestMatchPatternErrors(t *testing.T) {
	tests := []struct {
		name, pattern, event string
		patternErr           bool
	}{
		{"empty pattern", `{}`, `{}`, true},
		{"a leaf must be an array", `{"source": "aws.iam"}`, `{}`, true},
		{"unsupported operator", `{"detail": {"n": [{"numeric": [">", 1]}]}}`, `{}`, true},
		{"exists takes a bool", `{"source": [{"exists": "yes"}]}`, `{}`, true},
		{"two operators in one object", `{"source": [{"prefix": "a", "exists": true}]}`, `{}`, true},
		{"nested array", `{"source": [["a"]]}`, `{}`, true},
		{"empty object", `{"detail": {}}`, `{}`, true},
		{"event is not JSON", `{"source": ["a"]}`, `{"source":`, false},
		{"event is not an object", `{"source": ["a"]}`, `["a"]`, false},
		{"trailing data", `{"source": ["a"]}`, `{} {}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Pattern
			if err := json.Unmarshal([]byte(tt.pattern), &p); err != nil {
				t.Fatal(err)
			}
			_, err := MatchPattern(p, []byte(tt.event))
			if err == nil {
				t.Fatal("no error")
			}
			var pe *PatternError
			if errors.As(err, &pe) != tt.patternErr {
				t.Errorf("error %v: *PatternError = %v, want %v", err, !tt.patternErr, tt.patternErr)
			}
			if !strings.HasPrefix(err.Error(), "detect: ") {
				t.Errorf("error %q does not name the package", err)
			}
		})
	}
}

// TestEventPatternsGolden keeps the patterns in testdata/patterns/member.json,
// the file deployment templates read; go test -update rewrites it.
func TestEventPatternsGolden(t *testing.T) {
	got, err := json.MarshalIndent(EventPatterns(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	p := filepath.Join("testdata", "patterns", "member.json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from EventPatterns() (go test -update rewrites it)\n got:\n%s\nwant:\n%s", p, got, want)
	}
}

func TestPatternsAreDeployable(t *testing.T) {
	if m, e := mustMarshal(t, ManagementPatterns()), mustMarshal(t, EventPatterns()); !bytes.Equal(m, e) {
		t.Errorf("ManagementPatterns differs from EventPatterns; document the difference and update this test")
	}
	for i, p := range EventPatterns() {
		b := mustMarshal(t, p)
		// PutRule takes an EventPattern of at most 4096 characters.
		if n := utf8.RuneCount(b); n > 4096 {
			t.Errorf("pattern %d is %d characters, over EventBridge's 4096", i, n)
		}
		if _, ok := p["detail-type"]; !ok {
			t.Errorf("pattern %d does not name a detail-type: %s", i, b)
		}
		// Nothing in CloudFormation's object syntax may be null.
		if bytes.Contains(b, []byte("null")) {
			t.Errorf("pattern %d holds null, which CloudFormation templates reject: %s", i, b)
		}
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRootPatternMirrorsRootPerson holds the root pattern's identity test to
// rootPerson and Classify's AwsServiceEvent rule, for every invokedBy and
// eventType that matters.
func TestRootPatternMirrorsRootPerson(t *testing.T) {
	invokers := []string{"<absent>", "", "signin.amazonaws.com", "console.amazonaws.com",
		"elasticloadbalancing.amazonaws.com", "AWS Internal", "lambda.amazonaws.com"}
	for _, typ := range []string{"Root", "IAMUser"} {
		for _, eventType := range []string{"AwsApiCall", "AwsConsoleSignIn", "AwsConsoleAction", "AwsServiceEvent"} {
			for _, inv := range invokers {
				ui := map[string]any{"type": typ, "accountId": "123456789012"}
				if inv != "<absent>" {
					ui["invokedBy"] = inv
				}
				rec := mustMarshal(t, map[string]any{
					"eventVersion": "1.08", "userIdentity": ui, "eventTime": "2026-10-08T00:00:00Z",
					"eventSource": "s3.amazonaws.com", "eventName": "ListBuckets", "awsRegion": "us-east-1",
					"eventID": "e", "eventType": eventType, "recipientAccountId": "123456789012",
				})
				var e Event
				if err := json.Unmarshal(rec, &e); err != nil {
					t.Fatal(err)
				}
				want := rootPerson(&e) && Classify(&e) != nil
				got, err := MatchPattern(rootPattern(), envelopeCloudTrail(t, rec))
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("type=%s eventType=%s invokedBy=%q: pattern matches = %v, engine reports = %v", typ, eventType, inv, got, want)
				}
			}
		}
	}
}

// TestEventPatternsFollowRules builds, for every rule, an event it reports
// and checks a pattern admits it; and shows the patterns are derived from
// Rules by adding a rule.
func TestEventPatternsFollowRules(t *testing.T) {
	for _, r := range Rules {
		srcs, names := r.Sources, r.Names
		if len(srcs) == 0 {
			srcs = []string{"ec2.amazonaws.com"}
		}
		if len(names) == 0 {
			names = []string{"RunInstances"}
		}
		for _, src := range srcs {
			for _, name := range names {
				ui := map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::111111111111:assumed-role/Admin/alice"}
				if !r.AnyIdentity {
					ui = map[string]any{"type": "Root", "arn": "arn:aws:iam::111111111111:root"}
				}
				eventType := "AwsApiCall"
				if len(r.EventTypes) > 0 {
					eventType = r.EventTypes[0]
				}
				rec := mustMarshal(t, map[string]any{
					"eventVersion": "1.08", "userIdentity": ui, "eventTime": "2026-10-08T00:00:00Z",
					"eventSource": src, "eventName": name, "awsRegion": "us-east-1", "eventID": "e",
					"eventType": eventType, "recipientAccountId": "111111111111",
				})
				if !anyPatternMatches(t, EventPatterns(), envelopeCloudTrail(t, rec)) {
					t.Errorf("rule %s: no pattern admits %s:%s", r.ID, src, name)
				}
			}
		}
	}

	// A new AnyIdentity rule gets a pattern without anyone writing one.
	saved := Rules
	t.Cleanup(func() { Rules = saved })
	Rules = append(slices.Clone(saved), &Rule{
		ID: "test-only", Category: GovernanceChange, AnyIdentity: true,
		Sources: []string{"organizations.amazonaws.com"}, Names: []string{"LeaveOrganization"},
	})
	rec := mustMarshal(t, map[string]any{
		"userIdentity": map[string]any{"type": "AssumedRole"}, "eventSource": "organizations.amazonaws.com",
		"eventName": "LeaveOrganization", "eventType": "AwsApiCall", "eventID": "e",
	})
	if !anyPatternMatches(t, EventPatterns(), envelopeCloudTrail(t, rec)) {
		t.Errorf("a rule added to Rules has no pattern: %s", mustMarshal(t, EventPatterns()))
	}
}

func anyPatternMatches(t *testing.T, ps []Pattern, event []byte) bool {
	t.Helper()
	for _, p := range ps {
		ok, err := MatchPattern(p, event)
		if err != nil {
			t.Fatalf("MatchPattern(%s): %v", mustMarshal(t, p), err)
		}
		if ok {
			return true
		}
	}
	return false
}

// sample is one event as EventBridge delivers it, with what the engine
// says of the record or finding inside.
type sample struct {
	name     string
	envelope []byte
	reported bool // FromCloudTrail or FromGuardDuty reports it
	dropped  bool // an AWS service acting as root, or an AwsServiceEvent
}

// TestPatternsCoverCorpus is the guarantee the patterns exist for: every
// public sample event the engine reports reaches the pipeline, and the
// service-as-root and service events it ignores are dropped at the bus.
func TestPatternsCoverCorpus(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "corpus"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatalf("no sample events in %s", dir)
		}
		t.Skipf("no sample events in %s", dir)
	}
	checkCoverage(t, files)
}

// TestPatternsCoverFixtures runs the same check over the rule and GuardDuty
// fixtures.
func TestPatternsCoverFixtures(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "rules", "*", "*.json"))
	gd, _ := filepath.Glob(filepath.Join("testdata", "guardduty", "*.json"))
	checkCoverage(t, append(files, gd...))
}

func checkCoverage(t *testing.T, files []string) {
	t.Helper()
	patterns := EventPatterns()
	var reported, dropped, admittedExtra int
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range samples(t, filepath.Base(f), raw) {
			matched := anyPatternMatches(t, patterns, s.envelope)
			switch {
			case s.reported:
				reported++
				if !matched {
					t.Errorf("%s: the engine reports it but no event pattern matches:\n%s", s.name, s.envelope)
				}
			case s.dropped:
				dropped++
				if matched {
					t.Errorf("%s: a service acting as root or a service event reaches the pipeline", s.name)
				}
			case matched:
				admittedExtra++
				t.Logf("%s: admitted by a pattern, not reported by the engine (the receiver classifies again)", s.name)
			}
		}
	}
	if reported == 0 || dropped == 0 {
		t.Errorf("the check is vacuous: %d reported, %d dropped samples in %d files", reported, dropped, len(files))
	}
	t.Logf("%d files: %d reported events all matched, %d service events all dropped, %d others admitted", len(files), reported, dropped, admittedExtra)
}

// samples turns a file into the events EventBridge would deliver: bare
// CloudTrail records and GuardDuty findings are wrapped in their envelope,
// envelopes are kept as they are.
func samples(t *testing.T, name string, raw []byte) []sample {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if dt, ok := top["detail-type"]; ok {
		var detailType string
		_ = json.Unmarshal(dt, &detailType)
		if !slices.Contains(knownDetailTypes, detailType) {
			// A test fixture with placeholder envelope fields ("...") shows
			// the shape only; EventBridge would deliver its detail in a
			// real envelope.
			return samples(t, name+" (placeholder envelope, re-wrapped)", top["detail"])
		}
		s := sample{name: name, envelope: raw}
		if detailType == DetailTypeGuardDuty {
			_, s.reported, _ = FromGuardDuty(top["detail"])
		} else {
			s.reported, s.dropped = judgeCloudTrail(top["detail"])
		}
		return []sample{s}
	}
	if recs, ok := top["Records"]; ok {
		var rs []json.RawMessage
		if err := json.Unmarshal(recs, &rs); err != nil {
			t.Fatalf("%s: Records: %v", name, err)
		}
		var out []sample
		for i, r := range rs {
			s := sample{name: name + "#" + strconv.Itoa(i), envelope: envelopeCloudTrail(t, r)}
			s.reported, s.dropped = judgeCloudTrail(r)
			out = append(out, s)
		}
		return out
	}
	if isGuardDutyFinding(top) {
		_, reported, _ := FromGuardDuty(raw)
		return []sample{{name: name, envelope: envelopeGuardDuty(t, raw), reported: reported}}
	}
	s := sample{name: name, envelope: envelopeCloudTrail(t, raw)}
	s.reported, s.dropped = judgeCloudTrail(raw)
	return []sample{s}
}

var knownDetailTypes = []string{DetailTypeAPICall, DetailTypeConsoleSignIn, DetailTypeConsoleAction,
	DetailTypeServiceEvent, DetailTypeGuardDuty, "AWS Insight via CloudTrail"}

func judgeCloudTrail(rec []byte) (reported, dropped bool) {
	_, reported, _ = FromCloudTrail(rec)
	var e Event
	_ = json.Unmarshal(rec, &e) // odd fields leave the rest decoded
	dropped = e.EventType == "AwsServiceEvent" || (e.UserIdentity.Type == "Root" && !rootPerson(&e))
	return reported, dropped
}

func isGuardDutyFinding(top map[string]json.RawMessage) bool {
	has := func(k string) bool {
		for key := range top {
			if strings.EqualFold(key, k) {
				return true
			}
		}
		return false
	}
	return has("service") && has("type") && has("severity") && !has("eventSource")
}

func envelopeCloudTrail(t *testing.T, rec []byte) []byte {
	t.Helper()
	b, err := CloudTrailEnvelope(rec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func envelopeGuardDuty(t *testing.T, finding []byte) []byte {
	t.Helper()
	b, err := GuardDutyEnvelope(finding)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEnvelopeHelpers(t *testing.T) {
	got := camelKeys(map[string]any{"AccountId": "1", "Service": map[string]any{"RemoteIpDetails": []any{map[string]any{"IpAddressV4": "x"}}}})
	b := mustMarshal(t, got)
	if string(b) != `{"accountId":"1","service":{"remoteIpDetails":[{"ipAddressV4":"x"}]}}` {
		t.Errorf("camelKeys = %s", b)
	}
	for et, want := range map[string]string{"AwsApiCall": DetailTypeAPICall, "": DetailTypeAPICall,
		"AwsConsoleSignIn": DetailTypeConsoleSignIn, "AwsConsoleAction": DetailTypeConsoleAction,
		"AwsServiceEvent": DetailTypeServiceEvent} {
		if got := detailTypeOf(et); got != want {
			t.Errorf("detailTypeOf(%q) = %q, want %q", et, got, want)
		}
	}
	if got := eventBridgeSource("account.amazonaws.com"); got != "aws.account" {
		t.Errorf("eventBridgeSource = %q", got)
	}
}

func TestEnvelopes(t *testing.T) {
	ct, err := CloudTrailEnvelope([]byte(`{"eventSource":"signin.amazonaws.com","eventType":"AwsConsoleSignIn","recipientAccountId":"123456789012","eventTime":"2026-10-08T01:00:00Z","awsRegion":"us-east-1"}`))
	if err != nil || !strings.Contains(string(ct), `"detail-type":"AWS Console Sign In via CloudTrail"`) || !strings.Contains(string(ct), `"source":"aws.signin"`) ||
		!strings.Contains(string(ct), `"account":"123456789012"`) {
		t.Errorf("CloudTrailEnvelope = %s, %v", ct, err)
	}
	gd, err := GuardDutyEnvelope([]byte(`{"AccountId":"123456789012","Region":"us-east-1","Type":"Policy:IAMUser/RootCredentialUsage","Severity":2}`))
	if err != nil || !strings.Contains(string(gd), `"detail":{"accountId":"123456789012","region":"us-east-1","severity":2,"type":"Policy:IAMUser/RootCredentialUsage"}`) {
		t.Errorf("GuardDutyEnvelope = %s, %v", gd, err)
	}
	for _, bad := range []string{`[1]`, `{"a":`} {
		if _, err := GuardDutyEnvelope([]byte(bad)); err == nil {
			t.Errorf("GuardDutyEnvelope(%s) accepted", bad)
		}
	}
	if _, err := CloudTrailEnvelope([]byte(`{`)); err == nil {
		t.Error("CloudTrailEnvelope accepted broken JSON")
	}
}
