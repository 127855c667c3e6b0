package awssim

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

const cfnTemplate1 = `{"Parameters":{"Name":{"Type":"String","AllowedPattern":"^[a-z]+$"},"Opt":{"Type":"String","Default":"x"}},
"Resources":{"Queue":{"Type":"AWS::SQS::Queue","Properties":{}},"Role":{"Type":"AWS::IAM::Role","Properties":{}}}}`

func cfnClient(e *env, region string) *cloudformation.Client {
	akid, secret := e.srv.ManagementCredentials()
	return cloudformation.NewFromConfig(aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(akid, secret, ""),
		BaseEndpoint: aws.String(e.url),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	})
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestCloudFormationStacks(t *testing.T) {
	e := newEnv(t, nil, Options{})
	cf := cfnClient(e, "eu-west-1")
	ctx := t.Context()

	_, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("s")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" || ae.ErrorMessage() != "Stack with id s does not exist" {
		t.Fatalf("DescribeStacks of a missing stack: %v", err)
	}
	create := func(typ cfntypes.ChangeSetType, name, body string, caps []cfntypes.Capability, params ...string) (*cloudformation.CreateChangeSetOutput, error) {
		var ps []cfntypes.Parameter
		for i := 0; i < len(params); i += 2 {
			ps = append(ps, cfntypes.Parameter{ParameterKey: aws.String(params[i]), ParameterValue: aws.String(params[i+1])})
		}
		return cf.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("s"), ChangeSetName: aws.String(name),
			ChangeSetType: typ, TemplateBody: aws.String(body), Capabilities: caps, Parameters: ps})
	}
	iamCaps := []cfntypes.Capability{cfntypes.CapabilityCapabilityIam}
	if _, err := create(cfntypes.ChangeSetTypeCreate, "c0", cfnTemplate1, nil, "Name", "abc"); apiCode(err) != "InsufficientCapabilitiesException" {
		t.Errorf("no CAPABILITY_IAM: %v", err)
	}
	var ice *cfntypes.InsufficientCapabilitiesException
	if _, err := create(cfntypes.ChangeSetTypeCreate, "c0", cfnTemplate1, nil, "Name", "abc"); !errors.As(err, &ice) {
		t.Errorf("the SDK does not decode InsufficientCapabilitiesException: %T", err)
	}
	if _, err := create(cfntypes.ChangeSetTypeCreate, "c0", cfnTemplate1, iamCaps); err == nil || !strings.Contains(err.Error(), "Parameters: [Name] must have values") {
		t.Errorf("missing parameter: %v", err)
	}
	if _, err := create(cfntypes.ChangeSetTypeCreate, "c0", cfnTemplate1, iamCaps, "Name", "ABC"); err == nil || !strings.Contains(err.Error(), "must match pattern") {
		t.Errorf("parameter outside its pattern: %v", err)
	}
	if _, err := create(cfntypes.ChangeSetTypeUpdate, "c0", cfnTemplate1, iamCaps, "Name", "abc"); apiCode(err) != "ValidationError" {
		t.Errorf("UPDATE of a missing stack: %v", err)
	}
	out, err := create(cfntypes.ChangeSetTypeCreate, "c1", cfnTemplate1, iamCaps, "Name", "abc")
	if err != nil {
		t.Fatal(err)
	}
	st, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("s")})
	if err != nil || st.Stacks[0].StackStatus != cfntypes.StackStatusReviewInProgress || aws.ToString(st.Stacks[0].StackId) != aws.ToString(out.StackId) {
		t.Fatalf("stack after a CREATE change set: %+v, %v", st, err)
	}
	_, err = cf.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{ChangeSetName: out.Id})
	if apiCode(err) != "InvalidChangeSetStatus" {
		t.Errorf("executing a change set still being created: %v", err)
	}
	var invalid *cfntypes.InvalidChangeSetStatusException
	if !errors.As(err, &invalid) {
		t.Errorf("the SDK does not decode InvalidChangeSetStatus: %T", err)
	}
	cs, err := cf.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: out.Id})
	if err != nil || cs.Status != cfntypes.ChangeSetStatusCreateInProgress {
		t.Fatalf("first DescribeChangeSet: %+v %v", cs, err)
	}
	cs, err = cf.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: aws.String("c1"), StackName: aws.String("s")})
	if err != nil || cs.Status != cfntypes.ChangeSetStatusCreateComplete || cs.ExecutionStatus != cfntypes.ExecutionStatusAvailable || len(cs.Changes) != 2 ||
		cs.Changes[0].ResourceChange.Action != cfntypes.ChangeActionAdd || aws.ToString(cs.Changes[0].ResourceChange.ResourceType) != "AWS::SQS::Queue" {
		t.Fatalf("second DescribeChangeSet: %+v %v", cs, err)
	}
	if _, err := cf.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{ChangeSetName: out.Id}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []cfntypes.StackStatus{cfntypes.StackStatusCreateInProgress, cfntypes.StackStatusCreateComplete} {
		st, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("s")})
		if err != nil || st.Stacks[0].StackStatus != want {
			t.Fatalf("stack: %+v %v, want %s", st, err, want)
		}
		if want == cfntypes.StackStatusCreateComplete && (len(st.Stacks[0].Parameters) != 1 || !slices.Contains(st.Stacks[0].Capabilities, cfntypes.CapabilityCapabilityIam)) {
			t.Errorf("stack parameters %+v capabilities %v", st.Stacks[0].Parameters, st.Stacks[0].Capabilities)
		}
	}
	if _, err := create(cfntypes.ChangeSetTypeCreate, "c2", cfnTemplate1, iamCaps, "Name", "abc"); apiCode(err) != "AlreadyExistsException" {
		t.Errorf("CREATE of an existing stack: %v", err)
	}

	// The same template and parameters: FAILED, with CloudFormation's reason.
	same, err := create(cfntypes.ChangeSetTypeUpdate, "c3", cfnTemplate1, iamCaps, "Name", "abc")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = cf.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: same.Id})
	cs, err = cf.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: same.Id})
	if err != nil || cs.Status != cfntypes.ChangeSetStatusFailed || !strings.HasPrefix(aws.ToString(cs.StatusReason), "The submitted information didn't contain changes") {
		t.Fatalf("unchanged change set: %+v %v", cs, err)
	}
	if _, err := cf.DeleteChangeSet(ctx, &cloudformation.DeleteChangeSetInput{ChangeSetName: same.Id}); err != nil {
		t.Fatal(err)
	}
	var notFound *cfntypes.ChangeSetNotFoundException
	if _, err := cf.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: same.Id}); !errors.As(err, &notFound) {
		t.Errorf("deleted change set: %v", err)
	}
	// A changed parameter is a change.
	changed, err := create(cfntypes.ChangeSetTypeUpdate, "c4", cfnTemplate1, iamCaps, "Name", "abd")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = cf.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: changed.Id})
	if cs, _ := cf.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: changed.Id}); cs.Status != cfntypes.ChangeSetStatusCreateComplete {
		t.Errorf("changed parameter: %s %s", cs.Status, aws.ToString(cs.StatusReason))
	}
	// Stacks are regional.
	if _, err := cfnClient(e, "us-east-1").DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("s")}); apiCode(err) != "ValidationError" {
		t.Errorf("stack seen from another region: %v", err)
	}
	if got := e.srv.Counts()["cloudformation:DescribeStacks"]; got < 4 {
		t.Errorf("Counts: %d DescribeStacks", got)
	}
}

