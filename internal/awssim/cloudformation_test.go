package awssim

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
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
