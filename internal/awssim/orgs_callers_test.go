package awssim

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

var update = flag.Bool("update", false, "rewrite testdata/organizations-callers.tsv from the SDK's documentation in the module cache")

const (
	orgsModule  = "github.com/aws/aws-sdk-go-v2/service/organizations"
	callersFile = "testdata/organizations-callers.tsv"
)

// orgsCalls calls each Organizations operation awssim serves with input
// it accepts from a caller allowed to make it. setup (when not nil) runs
// first with the management account's client and gives the call what it
// needs.
var orgsCalls = map[string]struct {
	setup func(t *testing.T, mgmt *organizations.Client) string
	call  func(ctx context.Context, o *organizations.Client, arg string) error
}{
	"DescribeOrganization": {call: func(ctx context.Context, o *organizations.Client, _ string) error {
		_, err := o.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
		return err
	}},
	"ListRoots": {call: func(ctx context.Context, o *organizations.Client, _ string) error {
		_, err := o.ListRoots(ctx, &organizations.ListRootsInput{})
		return err
	}},
	"ListOrganizationalUnitsForParent": {call: func(ctx context.Context, o *organizations.Client, _ string) error {
		_, err := o.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(exRootID)})
		return err
	}},
	"ListAccountsForParent": {call: func(ctx context.Context, o *organizations.Client, _ string) error {
		_, err := o.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String("ou-ex12-prod0001")})
		return err
	}},
	"ListAccounts": {call: func(ctx context.Context, o *organizations.Client, _ string) error {
		_, err := o.ListAccounts(ctx, &organizations.ListAccountsInput{})
		return err
	}},
	"ListParents": {call: func(ctx context.Context, o *organizations.Client, _ string) error {
		_, err := o.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(exProd)})
		return err
	}},
	"DescribeAccount": {call: func(ctx context.Context, o *organizations.Client, _ string) error {
		_, err := o.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(exProd)})
		return err
	}},
	"DescribeOrganizationalUnit": {call: func(ctx context.Context, o *organizations.Client, _ string) error {
		_, err := o.DescribeOrganizationalUnit(ctx, &organizations.DescribeOrganizationalUnitInput{OrganizationalUnitId: aws.String("ou-ex12-prod0001")})
		return err
	}},
	"ListAWSServiceAccessForOrganization": {call: func(ctx context.Context, o *organizations.Client, _ string) error {
		_, err := o.ListAWSServiceAccessForOrganization(ctx, &organizations.ListAWSServiceAccessForOrganizationInput{})
		return err
	}},
	"ListDelegatedAdministrators": {call: func(ctx context.Context, o *organizations.Client, _ string) error {
		_, err := o.ListDelegatedAdministrators(ctx, &organizations.ListDelegatedAdministratorsInput{ServicePrincipal: aws.String("iam.amazonaws.com")})
		return err
	}},
	"ListPoliciesForTarget": {call: func(ctx context.Context, o *organizations.Client, _ string) error {
		_, err := o.ListPoliciesForTarget(ctx, &organizations.ListPoliciesForTargetInput{TargetId: aws.String("ou-ex12-workload"), Filter: orgtypes.PolicyTypeServiceControlPolicy})
		return err
	}},
	"DescribePolicy": {call: func(ctx context.Context, o *organizations.Client, _ string) error {
		_, err := o.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String("p-denyroot01")})
		return err
	}},
	"ListPolicies": {call: func(ctx context.Context, o *organizations.Client, _ string) error {
		_, err := o.ListPolicies(ctx, &organizations.ListPoliciesInput{Filter: orgtypes.PolicyTypeServiceControlPolicy})
		return err
	}},
	"ListTargetsForPolicy": {call: func(ctx context.Context, o *organizations.Client, _ string) error {
		_, err := o.ListTargetsForPolicy(ctx, &organizations.ListTargetsForPolicyInput{PolicyId: aws.String("p-denyroot01")})
		return err
	}},
	"EnableAWSServiceAccess": {call: func(ctx context.Context, o *organizations.Client, _ string) error {
		_, err := o.EnableAWSServiceAccess(ctx, &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String("ssm.amazonaws.com")})
		return err
	}},
	"RegisterDelegatedAdministrator": {call: func(ctx context.Context, o *organizations.Client, _ string) error {
		_, err := o.RegisterDelegatedAdministrator(ctx, &organizations.RegisterDelegatedAdministratorInput{
			AccountId: aws.String(exProd), ServicePrincipal: aws.String("sso.amazonaws.com")})
		return err
	}},
	"CreateAccount": {call: func(ctx context.Context, o *organizations.Client, _ string) error {
		_, err := o.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("callers"), Email: aws.String("callers@example.com")})
		return err
	}},
	"DescribeCreateAccountStatus": {
		setup: func(t *testing.T, mgmt *organizations.Client) string {
			out, err := mgmt.CreateAccount(t.Context(), &organizations.CreateAccountInput{AccountName: aws.String("callers"), Email: aws.String("callers@example.com")})
			if err != nil {
				t.Fatal(err)
			}
			return aws.ToString(out.CreateAccountStatus.Id)
		},
		call: func(ctx context.Context, o *organizations.Client, id string) error {
			_, err := o.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: aws.String(id)})
			return err
		},
	},
	"ListCreateAccountStatus": {call: func(ctx context.Context, o *organizations.Client, _ string) error {
		_, err := o.ListCreateAccountStatus(ctx, &organizations.ListCreateAccountStatusInput{})
		return err
	}},
	"MoveAccount": {call: func(ctx context.Context, o *organizations.Client, _ string) error {
		_, err := o.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(exSandbox),
			SourceParentId: aws.String("ou-ex12-sandbox1"), DestinationParentId: aws.String(exRootID)})
		return err
	}},
}

