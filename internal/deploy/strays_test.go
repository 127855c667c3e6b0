package deploy

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/rootguard/rootguard/internal/awssim"
)

// plantStack creates a stack of one queue through the SDK client, as
// someone other than rootguard would.
func plantStack(t *testing.T, api API, name string) {
	t.Helper()
	ctx := t.Context()
	out, err := api.CreateChangeSet(ctx, &cfn.CreateChangeSetInput{StackName: aws.String(name), ChangeSetName: aws.String("planted"),
		ChangeSetType: cfntypes.ChangeSetTypeCreate, TemplateBody: aws.String(`{"Resources":{"Queue":{"Type":"AWS::SQS::Queue","Properties":{}}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = api.DescribeChangeSet(ctx, &cfn.DescribeChangeSetInput{ChangeSetName: out.Id})
	if _, err := api.ExecuteChangeSet(ctx, &cfn.ExecuteChangeSetInput{ChangeSetName: out.Id}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, _ = api.DescribeStacks(ctx, &cfn.DescribeStacksInput{StackName: aws.String(name)})
	}
}

// deletes returns the plan's Delete steps as name@region(account).
func deletes(steps []Step) []string {
	var out []string
	for _, s := range steps {
		if s.Action == Delete {
			out = append(out, s.Name+"@"+s.Region+"("+s.Account+")")
		}
	}
	return out
}

// allStacks returns every stack of the accounts in the regions as
// account/region/name.
func allStacks(srv *awssim.Server, accounts, regions []string) []string {
	var out []string
	for _, a := range accounts {
		for _, r := range regions {
			for _, name := range srv.Stacks(a, r) {
				out = append(out, a+"/"+r+"/"+name)
			}
		}
	}
	return out
}

// TestApplyDeletesStacksWhereNoneBelongs: the governed Regions shrink, then
// grow; plan lists rootguard's stacks left in Regions where none belongs
// (and changes nothing), apply deletes exactly those, after the
// replacements stand, and a second plan is clean. Stacks of other names,
// and rootguard's names in accounts deploy does not manage, are left alone.
func TestApplyDeletesStacksWhereNoneBelongs(t *testing.T) {
	c := testConfig()
	c.Regions = []string{"eu-west-1", "ap-northeast-1"}
	enabled := []string{"us-east-1", "eu-west-1", "ap-northeast-1", "us-west-2"}
	c.EnabledRegions, c.AuditRegions = enabled, enabled
	c.IAMAdminAccountID, c.IAMAdminRegions = auditAccount, enabled
	d, srv, progress, role := simDeployer(t, c)
	d.IAMAdmin = role(auditAccount)
	ctx := t.Context()
	if _, err := d.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	// A stack of another name where rootguard's go, and one of
	// rootguard's names in a member account: neither is deploy's.
	plantStack(t, d.Management("ap-northeast-1"), "rootguard-management-notes")
	plantStack(t, role(prodAccount)("ap-northeast-1"), ManagementStackName)
	accounts := []string{mgmtAccount, auditAccount, prodAccount}
	before := allStacks(srv, accounts, enabled)
	for _, want := range []string{
		mgmtAccount + "/ap-northeast-1/" + ManagementStackName, auditAccount + "/ap-northeast-1/" + AuditRegionStackName,
		mgmtAccount + "/us-west-2/" + AssumeRootStackName, auditAccount + "/us-west-2/" + AssumeRootStackName,
	} {
		if !slices.Contains(before, want) {
			t.Fatalf("first apply: no %s in %q", want, before)
		}
	}

	// ap-northeast-1 leaves the governed Regions (still enabled): its
	// Audit regional and management stacks go, an AssumeRoot stack
	// replaces the latter (and the StackSet's instances there go).
	d.Config.Regions = []string{"eu-west-1"}
	counts := srv.Counts()
	steps, err := d.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{AuditRegionStackName + "@ap-northeast-1(audit)", ManagementStackName + "@ap-northeast-1(management)"}
	if got := deletes(steps); !slices.Equal(got, want) {
		t.Fatalf("plan deletes %q, want %q", got, want)
	}
	if !slices.Contains(summary(steps), AssumeRootStackName+"@ap-northeast-1:create") {
		t.Errorf("plan does not create the AssumeRoot stack in ap-northeast-1: %q", summary(steps))
	}
	// The deletions come last, after the StackSet, each saying why.
	last := steps[len(steps)-2:]
	if stackSetStep(t, steps[:len(steps)-2]).Kind != "stackset" || last[1].Account != "management" ||
		!slices.Equal(last[1].Changes, []string{"Delete stack (CREATE_COMPLETE) and its resources: ap-northeast-1 is not governed (us-east-1, eu-west-1): rootguard-assumeroot takes its place there"}) ||
		!slices.Equal(last[0].Changes, []string{"Delete stack (CREATE_COMPLETE) and its resources: ap-northeast-1 is not governed (us-east-1, eu-west-1)"}) {
		t.Errorf("delete steps: %+v", last)
	}
	if n := srv.Counts()["cloudformation:DeleteStack"] - counts["cloudformation:DeleteStack"]; n != 0 || !slices.Equal(allStacks(srv, accounts, enabled), before) {
		t.Fatalf("plan deleted stacks (%d DeleteStack)", n)
	}

	// --keep-removed: listed as kept, left alone.
	d.KeepRemoved = true
	steps, err = d.Apply(ctx)
	if err != nil || len(deletes(steps)) != 0 || !slices.Equal(steps[len(steps)-1].Changes, []string{
		"Keep stack (CREATE_COMPLETE): ap-northeast-1 is not governed (us-east-1, eu-west-1): rootguard-assumeroot takes its place there; kept (--keep-removed)"}) ||
		steps[len(steps)-1].Action != Unchanged || srv.Counts()["cloudformation:DeleteStack"] != counts["cloudformation:DeleteStack"] {
		t.Fatalf("apply with KeepRemoved: %v %+v", err, steps[len(steps)-1])
	}
	d.KeepRemoved = false

	steps, err = d.Apply(ctx)
	if err != nil {
		t.Fatalf("apply: %v\n%+v", err, steps)
	}
	for _, s := range steps {
		if s.Action == Delete && (!s.Applied || s.Error != "") {
			t.Errorf("delete step: %+v", s)
		}
	}
	if got := deletes(steps); !slices.Equal(got, want) {
		t.Errorf("apply deleted %q, want %q", got, want)
	}
	after := allStacks(srv, accounts, enabled)
	var gone, added []string
	for _, s := range before {
		if !slices.Contains(after, s) {
			gone = append(gone, s)
		}
	}
	for _, s := range after {
		if !slices.Contains(before, s) {
			added = append(added, s)
		}
	}
	if w := []string{mgmtAccount + "/ap-northeast-1/" + ManagementStackName, auditAccount + "/ap-northeast-1/" + AuditRegionStackName}; !slices.Equal(gone, w) {
		t.Errorf("deleted %q, want %q", gone, w)
	}
	// The IAM delegated administrator (the Audit account here) gets one
	// too: the StackSet no longer covers it there.
	if w := []string{mgmtAccount + "/ap-northeast-1/" + AssumeRootStackName, auditAccount + "/ap-northeast-1/" + AssumeRootStackName}; !slices.Equal(added, w) {
		t.Errorf("created %q, want %q", added, w)
	}
	if !strings.Contains(progress.String(), ManagementStackName+" ap-northeast-1 (management): DELETE_IN_PROGRESS") {
		t.Errorf("no progress of the deletion:\n%s", progress)
	}

	// Again: nothing to delete, nothing to do.
	counts = srv.Counts()
	steps, err = d.Plan(ctx)
	if err != nil || len(deletes(steps)) != 0 {
		t.Fatalf("second plan: %v %q", err, deletes(steps))
	}
	for _, s := range steps {
		if s.Pending() {
			t.Errorf("second plan: %s %s %s", s.Name, s.Region, s.Action)
		}
	}
	if steps, err = d.Apply(ctx); err != nil || srv.Counts()["cloudformation:DeleteStack"] != counts["cloudformation:DeleteStack"] {
		t.Errorf("second apply: %v %q", err, deletes(steps))
	}

	// us-west-2 joins the governed Regions: the AssumeRoot stacks there
	// (management account and IAM delegated administrator) go once the
	// management stack, the Audit regional stack and the instances stand.
	d.Config.Regions = []string{"eu-west-1", "us-west-2"}
	steps, err = d.Apply(ctx)
	if err != nil {
		t.Fatalf("apply: %v\n%+v", err, steps)
	}
	want = []string{AssumeRootStackName + "@us-west-2(management)", AssumeRootStackName + "@us-west-2(iam-admin)"}
	if got := deletes(steps); !slices.Equal(got, want) {
		t.Errorf("apply deleted %q, want %q", got, want)
	}
	for _, s := range steps {
		if s.Action == Delete && s.Account == "iam-admin" && !slices.Equal(s.Changes, []string{
			"Delete stack (CREATE_COMPLETE) and its resources: us-west-2 is governed (us-east-1, eu-west-1, us-west-2): the member StackSet carries the AssumeRoot rule there"}) {
			t.Errorf("iam-admin delete: %q", s.Changes)
		}
	}
	got := srv.Stacks(mgmtAccount, "us-west-2")
	if !slices.Equal(got, []string{ManagementStackName}) {
		t.Errorf("management account, us-west-2: %q", got)
	}
	if got := srv.Stacks(auditAccount, "us-west-2"); !slices.Equal(got, []string{AuditRegionStackName}) {
		t.Errorf("Audit account, us-west-2: %q", got)
	}
	for _, keep := range []string{mgmtAccount + "/ap-northeast-1/rootguard-management-notes", prodAccount + "/ap-northeast-1/" + ManagementStackName} {
		if !slices.Contains(allStacks(srv, accounts, enabled), keep) {
			t.Errorf("%s was deleted", keep)
		}
	}
	if steps, err := d.Plan(ctx); err != nil || len(deletes(steps)) != 0 {
		t.Errorf("plan after: %v %q", err, deletes(steps))
	}
}

// TestApplyKeepsStacksWhenAStepFails: a stack is deleted only once every
// other step has succeeded. A failed stack instance, then an AssumeRoot
// stack that cannot be created (its earlier deletion failed), keep the
// management stack it replaces; a failed deletion is named, and the next
// run deletes it.
func TestApplyKeepsStacksWhenAStepFails(t *testing.T) {
	c := testConfig()
	c.Regions = []string{"eu-west-1", "ap-northeast-1"}
	c.EnabledRegions = []string{"us-east-1", "eu-west-1", "ap-northeast-1"}
	c.AuditRegions = c.EnabledRegions
	d, srv, _, _ := simDeployer(t, c)
	ctx := t.Context()
	if _, err := d.Apply(ctx); err != nil {
		t.Fatal(err)
	}

	// A failed instance (the StackSet is updated everywhere for the new
	// bus name): nothing is deleted, and each kept stack says why.
	d.Config.Regions = []string{"eu-west-1"}
	d.Config.EventBusName = "rootguard-events"
	srv.FailStackInstances(euAccount, "eu-west-1", "Resource handler returned message: access denied")
	steps, err := d.Apply(ctx)
	if err == nil || !strings.Contains(err.Error(), "1 of") {
		t.Fatalf("apply: %v", err)
	}
	for _, s := range steps {
		if s.Action == Delete && (s.Applied || !strings.HasPrefix(s.Error, "kept: 1 of the steps above failed")) {
			t.Errorf("delete step after a failure: %+v", s)
		}
	}
	if len(deletes(steps)) != 2 || !slices.Contains(srv.Stacks(mgmtAccount, "ap-northeast-1"), ManagementStackName) ||
		!slices.Contains(srv.Stacks(auditAccount, "ap-northeast-1"), AuditRegionStackName) {
		t.Fatalf("stacks deleted although the StackSet failed: %q", deletes(steps))
	}
	if _, ok := srv.StackTemplate(mgmtAccount, "ap-northeast-1", AssumeRootStackName); !ok {
		t.Errorf("the replacing AssumeRoot stack was not created")
	}
	srv.FailStackInstances(euAccount, "eu-west-1", "")
	if steps, err = d.Apply(ctx); err != nil || len(deletes(steps)) != 2 || srv.Stacks(auditAccount, "ap-northeast-1") != nil {
		t.Fatalf("apply once fixed: %v %q %q", err, deletes(steps), srv.Stacks(auditAccount, "ap-northeast-1"))
	}

	// ap-northeast-1 governed again: its AssumeRoot stack's deletion
	// fails, and is named.
	d.Config.Regions = []string{"eu-west-1", "ap-northeast-1"}
	srv.FailStackDeletion(mgmtAccount, "ap-northeast-1", AssumeRootStackName, "Resource handler returned message: queue in use")
	steps, err = d.Apply(ctx)
	if err == nil || !strings.Contains(err.Error(), "1 of") {
		t.Fatalf("apply: %v", err)
	}
	s := steps[len(steps)-1]
	if s.Action != Failed || s.Name != AssumeRootStackName || s.Region != "ap-northeast-1" || !strings.Contains(s.Error, "DELETE_FAILED: Resource handler returned message: queue in use") {
		t.Fatalf("failed deletion: %+v", s)
	}

	// And out again: the AssumeRoot stack (DELETE_FAILED) cannot be made
	// the forwarder there, so the management stack stays.
	d.Config.Regions = []string{"eu-west-1"}
	steps, err = d.Apply(ctx)
	if err == nil {
		t.Fatalf("apply with a DELETE_FAILED AssumeRoot stack succeeded")
	}
	for _, s := range steps {
		switch {
		case s.Name == AssumeRootStackName && s.Region == "ap-northeast-1":
			if s.Action != Failed || !strings.Contains(s.Error, "DELETE_FAILED") {
				t.Errorf("AssumeRoot stack: %+v", s)
			}
		case s.Action == Delete:
			if s.Applied || !strings.HasPrefix(s.Error, "kept:") {
				t.Errorf("deleted while its replacement failed: %+v", s)
			}
		}
	}
	if !slices.Contains(srv.Stacks(mgmtAccount, "ap-northeast-1"), ManagementStackName) {
		t.Errorf("the management stack was deleted before its replacement stood")
	}
}
