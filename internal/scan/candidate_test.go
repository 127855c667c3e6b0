package scan

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rootguard/rootguard/internal/detect"
	"github.com/rootguard/rootguard/internal/trail"
)

// TestCandidateHidesNothing: the pre-filter that throws records away on
// their Head alone keeps every record a rule reports, however the record
// spells the five members it reads, and throws away the bulk of a trail.
func TestCandidateHidesNothing(t *testing.T) {
	const rest = `"eventTime":"2026-10-08T01:00:00Z","awsRegion":"us-east-1","recipientAccountId":"111111111111"`
	rec := func(id, body string) string {
		return `{"eventVersion":"1.10","eventID":"` + id + `",` + rest + `,` + body + `}`
	}
	found := []string{
		rec("plain", `"userIdentity":{"type":"Root"},"eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventType":"AwsApiCall"`),
		// encoding/json matches keys in any case: so must the pre-filter.
		rec("folded-keys", `"USERIDENTITY":{"TYPE":"Root","InvokedBy":"signin.amazonaws.com"},"EventSource":"s3.amazonaws.com","EVENTNAME":"ListBuckets"`),
		// A Root spelled with an escape, or a key with one.
		rec("escaped-value", `"userIdentity":{"type":"R\u006fot"},"eventSource":"s3.amazonaws.com","eventName":"ListBuckets"`),
		rec("escaped-key", `"userIdentity":{"\u0074ype":"Root"},"eventSource":"s3.amazonaws.com","eventName":"ListBuckets"`),
		// The last of two values is the one decoded; two userIdentity objects merge.
		rec("second-event-type", `"userIdentity":{"type":"Root"},"eventType":"AwsServiceEvent","eventType":"AwsApiCall","eventSource":"s3.amazonaws.com","eventName":"ListBuckets"`),
		rec("merged-identity", `"userIdentity":{"type":"Root","invokedBy":"lambda.amazonaws.com"},"userIdentity":{"invokedBy":""},"eventSource":"s3.amazonaws.com","eventName":"ListBuckets"`),
		// A non-string invokedBy is a type error: the field stays empty, a person.
		rec("invoked-by-number", `"userIdentity":{"type":"Root","invokedBy":7},"eventSource":"s3.amazonaws.com","eventName":"ListBuckets"`),
		// Rules that match any identity, with no "Root" anywhere in the record.
		rec("email-by-role", `"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111111111111:assumed-role/Admin/alice"},"eventSource":"account.amazonaws.com","eventName":"AcceptPrimaryEmailUpdate","eventType":"AwsApiCall"`),
		rec("assume-root", `"userIdentity":{"type":"AssumedRole"},"eventSource":"sts.amazonaws.com","eventName":"AssumeRoot","eventType":"AwsApiCall"`),
	}
	dropped := []string{
		rec("service-as-root", `"userIdentity":{"type":"Root","invokedBy":"lambda.amazonaws.com"},"eventSource":"s3.amazonaws.com","eventName":"PutObject","eventType":"AwsApiCall"`),
		rec("service-event", `"userIdentity":{"type":"Root"},"eventSource":"s3.amazonaws.com","eventName":"PutObject","eventType":"AwsServiceEvent"`),
		rec("role", `"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111111111111:assumed-role/Root/x"},"eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventType":"AwsApiCall"`),
	}
	dir := t.TempDir()
	writeFile(t, dir, "trail.json", `{"Records":[`+strings.Join(append(append([]string{}, found...), dropped...), ",")+`]}`)
	writeFile(t, dir, "lines.jsonl", strings.Join(found, "\n")+"\n"+strings.Join(dropped, "\n")+"\n")
	res, err := Run(t.Context(), []string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, f := range res.Findings {
		got[f.EventID]++
	}
	for _, r := range found {
		id := strings.SplitN(strings.SplitN(r, `"eventID":"`, 2)[1], `"`, 2)[0]
		if got[id] != 1 {
			t.Errorf("%s: reported %d times, want 1 (both copies are identical)", id, got[id])
		}
		delete(got, id)
	}
	if len(got) != 0 {
		t.Errorf("reported beyond the root activity: %v", got)
	}

	// The bulk is thrown away before the full decode.
	d := trail.NewDecoder(trail.Options{Candidate: candidate})
	f, err := os.Open(filepath.Join(dir, "trail.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := d.Decode(t.Context(), f, func(trail.Record) error { return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if st := d.Stats(); st.Rejected != len(dropped) {
		t.Errorf("pre-filter rejected %d records, want the %d that are not root activity", st.Rejected, len(dropped))
	}
}

// FuzzCandidate: no record that detection reports is thrown away by the
// pre-filter, however it is written.
func FuzzCandidate(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "detect", "testdata", "rules", "*", "*.json"))
	sort.Strings(files)
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		`{"USERIDENTITY":{"TYPE":"Root","invokedby":"console.amazonaws.com"},"eventName":"x"}`,
		`{"userIdentity":{"type":"R\u006fot"},"eventType":"AwsServiceEvent","eventType":null}`,
		`{"userIdentity":{"type":"AssumedRole"},"eventSource":"account.amazonaws.com","eventName":"AcceptPrimaryEmailUpdate"}`,
		`{"userIdentity":{"type":"Root","invokedBy":false},"userIdentity":null,"eventName":7}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, ok, _ := detect.FromCloudTrail(b)
		h := trail.HeadOf(b)
		if ok && !candidate(&h) {
			t.Fatalf("reported record thrown away by the pre-filter: head %+v", h)
		}
	})
}