// TestOrgsCallers: for every Organizations operation awssim serves, the
// table says who may call it, and the server allows or refuses the
// management account, a delegated administrator (222222222222, for IAM)
// and a plain member (333333333333) accordingly, through the SDK client.
// A refusal is AccessDeniedException (403).
func TestOrgsCallers(t *testing.T) {
	if _, err := parseOrgsCallers(orgsCallersTSV); err != nil {
		t.Fatal(err) // before orgsCallers panics on it
	}
	table := orgsCallers()
	for op := range orgsOps {
		t.Run(op, func(t *testing.T) {
			row, ok := table[op]
			if !ok {
				t.Fatalf("%s is served but has no row in %s", op, callersFile)
			}
			tc, ok := orgsCalls[op]
			if !ok {
				t.Fatalf("%s: no call in orgsCalls", op)
			}
			e := newEnv(t, nil, Options{})
			var arg string
			if tc.setup != nil {
				arg = tc.setup(t, e.mgmt.orgs)
			}
			callers := []struct {
				who     string
				orgs    *organizations.Client
				allowed bool
			}{
				// Refused callers first: an allowed write changes state.
				{"plain member", e.assumeRole(exProd).orgs, row.class == callerMember},
				{"delegated administrator", e.assumeRole(exSecurity).orgs, row.class != callerManagement},
				{"management account", e.mgmt.orgs, true},
			}
			for _, c := range callers {
				err := tc.call(t.Context(), c.orgs, arg)
				var ad *orgtypes.AccessDeniedException
				switch {
				case c.allowed && err != nil:
					t.Errorf("%s (%s): %s: %v, want success", c.who, row.class, op, err)
				case !c.allowed && !errors.As(err, &ad):
					t.Errorf("%s (%s): %s: %v, want AccessDeniedException", c.who, row.class, op, err)
				case !c.allowed:
					wantStatus(t, err, 403)
				}
			}
		})
	}
	for op := range table {
		if orgsOps[op] == nil {
			t.Errorf("%s has a row in %s but awssim does not serve it", op, callersFile)
		}
	}
}

// TestOrgsCallersWords: every row's class is what its quoted sentence
// says, by the words each class requires and excludes (callerWords), and
// a sentence classed otherwise is refused.
func TestOrgsCallersWords(t *testing.T) {
	rows, err := parseOrgsCallers(orgsCallersTSV)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := r.check(); err != nil {
			t.Error(err)
		}
		for class := range callerWords {
			if class == r.class {
				continue
			}
			if (orgsCaller{r.op, class, r.sentence}).check() == nil {
				t.Errorf("%s: its sentence fits class %s as well as %s: %s", r.op, class, r.class, r.sentence)
			}
		}
	}
	bad := []string{
		"ListAccounts\tmanagement\tYou can only call this operation from the management account or a member account that is a delegated administrator.",
		"CreateAccount\tdelegated\tYou can only call this operation from the management account.",
		"ListRoots\tmember\tYou can only call this operation from the management account or a member account that is a delegated administrator.",
		"DescribeOrganization\tdelegated\tYou can call this operation from any account in a organization.",
		"ListRoots\tanyone\tYou can call this operation from any account in a organization.",
		"ListRoots\tmanagement",
	}
	for _, line := range bad {
		if _, err := parseOrgsCallers(line); err == nil {
			t.Errorf("parseOrgsCallers accepted %q", line)
		}
	}
}

