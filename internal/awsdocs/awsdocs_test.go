package awsdocs

import (
	"encoding/json"
	"testing"
)

// TestRootTaskPolicies checks the files are the five documents, each a
// v1 policy whose first statement denies everything but its task.
func TestRootTaskPolicies(t *testing.T) {
	ps, err := RootTaskPolicies()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"IAMAuditRootUserCredentials", "IAMCreateRootUserPassword", "IAMDeleteRootUserCredentials", "S3UnlockBucketPolicy", "SQSUnlockQueuePolicy"}
	if len(ps) != len(want) {
		t.Fatalf("%d policies, want %d", len(ps), len(want))
	}
	for i, p := range ps {
		if p.Name != want[i] || p.VersionID != "v1" || p.CreateDate[:10] != "2024-11-06" {
			t.Errorf("policy %d = %s %s %s", i, p.Name, p.VersionID, p.CreateDate)
		}
		var doc struct {
			Version   string
			Statement []struct {
				Effect    string
				NotAction []string
				Resource  any
			}
		}
		if err := json.Unmarshal(p.Document, &doc); err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		if doc.Version != "2012-10-17" || len(doc.Statement) < 2 {
			t.Fatalf("%s: %+v", p.Name, doc)
		}
		for _, st := range doc.Statement {
			if st.Effect != "Deny" {
				t.Errorf("%s: a statement with effect %s: the root-task policies only deny", p.Name, st.Effect)
			}
		}
		if first := doc.Statement[0]; len(first.NotAction) == 0 || first.Resource != "*" {
			t.Errorf("%s: the first statement is not a Deny of NotAction on every resource: %+v", p.Name, first)
		}
	}
}
