package deploy

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/rootguard/rootguard/internal/awssim"
)

func TestRemovals(t *testing.T) {
	inst := func(account, region, ou string) cfntypes.StackInstanceSummary {
		return cfntypes.StackInstanceSummary{Account: aws.String(account), Region: aws.String(region), OrganizationalUnitId: aws.String(ou)}
	}
	// Two OUs (a: accounts 1 and 2, b: account 3) in two regions.
	have := []cfntypes.StackInstanceSummary{
		inst("1", "r1", "a"), inst("1", "r2", "a"), inst("2", "r1", "a"), inst("2", "r2", "a"),
		inst("3", "r1", "b"), inst("3", "r2", "b"),
	}
	tests := []struct {
		name         string
		targetOUs    []string
		have         []cfntypes.StackInstanceSummary
		ous, regions []string
		want         []batch
		gone         []string
	}{
		{name: "nothing dropped", targetOUs: []string{"a", "b"}, have: have, ous: []string{"a", "b"}, regions: []string{"r1", "r2"}},
		{name: "more wanted", targetOUs: []string{"a", "b"}, have: have, ous: []string{"a", "b", "c"}, regions: []string{"r1", "r2", "r3"}},
		{name: "OU dropped", targetOUs: []string{"a", "b"}, have: have, ous: []string{"a"}, regions: []string{"r1", "r2"},
			want: []batch{{[]string{"b"}, []string{"r1", "r2"}}}, gone: []string{"3/r1", "3/r2"}},
		{name: "region dropped", targetOUs: []string{"a", "b"}, have: have, ous: []string{"a", "b"}, regions: []string{"r1"},
			want: []batch{{[]string{"a", "b"}, []string{"r2"}}}, gone: []string{"1/r2", "2/r2", "3/r2"}},
		{name: "OU and region dropped", targetOUs: []string{"a", "b"}, have: have, ous: []string{"a"}, regions: []string{"r1"},
			want: []batch{{[]string{"b"}, []string{"r1", "r2"}}, {[]string{"a"}, []string{"r2"}}}, gone: []string{"1/r2", "2/r2", "3/r1", "3/r2"}},
		{name: "every OU replaced", targetOUs: []string{"a", "b"}, have: have, ous: []string{"c"}, regions: []string{"r1", "r2"},
			want: []batch{{[]string{"a", "b"}, []string{"r1", "r2"}}}, gone: []string{"1/r1", "1/r2", "2/r1", "2/r2", "3/r1", "3/r2"}},
		{name: "empty OU dropped", targetOUs: []string{"a", "b", "empty"}, have: have, ous: []string{"a", "b"}, regions: []string{"r1", "r2"},
			want: []batch{{[]string{"empty"}, []string{"r1", "r2"}}}},
		{name: "instance outside the targets", targetOUs: []string{"a"}, have: have[:4], ous: []string{"a"}, regions: []string{"r1"},
			want: []batch{{[]string{"a"}, []string{"r2"}}}, gone: []string{"1/r2", "2/r2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bs, gone := removals(tt.targetOUs, []string{"r1", "r2"}, tt.have, tt.ous, tt.regions)
			if !slices.EqualFunc(bs, tt.want, func(a, b batch) bool { return slices.Equal(a.ous, b.ous) && slices.Equal(a.regions, b.regions) }) {
				t.Errorf("batches = %v, want %v", bs, tt.want)
			}
			var got []string
			for _, in := range gone {
				got = append(got, aws.ToString(in.Account)+"/"+aws.ToString(in.Region))
			}
			if !slices.Equal(got, tt.gone) {
				t.Errorf("removed = %q, want %q", got, tt.gone)
			}
		})
	}
}

// stackSetStep returns the StackSet's step.
func stackSetStep(t *testing.T, steps []Step) Step {
	t.Helper()
	for _, s := range steps {
		if s.Kind == "stackset" {
			return s
		}
	}
	t.Fatalf("no stack set step: %+v", steps)
	return Step{}
}