// TestCloudFormationDeleteStack holds DeleteStack to
// testdata/cloudformation-delete.md: DELETE_IN_PROGRESS, then
// DELETE_COMPLETE (or DELETE_FAILED, and deleted again); a deleted stack
// is found by id only, its name free for a new stack.
func TestCloudFormationDeleteStack(t *testing.T) {
	e := newEnv(t, nil, Options{})
	cf := cfnClient(e, "eu-west-1")
	ctx := t.Context()
	mgmt := e.srv.sc.Organization.ManagementAccount
	deploy := func(name string) string {
		t.Helper()
		out, err := cf.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String(name), ChangeSetName: aws.String("c"),
			ChangeSetType: cfntypes.ChangeSetTypeCreate, TemplateBody: aws.String(cfnTemplate1),
			Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam},
			Parameters:   []cfntypes.Parameter{{ParameterKey: aws.String("Name"), ParameterValue: aws.String("abc")}}})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = cf.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: out.Id})
		if _, err := cf.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{ChangeSetName: out.Id}); err != nil {
			t.Fatal(err)
		}
		// CREATE_IN_PROGRESS: not deletable by awssim (a guess).
		if _, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(name)}); apiCode(err) != "ValidationError" {
			t.Errorf("DeleteStack while CREATE_IN_PROGRESS: %v", err)
		}
		_, _ = cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		return aws.ToString(out.StackId)
	}
	status := func(name string) (cfntypes.StackStatus, string, error) {
		out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if err != nil {
			return "", "", err
		}
		return out.Stacks[0].StackStatus, aws.ToString(out.Stacks[0].StackStatusReason), nil
	}

	id := deploy("s")
	if _, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	if st, _, err := status("s"); err != nil || st != cfntypes.StackStatusDeleteInProgress {
		t.Fatalf("after DeleteStack: %s %v", st, err)
	}
	// Again while in progress: nothing changes.
	if _, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("s")}); err != nil {
		t.Errorf("DeleteStack while DELETE_IN_PROGRESS: %v", err)
	}
	if st, _, err := status(id); err != nil || st != cfntypes.StackStatusDeleteComplete {
		t.Fatalf("by id after deletion: %s %v", st, err)
	}
	if _, _, err := status("s"); apiCode(err) != "ValidationError" {
		t.Errorf("a deleted stack is found by name: %v", err)
	}
	if all, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{}); err != nil || len(all.Stacks) != 0 {
		t.Errorf("DescribeStacks lists a deleted stack: %+v %v", all, err)
	}
	if got := e.srv.Stacks(mgmt, "eu-west-1"); len(got) != 0 {
		t.Errorf("Stacks = %q", got)
	}
	// A deleted or missing stack: no error.
	for _, name := range []string{"s", id, "never"} {
		if _, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(name)}); err != nil {
			t.Errorf("DeleteStack %s: %v", name, err)
		}
	}
	// The SDK's waiter agrees that it is gone.
	w := cloudformation.NewStackDeleteCompleteWaiter(cf, func(o *cloudformation.StackDeleteCompleteWaiterOptions) {
		o.MinDelay = time.Millisecond
		o.MaxDelay = time.Millisecond
	})
	if err := w.Wait(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("s")}, time.Second); err != nil {
		t.Errorf("StackDeleteComplete waiter: %v", err)
	}

	// The name is free again; a deletion that fails ends DELETE_FAILED,
	// with the reason, and can be run again.
	id2 := deploy("s")
	if id2 == id {
		t.Fatalf("the new stack has the deleted one's id")
	}
	e.srv.FailStackDeletion(mgmt, "eu-west-1", "s", "Resource handler returned message: bucket not empty")
	if _, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	if st, reason, _ := status("s"); st != cfntypes.StackStatusDeleteInProgress || reason != "" {
		t.Fatalf("deletion: %s %q", st, reason)
	}
	if st, reason, _ := status("s"); st != cfntypes.StackStatusDeleteFailed || !strings.Contains(reason, "bucket not empty") {
		t.Fatalf("failed deletion: %s %q", st, reason)
	}
	e.srv.FailStackDeletion(mgmt, "eu-west-1", "s", "")
	if _, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	_, _, _ = status("s")
	if st, _, err := status(id2); err != nil || st != cfntypes.StackStatusDeleteComplete {
		t.Errorf("second deletion: %s %v", st, err)
	}
	// Both deleted stacks are still described by id.
	if st, _, err := status(id); err != nil || st != cfntypes.StackStatusDeleteComplete {
		t.Errorf("first stack by id: %s %v", st, err)
	}
}

