package detect

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"

	"github.com/rootguard/rootguard/internal/awsdocs"
)

// taskPolicies lists, for each AWS managed root-task policy, the actions
// a session may take, read from the documents AWS publishes
// (internal/awsdocs): each policy is a Deny of every action but its
// NotAction list, on any resource. (Its other statements narrow the
// resources, which CloudTrail events do not always name; detect judges the
// action.)
var taskPolicies = sync.OnceValue(func() map[string][]string {
	docs, err := awsdocs.RootTaskPolicies()
	if err != nil {
		panic(err) // embedded and checked by the tests
	}
	out := map[string][]string{}
	for _, d := range docs {
		out[d.Name] = allowedActions(d.Document)
	}
	return out
})

// allowedActions reads a root-task policy document: the NotAction list of
// its unconditional Deny on every resource.
func allowedActions(doc []byte) []string {
	var p struct {
		Statement []struct {
			Effect    string
			NotAction []string
			Resource  any
			Condition map[string]any
		}
	}
	if err := json.Unmarshal(doc, &p); err != nil {
		return nil
	}
	for _, st := range p.Statement {
		if st.Effect == "Deny" && len(st.NotAction) > 0 && st.Resource == "*" && len(st.Condition) == 0 {
			return st.NotAction
		}
	}
	return nil
}

// TaskPolicies returns the names of the root-task policies.
func TaskPolicies() []string {
	names := make([]string, 0, len(taskPolicies()))
	for n := range taskPolicies() {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// TaskPolicyName returns the short name of a root-task policy ARN
// (arn:aws:iam::aws:policy/root-task/NAME), or the input if it is not one.
func TaskPolicyName(arn string) string {
	if i := strings.LastIndex(arn, "/root-task/"); i >= 0 {
		return arn[i+len("/root-task/"):]
	}
	return arn
}

// cloudTrailAction maps a CloudTrail event to the IAM action it authorises.
// Most events share their API's name; the exceptions are listed.
func cloudTrailAction(source, name string) string {
	svc := strings.TrimSuffix(source, ".amazonaws.com")
	switch svc + ":" + name {
	case "s3:ListBuckets":
		return "s3:ListAllMyBuckets"
	}
	return svc + ":" + name
}

// AllowedByTaskPolicy reports whether the task policy allows the action an
// event records. An unknown task policy allows nothing.
func AllowedByTaskPolicy(policy, eventSource, eventName string) bool {
	action := cloudTrailAction(eventSource, eventName)
	for _, a := range taskPolicies()[policy] {
		if strings.EqualFold(a, action) {
			return true
		}
	}
	return false
}