// calls returns how often each StackSet instance call was made since
// before.
func calls(srv *awssim.Server, before map[string]int64) (created, deleted int64) {
	now := srv.Counts()
	return now["cloudformation:CreateStackInstances"] - before["cloudformation:CreateStackInstances"],
		now["cloudformation:DeleteStackInstances"] - before["cloudformation:DeleteStackInstances"]
}

func TestApplyConvergesStackInstances(t *testing.T) {
	c := testConfig()
	c.Regions = []string{"eu-west-1", "ap-northeast-1"}
	d, srv, progress, _ := simDeployer(t, c)
	ctx := t.Context()
	if _, err := d.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	// Workloads (Prod, EU) and Security: 3 accounts x 3 regions.
	all := srv.StackSetInstances(mgmtAccount, "eu-west-1", StackSetName)
	if len(all) != 9 {
		t.Fatalf("instances: %q", all)
	}
	inRegion := func(r string) func(string) bool { return func(s string) bool { return strings.HasSuffix(s, "/"+r) } }
	ofAccount := func(a string) func(string) bool { return func(s string) bool { return strings.HasPrefix(s, a+"/") } }

	// A region dropped: plan lists the instances there, and changes nothing.
	d.Config.Regions = []string{"eu-west-1"}
	before := srv.Counts()
	steps, err := d.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ss := stackSetStep(t, steps)
	want := []string{
		"Remove instances in OUs ou-ex12-workload,ou-ex12-security, regions ap-northeast-1",
		"Remove account 222222222222 region ap-northeast-1 (OU ou-ex12-security, CURRENT)",
		"Remove account 333333333333 region ap-northeast-1 (OU ou-ex12-workload, CURRENT)",
		"Remove account 444444444444 region ap-northeast-1 (OU ou-ex12-workload, CURRENT)",
	}
	if ss.Action != Update || !slices.Equal(ss.Changes, want) {
		t.Fatalf("plan: %s\n%q\nwant\n%q", ss.Action, ss.Changes, want)
	}
	if _, deleted := calls(srv, before); deleted != 0 || len(srv.StackSetInstances(mgmtAccount, "eu-west-1", StackSetName)) != 9 {
		t.Fatalf("plan deleted instances")
	}
	// Apply deletes exactly those.
	steps, err = d.Apply(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ss := stackSetStep(t, steps); !ss.Applied || ss.Removed != 3 || ss.Instances != 0 || len(ss.Failures) != 0 {
		t.Errorf("apply: %+v", ss)
	}
	if got := srv.StackSetInstances(mgmtAccount, "eu-west-1", StackSetName); !slices.Equal(got, slices.DeleteFunc(slices.Clone(all), inRegion("ap-northeast-1"))) {
		t.Errorf("instances after dropping ap-northeast-1: %q", got)
	}
	if !strings.Contains(progress.String(), "rootguard-member delete instances") {
		t.Errorf("no progress for the deletion:\n%s", progress)
	}
	// Again: unchanged.
	before = srv.Counts()
	steps, err = d.Apply(ctx)
	if err != nil || stackSetStep(t, steps).Action != Unchanged {
		t.Fatalf("second apply: %+v %v", stackSetStep(t, steps), err)
	}
	if created, deleted := calls(srv, before); created+deleted != 0 {
		t.Errorf("second apply: %d creations, %d deletions", created, deleted)
	}

	// An OU dropped, with --keep-removed: listed as kept, nothing deleted.
	d.Config.OUs = []string{"ou-ex12-workload"}
	d.KeepRemoved = true
	before = srv.Counts()
	steps, err = d.Apply(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ss = stackSetStep(t, steps)
	want = []string{
		"Keep account 222222222222 region eu-west-1 (OU ou-ex12-security, CURRENT): outside the OUs and regions given",
		"Keep account 222222222222 region us-east-1 (OU ou-ex12-security, CURRENT): outside the OUs and regions given",
	}
	if ss.Action != Unchanged || ss.Pending() || !slices.Equal(ss.Changes, want) {
		t.Errorf("keep-removed: %s %q", ss.Action, ss.Changes)
	}
	if _, deleted := calls(srv, before); deleted != 0 || len(srv.StackSetInstances(mgmtAccount, "eu-west-1", StackSetName)) != 6 {
		t.Errorf("keep-removed deleted instances")
	}
	// Without it: the OU's instances go, and only they.
	d.KeepRemoved = false
	steps, err = d.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ss := stackSetStep(t, steps); ss.Action != Update || len(ss.Changes) != 3 ||
		ss.Changes[0] != "Remove instances in OUs ou-ex12-security, regions us-east-1,eu-west-1" {
		t.Errorf("plan without the Security OU: %s %q", ss.Action, ss.Changes)
	}
	steps, err = d.Apply(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ss := stackSetStep(t, steps); ss.Removed != 2 {
		t.Errorf("apply without the Security OU: %+v", ss)
	}
	left := slices.DeleteFunc(slices.DeleteFunc(slices.Clone(all), inRegion("ap-northeast-1")), ofAccount(auditAccount))
	if got := srv.StackSetInstances(mgmtAccount, "eu-west-1", StackSetName); !slices.Equal(got, left) {
		t.Errorf("instances after dropping the Security OU: %q, want %q", got, left)
	}
	before = srv.Counts()
	if steps, err = d.Apply(ctx); err != nil || stackSetStep(t, steps).Action != Unchanged {
		t.Fatalf("apply again: %+v %v", stackSetStep(t, steps), err)
	}
	if created, deleted := calls(srv, before); created+deleted != 0 {
		t.Errorf("apply again: %d creations, %d deletions", created, deleted)
	}

	// A deletion that fails in one account and region is named there; the
	// instance stays and the next apply removes it.
	d.Config.Regions = []string{"eu-west-1", "ap-northeast-1"}
	if _, err := d.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	srv.FailStackInstances(euAccount, "ap-northeast-1", "Resource handler returned message: \"Role is in use\"")
	d.Config.Regions = []string{"eu-west-1"}
	steps, err = d.Apply(ctx)
	if err == nil || !strings.Contains(err.Error(), "1 of 5 steps failed") {
		t.Fatalf("apply with a failing deletion: %v", err)
	}
	ss = stackSetStep(t, steps)
	if ss.Removed != 1 || len(ss.Failures) != 1 || ss.Error != "1 stack instances failed" {
		t.Fatalf("failing deletion: %+v", ss)
	}
	if f := ss.Failures[0]; f.Account != euAccount || f.Region != "ap-northeast-1" || f.OU != "ou-ex12-workload" ||
		f.Operation != "delete instances" || f.Status != "FAILED" || !strings.Contains(f.Reason, "Role is in use") {
		t.Errorf("failure: %+v", f)
	}
	srv.FailStackInstances(euAccount, "ap-northeast-1", "")
	steps, err = d.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ss := stackSetStep(t, steps); !slices.Contains(ss.Changes, "Remove account 444444444444 region ap-northeast-1 (OU ou-ex12-workload, OUTDATED FAILED)") {
		t.Errorf("plan after the failure: %q", ss.Changes)
	}
	if _, err := d.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	if got := srv.StackSetInstances(mgmtAccount, "eu-west-1", StackSetName); !slices.Equal(got, left) {
		t.Errorf("instances after the retry: %q, want %q", got, left)
	}
}

func TestApplyAsDelegatedAdmin(t *testing.T) {
	register := func(sc *awssim.Scenario) {
		sc.Organization.DelegatedAdministrators = append(sc.Organization.DelegatedAdministrators,
			awssim.DelegatedAdministrator{Account: auditAccount, ServicePrincipal: "member.org.stacksets.cloudformation.amazonaws.com"})
	}
	d, srv, _, role := simDeployer(t, testConfig(), register)
	ctx := t.Context()
	d.CallAs = cfntypes.CallAsDelegatedAdmin

	// From an account that is not registered: refused, and named.
	d.StackSets = role(prodAccount)
	steps, err := d.Apply(ctx)
	ss := stackSetStep(t, steps)
	if err == nil || ss.Action != Failed || ss.Account != "delegated-admin" || !strings.Contains(ss.Error, "Account used is not a delegated administrator") {
		t.Fatalf("DELEGATED_ADMIN from %s: %v %+v", prodAccount, err, ss)
	}
	// From the registered one: the management account's StackSet.
	d.StackSets = role(auditAccount)
	steps, err = d.Apply(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ss := stackSetStep(t, steps); ss.Action != Create || !ss.Applied || ss.Instances != 6 {
		t.Errorf("DELEGATED_ADMIN from %s: %+v", auditAccount, ss)
	}
	if got := srv.StackSetInstances(mgmtAccount, "eu-west-1", StackSetName); len(got) != 6 {
		t.Errorf("instances: %q", got)
	}
	if _, ok := srv.StackTemplate(mgmtAccount, "eu-west-1", ManagementStackName); !ok {
		t.Errorf("the management stack is not in the management account")
	}
	// Dropping an OU works the same way.
	d.Config.OUs = []string{"ou-ex12-workload"}
	steps, err = d.Apply(ctx)
	if err != nil || stackSetStep(t, steps).Removed != 2 {
		t.Fatalf("removal as DELEGATED_ADMIN: %v %+v", err, stackSetStep(t, steps))
	}
	if steps, err = d.Apply(ctx); err != nil || stackSetStep(t, steps).Action != Unchanged {
		t.Errorf("again: %v %+v", err, stackSetStep(t, steps))
	}
	d.CallAs = "ADMIN"
	if _, err := d.Plan(ctx); err == nil || !strings.Contains(err.Error(), `CallAs "ADMIN"`) {
		t.Errorf("bad CallAs: %v", err)
	}
}

// TestRemovalWaitsForReplacement: an OU replaced by another is removed
// only after the new OU's instances stand; when one of them fails, every
// old instance stays, no deletion is sent, and the step says why.
func TestRemovalWaitsForReplacement(t *testing.T) {
	c := testConfig()
	c.OUs = []string{"ou-ex12-security"}
	d, srv, _, _ := simDeployer(t, c)
	ctx := t.Context()
	if _, err := d.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	old := srv.StackSetInstances(mgmtAccount, "eu-west-1", StackSetName)
	const sandboxAccount = "555555555555"
	srv.FailStackInstances(sandboxAccount, "", "Resource handler returned message: \"Access denied\"")
	d.Config.OUs = []string{"ou-ex12-sandbox1"}
	before := srv.Counts()
	steps, err := d.Apply(ctx)
	ss := stackSetStep(t, steps)
	if err == nil || ss.Removed != 0 || len(ss.Failures) == 0 || !strings.Contains(ss.Error, "were kept") {
		t.Fatalf("failed replacement: %v %+v", err, ss)
	}
	if created, deleted := calls(srv, before); created == 0 || deleted != 0 {
		t.Errorf("%d creations, %d deletions; want the addition tried and no deletion", created, deleted)
	}
	for _, in := range old {
		if !slices.Contains(srv.StackSetInstances(mgmtAccount, "eu-west-1", StackSetName), in) {
			t.Errorf("instance %s removed before its replacement stood", in)
		}
	}
	// Once the addition succeeds, the old OU goes.
	srv.FailStackInstances(sandboxAccount, "", "")
	steps, err = d.Apply(ctx)
	if ss := stackSetStep(t, steps); err != nil || ss.Removed != len(old) {
		t.Fatalf("replacement: %v %+v", err, ss)
	}
	for _, in := range srv.StackSetInstances(mgmtAccount, "eu-west-1", StackSetName) {
		if slices.Contains(old, in) {
			t.Errorf("old instance %s left", in)
		}
	}
}