func TestCloudFormationStackSets(t *testing.T) {
	sc := exampleScenario(t)
	sc.Organization.TrustedAccess = append(sc.Organization.TrustedAccess, stackSetsPrincipal)
	e := newEnv(t, sc, Options{PageSize: 3})
	e.srv.FailStackInstances(exProd, "eu-west-1", "Resource handler returned message: access denied")
	cf := cfnClient(e, "us-east-1")
	ctx := t.Context()

	var nf *cfntypes.StackSetNotFoundException
	if _, err := cf.DescribeStackSet(ctx, &cloudformation.DescribeStackSetInput{StackSetName: aws.String("ss")}); !errors.As(err, &nf) {
		t.Fatalf("DescribeStackSet of a missing StackSet: %v", err)
	}
	in := &cloudformation.CreateStackSetInput{
		StackSetName: aws.String("ss"), TemplateBody: aws.String(cfnTemplate1),
		Parameters:      []cfntypes.Parameter{{ParameterKey: aws.String("Name"), ParameterValue: aws.String("abc")}},
		Capabilities:    []cfntypes.Capability{cfntypes.CapabilityCapabilityIam},
		PermissionModel: cfntypes.PermissionModelsServiceManaged,
	}
	if _, err := cf.CreateStackSet(ctx, in); err == nil || !strings.Contains(err.Error(), "AutoDeployment") {
		t.Errorf("service-managed without AutoDeployment: %v", err)
	}
	in.AutoDeployment = &cfntypes.AutoDeployment{Enabled: aws.Bool(true), RetainStacksOnAccountRemoval: aws.Bool(false)}
	if _, err := cf.CreateStackSet(ctx, in); err != nil {
		t.Fatal(err)
	}
	var exists *cfntypes.NameAlreadyExistsException
	if _, err := cf.CreateStackSet(ctx, in); !errors.As(err, &exists) {
		t.Errorf("second CreateStackSet: %v", err)
	}
	op, err := cf.CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{
		StackSetName:      aws.String("ss"),
		DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: []string{"ou-ex12-workload"}},
		Regions:           []string{"us-east-1", "eu-west-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var busy *cfntypes.OperationInProgressException
	if _, err := cf.UpdateStackSet(ctx, &cloudformation.UpdateStackSetInput{StackSetName: aws.String("ss"), TemplateBody: in.TemplateBody,
		Parameters: in.Parameters, Capabilities: in.Capabilities}); !errors.As(err, &busy) {
		t.Errorf("update during an operation: %v", err)
	}
	for _, want := range []cfntypes.StackSetOperationStatus{cfntypes.StackSetOperationStatusRunning, cfntypes.StackSetOperationStatusFailed} {
		out, err := cf.DescribeStackSetOperation(ctx, &cloudformation.DescribeStackSetOperationInput{StackSetName: aws.String("ss"), OperationId: op.OperationId})
		if err != nil || out.StackSetOperation.Status != want {
			t.Fatalf("operation: %+v %v, want %s", out, err, want)
		}
	}
	var results []cfntypes.StackSetOperationResultSummary
	pages := cloudformation.NewListStackSetOperationResultsPaginator(cf, &cloudformation.ListStackSetOperationResultsInput{StackSetName: aws.String("ss"), OperationId: op.OperationId})
	n := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n++
		results = append(results, page.Summaries...)
	}
	// Workloads holds Prod (333...) and EU (444...): 2 accounts x 2 regions.
	if len(results) != 4 || n != 2 {
		t.Fatalf("%d results in %d pages: %+v", len(results), n, results)
	}
	var failed []string
	for _, r := range results {
		if r.Status == cfntypes.StackSetOperationResultStatusFailed {
			failed = append(failed, aws.ToString(r.Account)+" "+aws.ToString(r.Region)+" "+aws.ToString(r.StatusReason))
		}
	}
	if len(failed) != 1 || !strings.HasPrefix(failed[0], exProd+" eu-west-1 ") || !strings.Contains(failed[0], "access denied") {
		t.Errorf("failed instances: %q", failed)
	}
	ss, err := cf.DescribeStackSet(ctx, &cloudformation.DescribeStackSetInput{StackSetName: aws.String("ss")})
	if err != nil {
		t.Fatal(err)
	}
	got := ss.StackSet
	if got.PermissionModel != cfntypes.PermissionModelsServiceManaged || !aws.ToBool(got.AutoDeployment.Enabled) ||
		aws.ToString(got.TemplateBody) != cfnTemplate1 || !slices.Equal(got.OrganizationalUnitIds, []string{"ou-ex12-workload"}) ||
		!slices.Equal(got.Regions, []string{"us-east-1", "eu-west-1"}) || len(got.Parameters) != 1 {
		t.Errorf("DescribeStackSet: %+v", got)
	}
	if got := e.srv.StackSetInstances(exMgmt, "us-east-1", "ss"); len(got) != 3 || slices.Contains(got, exMgmt+"/us-east-1") {
		t.Errorf("instances: %q", got)
	}
	var opNF *cfntypes.OperationNotFoundException
	if _, err := cf.DescribeStackSetOperation(ctx, &cloudformation.DescribeStackSetOperationInput{StackSetName: aws.String("ss"), OperationId: aws.String("nope")}); !errors.As(err, &opNF) {
		t.Errorf("unknown operation: %v", err)
	}
}