// TestOrgsCallersMatchSDK holds the table to the documentation of each
// operation in the SDK package go.mod names (its doc comments are the API
// model's documentation): the same sentence, and the module version in
// the table's source line. With -update it rewrites the table.
func TestOrgsCallersMatchSDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}\t{{.Version}}", orgsModule).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", orgsModule, err)
	}
	dir, version, _ := strings.Cut(strings.TrimSpace(string(out)), "\t")
	var ops []string
	for op := range orgsOps {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	sdk := map[string]string{}
	for _, op := range ops {
		s, err := sdkCallerSentence(dir, op)
		if err != nil {
			t.Fatal(err)
		}
		sdk[op] = s
	}
	source := fmt.Sprintf("# source: %s %s, api_op_OPERATION.go, the doc comment of Client.OPERATION", orgsModule, version)
	if *update {
		var b strings.Builder
		b.WriteString("# Who may call each Organizations operation awssim serves: operation,\n" +
			"# class (management, delegated or member), and the sentence of the\n" +
			"# operation's documentation that says so, verbatim. See SOURCE.md.\n")
		b.WriteString(source + "\n")
		for _, op := range ops {
			class, err := classify(sdk[op])
			if err != nil {
				t.Fatalf("%s: %v", op, err)
			}
			fmt.Fprintf(&b, "%s\t%s\t%s\n", op, class, sdk[op])
		}
		if err := os.WriteFile(callersFile, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !strings.Contains(orgsCallersTSV, source+"\n") {
		t.Errorf("%s does not name the SDK in go.mod; want the line %q (go test -run TestOrgsCallersMatchSDK -update)", callersFile, source)
	}
	rows, err := parseOrgsCallers(orgsCallersTSV)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if want, ok := sdk[r.op]; ok && r.sentence != want {
			t.Errorf("%s: the table quotes %q, the SDK says %q (go test -run TestOrgsCallersMatchSDK -update)", r.op, r.sentence, want)
		}
	}
}

// classify is the one class whose words fit the sentence.
func classify(sentence string) (callerClass, error) {
	var fits []callerClass
	for class := range callerWords {
		if (orgsCaller{"", class, sentence}).check() == nil {
			fits = append(fits, class)
		}
	}
	if len(fits) != 1 {
		return "", fmt.Errorf("sentence %q fits classes %v, want exactly one", sentence, fits)
	}
	return fits[0], nil
}

var (
	docLineRE        = regexp.MustCompile(`^//\s?(.*)$`)
	sentenceRE       = regexp.MustCompile(`[^.]*\.`)
	callerSentenceRE = regexp.MustCompile(`call this operation|operation can be called`)
)

// sdkCallerSentence is the sentence of the operation's doc comment (in
// the SDK's api_op_OP.go) that says who may call it.
func sdkCallerSentence(dir, op string) (string, error) {
	file := filepath.Join(dir, "api_op_"+op+".go")
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	lines := strings.Split(string(b), "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "func (c *Client) "+op+"(") })
	if i < 0 {
		return "", fmt.Errorf("%s: no method %s", file, op)
	}
	start := i
	for start > 0 && docLineRE.MatchString(lines[start-1]) {
		start--
	}
	var doc []string
	for _, l := range lines[start:i] {
		doc = append(doc, docLineRE.FindStringSubmatch(l)[1])
	}
	text := strings.Join(strings.Fields(strings.Join(doc, " ")), " ")
	var found []string
	for _, s := range sentenceRE.FindAllString(text, -1) {
		if s = strings.TrimSpace(s); callerSentenceRE.MatchString(s) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("%s: %d sentences say who may call %s, want 1: %q", file, len(found), op, found)
	}
	return found[0], nil
}
