package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rootguard/rootguard/internal/detect"
)

// TestDeployedPatternsCoverCorpus is the end-to-end guarantee of the
// templates: every sample event the engine reports matches a rule as the
// rendered template deploys it, in the member and management accounts and
// again on the Audit bus; GuardDuty findings also match the Audit
// account's default-bus rules. The patterns are read back from the
// template JSON, not from detect. Samples come from ../shared/corpus and
// the detect rule fixtures; events are wrapped in their EventBridge
// envelope as internal/detect/pattern_test.go does.
func TestDeployedPatternsCoverCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpus")
	corpus, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(corpus) == 0 && os.Getenv("CI") != "" {
		t.Fatalf("no sample events in %s", dir)
	}
	fixtures, _ := filepath.Glob(filepath.Join("..", "detect", "testdata", "rules", "*", "*.json"))
	gd, _ := filepath.Glob(filepath.Join("..", "detect", "testdata", "guardduty", "*.json"))
	files := slices.Concat(corpus, fixtures, gd)

	all := rendered(t)
	sets := map[string][]detect.Pattern{
		"member":               deployedPatterns(t, all[MemberTemplate], ""),
		"management":           deployedPatterns(t, all[ManagementTemplate], ""),
		"audit bus":            deployedPatterns(t, all[AuditTemplate], `{"Ref":"EventBus"}`),
		"audit default bus":    deployedPatterns(t, all[AuditTemplate], "null"),
		"audit-region default": deployedPatterns(t, all[AuditRegionTemplate], ""),
		"assumeroot":           deployedPatterns(t, all[AssumeRootTemplate], ""),
	}
	for name, ps := range sets {
		if len(ps) == 0 {
			t.Fatalf("%s: no rules found in the template", name)
		}
	}
	reported, guardDuty, assumeRoots := 0, 0, 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range samples(t, filepath.Base(f), raw) {
			if !s.reported {
				continue
			}
			reported++
			want := []string{"member", "management", "audit bus"}
			if s.guardDuty {
				guardDuty++
				want = append(want, "audit default bus", "audit-region default")
			}
			// The AssumeRoot stack admits AssumeRoot and nothing else.
			isAssumeRoot := strings.Contains(string(s.envelope), `"eventName":"AssumeRoot"`)
			if isAssumeRoot {
				assumeRoots++
				want = append(want, "assumeroot")
			} else if anyMatches(t, sets["assumeroot"], s.envelope) {
				t.Errorf("%s: the AssumeRoot rule matches an event that is not AssumeRoot", s.name)
			}
			for _, set := range want {
				if !anyMatches(t, sets[set], s.envelope) {
					t.Errorf("%s: the engine reports it, but no %s rule matches:\n%s", s.name, set, s.envelope)
				}
			}
		}
	}
	if reported == 0 || guardDuty == 0 || assumeRoots == 0 {
		t.Fatalf("vacuous: %d reported events, %d GuardDuty findings, %d AssumeRoot calls in %d files", reported, guardDuty, assumeRoots, len(files))
	}
	t.Logf("%d files: %d reported events (%d GuardDuty findings) all match the deployed rules", len(files), reported, guardDuty)
}

func anyMatches(t *testing.T, ps []detect.Pattern, event []byte) bool {
	t.Helper()
	for _, p := range ps {
		ok, err := detect.MatchPattern(p, event)
		if err != nil {
			t.Fatalf("MatchPattern: %v", err)
		}
		if ok {
			return true
		}
	}
	return false
}

type sample struct {
	name      string
	envelope  []byte
	reported  bool
	guardDuty bool
}

var knownDetailTypes = []string{detect.DetailTypeAPICall, detect.DetailTypeConsoleSignIn, detect.DetailTypeConsoleAction,
	detect.DetailTypeServiceEvent, detect.DetailTypeGuardDuty, "AWS Insight via CloudTrail"}

// samples turns a file into the events EventBridge would deliver: bare
// CloudTrail records and GuardDuty findings are wrapped in their
// envelope; envelopes are kept (a fixture's placeholder envelope is
// rebuilt around its detail).
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
			return samples(t, name+" (placeholder envelope, re-wrapped)", top["detail"])
		}
		s := sample{name: name, envelope: raw}
		if detailType == detect.DetailTypeGuardDuty {
			_, s.reported, _ = detect.FromGuardDuty(top["detail"])
			s.guardDuty = true
		} else {
			_, s.reported, _ = detect.FromCloudTrail(top["detail"])
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
			_, s.reported, _ = detect.FromCloudTrail(r)
			out = append(out, s)
		}
		return out
	}
	if isGuardDutyFinding(top) {
		_, reported, _ := detect.FromGuardDuty(raw)
		return []sample{{name: name, envelope: envelopeGuardDuty(t, raw), reported: reported, guardDuty: true}}
	}
	s := sample{name: name, envelope: envelopeCloudTrail(t, raw)}
	_, s.reported, _ = detect.FromCloudTrail(raw)
	return []sample{s}
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
	b, err := detect.CloudTrailEnvelope(rec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func envelopeGuardDuty(t *testing.T, finding []byte) []byte {
	t.Helper()
	b, err := detect.GuardDutyEnvelope(finding)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