// cfnRoleClient is a CloudFormation client in OrganizationAccountAccessRole
// of account.
func cfnRoleClient(e *env, account, region string) *cloudformation.Client {
	e.t.Helper()
	out, err := e.mgmt.sts.AssumeRole(e.t.Context(), &sts.AssumeRoleInput{
		RoleArn:         aws.String("arn:aws:iam::" + account + ":role/" + DefaultRole),
		RoleSessionName: aws.String("awssim-test"),
	})
	if err != nil {
		e.t.Fatalf("AssumeRole %s: %v", account, err)
	}
	c := out.Credentials
	return cloudformation.NewFromConfig(aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)),
		BaseEndpoint: aws.String(e.url),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	})
}

// createServiceManaged creates the service-managed StackSet ss with cf.
func createServiceManaged(t *testing.T, cf *cloudformation.Client, callAs cfntypes.CallAs) error {
	t.Helper()
	_, err := cf.CreateStackSet(t.Context(), &cloudformation.CreateStackSetInput{
		StackSetName: aws.String("ss"), TemplateBody: aws.String(cfnTemplate1),
		Parameters:      []cfntypes.Parameter{{ParameterKey: aws.String("Name"), ParameterValue: aws.String("abc")}},
		Capabilities:    []cfntypes.Capability{cfntypes.CapabilityCapabilityIam},
		PermissionModel: cfntypes.PermissionModelsServiceManaged,
		AutoDeployment:  &cfntypes.AutoDeployment{Enabled: aws.Bool(true), RetainStacksOnAccountRemoval: aws.Bool(false)},
		CallAs:          callAs,
	})
	return err
}

