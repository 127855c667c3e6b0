package rootsession

import (
	"strings"
	"testing"

	"github.com/rootguard/rootguard/internal/awsdocs"
	"github.com/rootguard/rootguard/internal/detect"
)

// TestTasksAreTheDocuments: the tasks are the root-task policies AWS
// publishes (internal/awsdocs/testdata/roottask), by name and in order.
func TestTasksAreTheDocuments(t *testing.T) {
	docs, err := awsdocs.RootTaskPolicies()
	if err != nil {
		t.Fatal(err)
	}
	tasks := Tasks()
	if len(docs) != len(tasks) {
		t.Fatalf("%d tasks, %d documents", len(tasks), len(docs))
	}
	for i, d := range docs {
		if string(tasks[i]) != d.Name {
			t.Errorf("task %d = %s, document %s", i, tasks[i], d.Name)
		}
	}
}

// TestCallsWithinTaskPolicies: every call rootguard makes in a session is
// one its AWS managed root-task policy allows (as detect lists them from
// arn:aws:iam::aws:policy/root-task/ from AWS's documents), so RG.SCP.1
// judges real calls and a run never makes a call its session is denied.
func TestCallsWithinTaskPolicies(t *testing.T) {
	for _, task := range Tasks() {
		calls := task.Calls()
		if len(calls) == 0 {
			t.Errorf("%s: no calls", task)
		}
		for _, c := range calls {
			svc, op, _ := strings.Cut(c.Action, ":")
			if svc != c.Service {
				t.Errorf("%s: %s has service %q", task, c.Action, c.Service)
			}
			event := op
			if c.Action == "s3:ListAllMyBuckets" {
				event = "ListBuckets" // the CloudTrail name of the call
			}
			if !detect.AllowedByTaskPolicy(string(task), svc+".amazonaws.com", event) {
				t.Errorf("%s: %s is not allowed by the task policy", task, c.Action)
			}
		}
	}
}

func TestRequest(t *testing.T) {
	r := Request("222222222222", "o-exampleorg1", "eu-west-1", Call{Action: "iam:GetUser", Service: "iam", OnRoot: true})
	want := map[string]string{"aws:PrincipalArn": "arn:aws:iam::222222222222:root", "aws:AssumedRoot": "true",
		"aws:RequestedRegion": "us-east-1", "aws:PrincipalOrgID": "o-exampleorg1", "aws:PrincipalAccount": "222222222222"}
	for k, v := range want {
		if got := r.Context[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %v, want %s", k, got, v)
		}
	}
	if r.Resource != "arn:aws:iam::222222222222:root" {
		t.Errorf("resource = %q", r.Resource)
	}
	s3 := Request("222222222222", "", "eu-west-1", Call{Action: "s3:PutBucketPolicy", Service: "s3"})
	if s3.Context["aws:RequestedRegion"][0] != "eu-west-1" || s3.Resource != "" || s3.Context["aws:PrincipalOrgID"] != nil {
		t.Errorf("s3 request = %+v", s3)
	}
}