// finish polls an operation to its end and returns its status and the
// account/region/status of each result.
func finish(t *testing.T, cf *cloudformation.Client, callAs cfntypes.CallAs, id *string) (cfntypes.StackSetOperationStatus, []string) {
	t.Helper()
	var status cfntypes.StackSetOperationStatus
	for range 2 {
		out, err := cf.DescribeStackSetOperation(t.Context(), &cloudformation.DescribeStackSetOperationInput{StackSetName: aws.String("ss"), OperationId: id, CallAs: callAs})
		if err != nil {
			t.Fatal(err)
		}
		status = out.StackSetOperation.Status
	}
	res, err := cf.ListStackSetOperationResults(t.Context(), &cloudformation.ListStackSetOperationResultsInput{StackSetName: aws.String("ss"), OperationId: id, CallAs: callAs, MaxResults: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range res.Summaries {
		out = append(out, aws.ToString(r.Account)+"/"+aws.ToString(r.Region)+" "+string(r.Status))
	}
	return status, out
}

// instances lists a StackSet's instances through the paginator, as
// "account/region ou status detailed".
func instances(t *testing.T, cf *cloudformation.Client, callAs cfntypes.CallAs, filters ...cfntypes.StackInstanceFilter) ([]string, int) {
	t.Helper()
	var out []string
	pages := cloudformation.NewListStackInstancesPaginator(cf, &cloudformation.ListStackInstancesInput{StackSetName: aws.String("ss"), CallAs: callAs, Filters: filters})
	n := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		n++
		for _, s := range page.Summaries {
			out = append(out, fmt.Sprintf("%s/%s %s %s %s", aws.ToString(s.Account), aws.ToString(s.Region), aws.ToString(s.OrganizationalUnitId),
				s.Status, s.StackInstanceStatus.DetailedStatus))
		}
	}
	return out, n
}

func TestCloudFormationStackInstances(t *testing.T) {
	sc := exampleScenario(t)
	sc.Organization.TrustedAccess = append(sc.Organization.TrustedAccess, stackSetsPrincipal)
	e := newEnv(t, sc, Options{PageSize: 4})
	cf := cfnClient(e, "us-east-1")
	ctx := t.Context()
	self := cfntypes.CallAsSelf

	var nf *cfntypes.StackSetNotFoundException
	if _, err := cf.ListStackInstances(ctx, &cloudformation.ListStackInstancesInput{StackSetName: aws.String("ss")}); !errors.As(err, &nf) {
		t.Errorf("ListStackInstances of a missing StackSet: %v", err)
	}
	if _, err := cf.DeleteStackInstances(ctx, &cloudformation.DeleteStackInstancesInput{StackSetName: aws.String("ss"), Regions: []string{"us-east-1"},
		RetainStacks: aws.Bool(false), DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: []string{"ou-ex12-security"}}}); !errors.As(err, &nf) {
		t.Errorf("DeleteStackInstances of a missing StackSet: %v", err)
	}
	if err := createServiceManaged(t, cf, self); err != nil {
		t.Fatal(err)
	}
	e.srv.FailStackInstances(exProdEU, "eu-west-1", "Resource handler returned message: access denied")
	op, err := cf.CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{
		StackSetName:      aws.String("ss"),
		DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: []string{"ou-ex12-workload", "ou-ex12-security"}},
		Regions:           []string{"us-east-1", "eu-west-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	del := func(ous, regions []string) (*cloudformation.DeleteStackInstancesOutput, error) {
		return cf.DeleteStackInstances(ctx, &cloudformation.DeleteStackInstancesInput{StackSetName: aws.String("ss"), Regions: regions, RetainStacks: aws.Bool(false),
			DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: ous}})
	}
	var busy *cfntypes.OperationInProgressException
	if _, err := del([]string{"ou-ex12-security"}, []string{"us-east-1"}); !errors.As(err, &busy) {
		t.Errorf("DeleteStackInstances during an operation: %v", err)
	}
	finish(t, cf, self, op.OperationId)

	// One instance per account and region, with the OU it came through; the
	// failed one is OUTDATED.
	got, pages := instances(t, cf, self)
	want := []string{
		exSecurity + "/eu-west-1 ou-ex12-security CURRENT SUCCEEDED", exSecurity + "/us-east-1 ou-ex12-security CURRENT SUCCEEDED",
		exProd + "/eu-west-1 ou-ex12-workload CURRENT SUCCEEDED", exProd + "/us-east-1 ou-ex12-workload CURRENT SUCCEEDED",
		exProdEU + "/eu-west-1 ou-ex12-workload OUTDATED FAILED", exProdEU + "/us-east-1 ou-ex12-workload CURRENT SUCCEEDED",
	}
	if !slices.Equal(got, want) || pages != 2 {
		t.Fatalf("instances in %d pages:\n%q\nwant\n%q", pages, got, want)
	}
	failed, _ := instances(t, cf, self, cfntypes.StackInstanceFilter{Name: cfntypes.StackInstanceFilterNameDetailedStatus, Values: aws.String("FAILED")})
	if len(failed) != 1 || !strings.HasPrefix(failed[0], exProdEU+"/eu-west-1 ") {
		t.Errorf("DETAILED_STATUS=FAILED: %q", failed)
	}
	if _, err := cf.DeleteStackInstances(ctx, &cloudformation.DeleteStackInstancesInput{StackSetName: aws.String("ss"), Regions: []string{"us-east-1"},
		RetainStacks: aws.Bool(false), Accounts: []string{exProd}}); apiCode(err) != "ValidationError" {
		t.Errorf("DeleteStackInstances by account on a service-managed StackSet: %v", err)
	}

	// A dropped OU: its instances go, and so does the OU from the targets.
	op2, err := del([]string{"ou-ex12-security"}, []string{"us-east-1", "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	status, results := finish(t, cf, self, op2.OperationId)
	if status != cfntypes.StackSetOperationStatusSucceeded || !slices.Equal(results, []string{exSecurity + "/eu-west-1 SUCCEEDED", exSecurity + "/us-east-1 SUCCEEDED"}) {
		t.Errorf("delete of the Security OU: %s %q", status, results)
	}
	ss, err := cf.DescribeStackSet(ctx, &cloudformation.DescribeStackSetInput{StackSetName: aws.String("ss")})
	if err != nil || !slices.Equal(ss.StackSet.OrganizationalUnitIds, []string{"ou-ex12-workload"}) || len(ss.StackSet.Regions) != 2 {
		t.Errorf("targets after dropping an OU: %+v %v", ss, err)
	}

	// A dropped region whose deletion fails in one account: the failure is
	// named, the instance stays (OUTDATED) and so does the region.
	e.srv.FailStackInstances(exProd, "us-east-1", "Resource handler returned message: role in use")
	op3, err := del([]string{"ou-ex12-workload"}, []string{"us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	status, results = finish(t, cf, self, op3.OperationId)
	if status != cfntypes.StackSetOperationStatusFailed || !slices.Equal(results, []string{exProd + "/us-east-1 FAILED", exProdEU + "/us-east-1 SUCCEEDED"}) {
		t.Errorf("delete of us-east-1 with a failure: %s %q", status, results)
	}
	got, _ = instances(t, cf, self)
	want = []string{exProd + "/eu-west-1 ou-ex12-workload CURRENT SUCCEEDED", exProd + "/us-east-1 ou-ex12-workload OUTDATED FAILED",
		exProdEU + "/eu-west-1 ou-ex12-workload OUTDATED FAILED"}
	if !slices.Equal(got, want) {
		t.Errorf("instances after a failed deletion:\n%q\nwant\n%q", got, want)
	}
	if ss, _ := cf.DescribeStackSet(ctx, &cloudformation.DescribeStackSetInput{StackSetName: aws.String("ss")}); !slices.Contains(ss.StackSet.Regions, "us-east-1") {
		t.Errorf("us-east-1 left the targets with an instance in it: %q", ss.StackSet.Regions)
	}
	e.srv.FailStackInstances(exProd, "us-east-1", "")
	op4, err := del([]string{"ou-ex12-workload"}, []string{"us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := finish(t, cf, self, op4.OperationId); status != cfntypes.StackSetOperationStatusSucceeded {
		t.Errorf("retried deletion: %s", status)
	}
	if ss, _ := cf.DescribeStackSet(ctx, &cloudformation.DescribeStackSetInput{StackSetName: aws.String("ss")}); !slices.Equal(ss.StackSet.Regions, []string{"eu-west-1"}) {
		t.Errorf("regions after the retry: %q", ss.StackSet.Regions)
	}
	if got := e.srv.StackSetInstances(exMgmt, "us-east-1", "ss"); !slices.Equal(got, []string{exProd + "/eu-west-1"}) {
		t.Errorf("StackSetInstances: %q", got)
	}
}

func TestCloudFormationStackSetsDelegatedAdmin(t *testing.T) {
	sc := exampleScenario(t)
	sc.Organization.TrustedAccess = append(sc.Organization.TrustedAccess, stackSetsPrincipal)
	sc.Organization.DelegatedAdministrators = append(sc.Organization.DelegatedAdministrators,
		DelegatedAdministrator{Account: exSecurity, ServicePrincipal: stackSetsPrincipal})
	e := newEnv(t, sc, Options{})
	ctx := t.Context()
	admin := cfnRoleClient(e, exSecurity, "us-east-1")
	other := cfnRoleClient(e, exProd, "us-east-1")
	da := cfntypes.CallAsDelegatedAdmin

	// Without CallAs, a member account is no management account.
	if err := createServiceManaged(t, admin, ""); apiCode(err) != "ValidationError" || !strings.Contains(err.Error(), "You must be the management account or delegated admin account") {
		t.Errorf("SELF from the delegated administrator: %v", err)
	}
	// DELEGATED_ADMIN from an account not registered (for StackSets).
	for name, cf := range map[string]*cloudformation.Client{"another member": other, "the management account": cfnClient(e, "us-east-1")} {
		if err := createServiceManaged(t, cf, da); apiCode(err) != "ValidationError" || !strings.Contains(err.Error(), "Account used is not a delegated administrator") {
			t.Errorf("DELEGATED_ADMIN from %s: %v", name, err)
		}
	}
	if err := createServiceManaged(t, admin, da); err != nil {
		t.Fatal(err)
	}
	// The StackSet is the management account's: it administers it too.
	ss, err := cfnClient(e, "us-east-1").DescribeStackSet(ctx, &cloudformation.DescribeStackSetInput{StackSetName: aws.String("ss")})
	if err != nil || !strings.Contains(aws.ToString(ss.StackSet.StackSetARN), ":"+exMgmt+":stackset/ss:") {
		t.Fatalf("the StackSet seen from the management account: %+v %v", ss, err)
	}
	var nf *cfntypes.StackSetNotFoundException
	if _, err := admin.DescribeStackSet(ctx, &cloudformation.DescribeStackSetInput{StackSetName: aws.String("ss")}); !errors.As(err, &nf) {
		t.Errorf("DescribeStackSet as SELF from the delegated administrator: %v", err)
	}
	if _, err := other.ListStackInstances(ctx, &cloudformation.ListStackInstancesInput{StackSetName: aws.String("ss"), CallAs: da}); apiCode(err) != "ValidationError" {
		t.Errorf("ListStackInstances as DELEGATED_ADMIN from another member: %v", err)
	}
	op, err := admin.CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{StackSetName: aws.String("ss"), CallAs: da,
		DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: []string{"ou-ex12-prod0001"}}, Regions: []string{"eu-west-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := finish(t, admin, da, op.OperationId); status != cfntypes.StackSetOperationStatusSucceeded {
		t.Errorf("create instances as DELEGATED_ADMIN: %s", status)
	}
	if got, _ := instances(t, admin, da); len(got) != 2 {
		t.Errorf("instances: %q", got)
	}
	delOp, err := admin.DeleteStackInstances(ctx, &cloudformation.DeleteStackInstancesInput{StackSetName: aws.String("ss"), CallAs: da, RetainStacks: aws.Bool(false),
		DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: []string{"ou-ex12-prod0001"}}, Regions: []string{"eu-west-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if status, results := finish(t, admin, da, delOp.OperationId); status != cfntypes.StackSetOperationStatusSucceeded || len(results) != 2 {
		t.Errorf("delete instances as DELEGATED_ADMIN: %s %q", status, results)
	}
	if got := e.srv.StackSetInstances(exMgmt, "us-east-1", "ss"); len(got) != 0 {
		t.Errorf("instances left: %q", got)
	}
}

// TestCloudFormationOrganizationsAccess: StackSets' trusted access is off
// in the example organization; a member account cannot activate it; the
// management account can, once or twice, and Organizations then lists
// the service principal and service-managed StackSets may be created.
func TestCloudFormationOrganizationsAccess(t *testing.T) {
	e := newEnv(t, nil, Options{})
	cf := cfnClient(e, "us-east-1")
	ctx := t.Context()
	status := func() cfntypes.OrganizationStatus {
		t.Helper()
		out, err := cf.DescribeOrganizationsAccess(ctx, &cloudformation.DescribeOrganizationsAccessInput{})
		if err != nil {
			t.Fatal(err)
		}
		return out.Status
	}
	if got := status(); got != cfntypes.OrganizationStatusDisabled {
		t.Fatalf("status %s, want DISABLED", got)
	}
	member := e.assumeRole(exProd)
	creds, err := member.sts.Options().Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	memberCF := cloudformation.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(e.url),
		Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)})
	var inv *cfntypes.InvalidOperationException
	if _, err := memberCF.ActivateOrganizationsAccess(ctx, &cloudformation.ActivateOrganizationsAccessInput{}); !errors.As(err, &inv) {
		t.Errorf("a member account activated organizations access: %v", err)
	}
	for range 2 {
		if _, err := cf.ActivateOrganizationsAccess(ctx, &cloudformation.ActivateOrganizationsAccessInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := status(); got != cfntypes.OrganizationStatusEnabled {
		t.Errorf("status %s, want ENABLED", got)
	}
	out, err := e.mgmt.orgs.ListAWSServiceAccessForOrganization(ctx, &organizations.ListAWSServiceAccessForOrganizationInput{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range out.EnabledServicePrincipals {
		if aws.ToString(p.ServicePrincipal) == stackSetsPrincipal {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%s listed %d times among the trusted services", stackSetsPrincipal, n)
	}
	_, err = cf.CreateStackSet(ctx, &cloudformation.CreateStackSetInput{
		StackSetName: aws.String("ss"), TemplateBody: aws.String(cfnTemplate1),
		Parameters:      []cfntypes.Parameter{{ParameterKey: aws.String("Name"), ParameterValue: aws.String("abc")}},
		Capabilities:    []cfntypes.Capability{cfntypes.CapabilityCapabilityIam},
		PermissionModel: cfntypes.PermissionModelsServiceManaged,
		AutoDeployment:  &cfntypes.AutoDeployment{Enabled: aws.Bool(true), RetainStacksOnAccountRemoval: aws.Bool(false)},
	})
	if err != nil {
		t.Errorf("service-managed StackSet after activation: %v", err)
	}
}
