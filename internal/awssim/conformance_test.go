package awssim

import (
	"bufio"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/account"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/traits"
)

// The SDK conformance check: every answer awssim gives while the package's
// tests run is held to the aws-sdk-go-v2 packages in the module cache:
//
//   - every operation awssim serves is an operation of the service's SDK
//     client, and every one is exercised by some test;
//   - every error code an operation answers is an error shape of the
//     service's model (the SDK's schemas: the code, awsQueryError code for
//     the query protocol, and HTTP status) or, for the services whose SDK
//     has no schemas (S3, Security Hub, CloudTrail), an error type of its
//     types package; otherwise it is a common error AWS documents for every
//     operation (testdata/common-errors.tsv, each with its source);
//   - the HTTP status is the model's or the documented one;
//   - an Organizations InvalidInputException or ConstraintViolationException
//     carries a Reason, and the Reason is a value of the SDK's enum.
//
// The same holds statically for every code and reason literal in the
// package's source (TestSourceErrorsConform), so a code no test reaches
// cannot slip past either.

// served is what the server answered during the tests.
var served struct {
	sync.Mutex
	ops  map[string]bool // "svc:op" answered (success or error)
	errs map[answer]bool
}

type answer struct {
	svc, op, code, reason string
	status                int
}

func TestMain(m *testing.M) {
	flag.Parse()
	served.ops = map[string]bool{}
	served.errs = map[answer]bool{}
	observe = func(svc, op string, e *apiError) {
		served.Lock()
		defer served.Unlock()
		if op != "" {
			served.ops[svc+":"+op] = true
		}
		if e != nil {
			code := e.code
			if m, ok := sqsErrors[code]; ok && svc == svcSQS {
				// SQS's wire type (writeSQSError), by its shape name.
				_, code, _ = strings.Cut(m.typ, "#")
			}
			served.errs[answer{svc, op, code, e.reason, e.status}] = true
		}
	}
	code := m.Run()
	observe = nil
	// The walk needs the whole suite: a run narrowed by -run or -skip, or
	// a short one, sees only some operations.
	if code == 0 && flag.Lookup("test.run").Value.String() == "" &&
		flag.Lookup("test.skip").Value.String() == "" && !testing.Short() {
		if problems := checkServed(); len(problems) > 0 {
			fmt.Fprintln(os.Stderr, "--- FAIL: SDK conformance of what awssim served during the tests:")
			for _, p := range problems {
				fmt.Fprintln(os.Stderr, "    "+p)
			}
			code = 1
		}
	}
	os.Exit(code)
}

// sdkService is one service as the SDK models it.
type sdkService struct {
	client reflect.Type // *Client, for the operation names
	query  bool         // awsQuery protocol: codes from awsQueryError
	errors map[string]int
}

var sdkOnce = sync.OnceValues(loadSDK)

func loadSDK() (map[string]*sdkService, error) {
	svcs := map[string]*sdkService{
		svcSTS:         {client: reflect.TypeFor[*sts.Client](), query: true, errors: schemaErrors(sts.TypeRegistry, true)},
		svcIAM:         {client: reflect.TypeFor[*iam.Client](), query: true, errors: schemaErrors(iam.TypeRegistry, true)},
		svcCFN:         {client: reflect.TypeFor[*cloudformation.Client](), query: true, errors: schemaErrors(cloudformation.TypeRegistry, true)},
		svcOrgs:        {client: reflect.TypeFor[*organizations.Client](), errors: schemaErrors(organizations.TypeRegistry, false)},
		svcSQS:         {client: reflect.TypeFor[*sqs.Client](), errors: schemaErrors(sqs.TypeRegistry, false)},
		svcS3:          {client: reflect.TypeFor[*s3.Client]()},
		svcSecurityHub: {client: reflect.TypeFor[*securityhub.Client]()},
		svcCloudTrail:  {client: reflect.TypeFor[*cloudtrail.Client]()},
		svcAccount:     {client: reflect.TypeFor[*account.Client]()},
	}
	// S3, Security Hub, CloudTrail and Account have no schemas in this SDK
	// version: their modeled errors are the ErrorCode defaults of their
	// types package, and their statuses are documented
	// (testdata/common-errors.tsv).
	for svc, mod := range map[string]string{svcS3: "s3", svcSecurityHub: "securityhub", svcCloudTrail: "cloudtrail", svcAccount: "account"} {
		codes, err := typesErrorCodes("github.com/aws/aws-sdk-go-v2/service/" + mod)
		if err != nil {
			return nil, err
		}
		svcs[svc].errors = codes
	}
	return svcs, nil
}

// schemaErrors maps each error shape of a service to its HTTP status, by
// the code the protocol puts on the wire.
func schemaErrors(reg *smithy.TypeRegistry, query bool) map[string]int {
	out := map[string]int{}
	for _, e := range reg.Entries {
		s := e.Schema
		et, ok := smithy.SchemaTrait[*traits.Error](s)
		if !ok {
			continue
		}
		code, status := s.ID().Name, 400
		if et.Type == "server" {
			status = 500
		}
		if h, ok := smithy.SchemaTrait[*traits.HTTPError](s); ok {
			status = h.Code
		}
		if q, ok := smithy.SchemaTrait[*traits.AWSQueryError](s); ok && query {
			code, status = q.ErrorCode, q.StatusCode
		}
		out[code] = -status // negative: the status is the model's, compared below
	}
	return out
}

var errorCodeRE = regexp.MustCompile(`(?s)\) ErrorCode\(\) string \{\s*if (?:e == nil \|\| )?e\.ErrorCodeOverride == nil \{\s*return "([^"]+)"`)

// typesErrorCodes reads the error codes of a module's types/errors.go in
// the module cache.
func typesErrorCodes(module string) (map[string]int, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil {
		return nil, fmt.Errorf("go list -m %s: %w", module, err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "types", "errors.go"))
	if err != nil {
		return nil, err
	}
	codes := map[string]int{}
	for _, m := range errorCodeRE.FindAllStringSubmatch(string(b), -1) {
		codes[m[1]] = 0 // status documented, not modeled
	}
	if len(codes) == 0 {
		return nil, fmt.Errorf("%s: no error types found in types/errors.go", module)
	}
	return codes, nil
}

// commonError is a row of testdata/common-errors.tsv.
type commonError struct {
	status int
	source string
}

// commonErrors reads testdata/common-errors.tsv: service, code, status,
// source. Service "*query" stands for STS, IAM and CloudFormation, "*json"
// for Organizations, SQS, Security Hub and CloudTrail.
func commonErrors() (map[string]map[string]commonError, error) {
	f, err := os.Open("testdata/common-errors.tsv")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]map[string]commonError{}
	add := func(svc, code string, ce commonError) {
		if out[svc] == nil {
			out[svc] = map[string]commonError{}
		}
		out[svc][code] = ce
	}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		fs := strings.Split(t, "\t")
		if len(fs) != 4 || fs[3] == "" {
			return nil, fmt.Errorf("common-errors.tsv:%d: want service, code, status, source", line)
		}
		status, err := strconv.Atoi(fs[2])
		if err != nil {
			return nil, fmt.Errorf("common-errors.tsv:%d: status: %w", line, err)
		}
		ce := commonError{status, fs[3]}
		switch fs[0] {
		case "*query":
			for _, s := range []string{svcSTS, svcIAM, svcCFN} {
				add(s, fs[1], ce)
			}
		case "*json":
			for _, s := range []string{svcOrgs, svcSQS, svcSecurityHub, svcCloudTrail, svcAccount} {
				add(s, fs[1], ce)
			}
		default:
			add(fs[0], fs[1], ce)
		}
	}
	return out, sc.Err()
}

// checkError holds one answer to the SDK and the documented common errors.
func checkError(svcs map[string]*sdkService, common map[string]map[string]commonError, a answer) []string {
	var problems []string
	where := a.svc + ":" + a.op
	sv := svcs[a.svc]
	if sv == nil {
		// Before the service is known (no or bad credential scope) the
		// answer is a common error of whichever protocol was spoken.
		for _, s := range []string{"-", svcIAM, svcOrgs} {
			if ce, ok := common[s][a.code]; ok && ce.status == a.status {
				return nil
			}
		}
		return []string{fmt.Sprintf("%s: %s (%d) is no documented common error", where, a.code, a.status)}
	}
	if st, ok := sv.errors[a.code]; ok {
		switch {
		case st < 0 && -st != a.status:
			problems = append(problems, fmt.Sprintf("%s: %s answered with HTTP %d, the model says %d", where, a.code, a.status, -st))
		case st == 0:
			ce, ok := common[a.svc][a.code]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: %s is modeled without a status and testdata/common-errors.tsv documents none", where, a.code))
			} else if ce.status != a.status {
				problems = append(problems, fmt.Sprintf("%s: %s answered with HTTP %d, documented %d (%s)", where, a.code, a.status, ce.status, ce.source))
			}
		}
	} else if ce, ok := common[a.svc][a.code]; !ok {
		problems = append(problems, fmt.Sprintf("%s: %s is neither an error of the SDK's model nor a documented common error", where, a.code))
	} else if ce.status != a.status {
		problems = append(problems, fmt.Sprintf("%s: %s answered with HTTP %d, documented %d (%s)", where, a.code, a.status, ce.status, ce.source))
	}
	problems = append(problems, checkReason(a.svc, a.code, a.reason, where)...)
	return problems
}

// checkReason: Organizations' InvalidInputException and
// ConstraintViolationException carry a Reason of the SDK's enum; nothing
// else carries one.
func checkReason(svc, code, reason, where string) []string {
	var values []string
	switch {
	case svc == svcOrgs && code == "InvalidInputException":
		for _, v := range orgtypes.InvalidInputExceptionReason("").Values() {
			values = append(values, string(v))
		}
	case svc == svcOrgs && code == "ConstraintViolationException":
		for _, v := range orgtypes.ConstraintViolationExceptionReason("").Values() {
			values = append(values, string(v))
		}
	default:
		if reason != "" {
			return []string{fmt.Sprintf("%s: %s carries Reason %q, which its shape does not have", where, code, reason)}
		}
		return nil
	}
	if !slices.Contains(values, reason) {
		return []string{fmt.Sprintf("%s: %s Reason %q is not a value of the SDK's enum", where, code, reason)}
	}
	return nil
}

// servedOps lists "svc:op" for every operation awssim serves.
func servedOps() []string {
	var out []string
	for svc, ops := range map[string]map[string]handler{
		svcSTS: stsOps, svcIAM: iamOps, svcOrgs: orgsOps, svcCFN: cfnOps,
		svcS3: s3Ops, svcSQS: sqsOps, svcSecurityHub: securityHubOps, svcCloudTrail: cloudTrailOps,
		svcAccount: accountOps,
	} {
		for op := range ops {
			out = append(out, svc+":"+op)
		}
	}
	sort.Strings(out)
	return out
}

// checkServed is the walk over what the tests made awssim answer.
func checkServed() []string {
	svcs, err := sdkOnce()
	if err != nil {
		return []string{err.Error()}
	}
	common, err := commonErrors()
	if err != nil {
		return []string{err.Error()}
	}
	served.Lock()
	defer served.Unlock()
	var problems []string
	for _, k := range servedOps() {
		if !served.ops[k] {
			problems = append(problems, k+": served by awssim but exercised by no test")
		}
	}
	var answers []answer
	for a := range served.errs {
		answers = append(answers, a)
	}
	sort.Slice(answers, func(i, j int) bool { return fmt.Sprint(answers[i]) < fmt.Sprint(answers[j]) })
	for _, a := range answers {
		problems = append(problems, checkError(svcs, common, a)...)
	}
	return problems
}

// TestServedOperationsAreSDKOperations: every operation awssim serves is a
// method of its service's SDK client.
func TestServedOperationsAreSDKOperations(t *testing.T) {
	svcs, err := sdkOnce()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range servedOps() {
		svc, op, _ := strings.Cut(k, ":")
		if _, ok := svcs[svc].client.MethodByName(op); !ok {
			t.Errorf("%s: %s has no operation %s", k, svcs[svc].client, op)
		}
	}
}

// TestSourceErrorsConform: every error code and Organizations reason
// written as a literal in awssim's source is one the SDK models for some
// simulated service, or a documented common error; reasons are values of
// the SDK's enums.
func TestSourceErrorsConform(t *testing.T) {
	svcs, err := sdkOnce()
	if err != nil {
		t.Fatal(err)
	}
	common, err := commonErrors()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, sv := range svcs {
		for c := range sv.errors {
			known[c] = true
		}
	}
	for _, m := range common {
		for c := range m {
			known[c] = true
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	n := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(node ast.Node) bool {
			call, ok := node.(*ast.CallExpr)
			if !ok {
				return true
			}
			id, ok := call.Fun.(*ast.Ident)
			if !ok {
				return true
			}
			lit := func(i int) (string, bool) {
				if len(call.Args) <= i {
					return "", false
				}
				bl, ok := call.Args[i].(*ast.BasicLit)
				if !ok || bl.Kind != token.STRING {
					return "", false
				}
				s, err := strconv.Unquote(bl.Value)
				return s, err == nil
			}
			pos := fset.Position(call.Pos())
			switch id.Name {
			case "errf":
				if code, ok := lit(1); ok {
					n++
					if !known[code] {
						t.Errorf("%s: error code %q is neither modeled by the SDK nor a documented common error", pos, code)
					}
				}
			case "invalidInput":
				if r, ok := lit(0); ok {
					n++
					for _, p := range checkReason(svcOrgs, "InvalidInputException", r, pos.String()) {
						t.Error(p)
					}
				}
			case "constraintViolation":
				if r, ok := lit(0); ok {
					n++
					for _, p := range checkReason(svcOrgs, "ConstraintViolationException", r, pos.String()) {
						t.Error(p)
					}
				}
			}
			return true
		})
	}
	if n < 50 {
		t.Errorf("found only %d error literals in the source; the walk is broken", n)
	}
}

// TestConformanceCheckCatches: the checks fail on what they exist to
// catch.
func TestConformanceCheckCatches(t *testing.T) {
	svcs, err := sdkOnce()
	if err != nil {
		t.Fatal(err)
	}
	common, err := commonErrors()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		a    answer
		want string // "" for conforming
	}{
		{answer{svcIAM, "DeleteVirtualMFADevice", "DeleteConflict", "", 409}, ""},
		{answer{svcIAM, "DeleteVirtualMFADevice", "DeleteConflict", "", 400}, "the model says 409"},
		{answer{svcIAM, "GetUser", "NoSuchEntityException", "", 404}, "neither an error"},
		{answer{svcOrgs, "EnableAWSServiceAccess", "InvalidInputException", "INVALID_SERVICE_PRINCIPAL", 400}, "not a value of the SDK's enum"},
		{answer{svcOrgs, "RegisterDelegatedAdministrator", "ConstraintViolationException", "", 409}, "not a value of the SDK's enum"},
		{answer{svcOrgs, "RegisterDelegatedAdministrator", "ConstraintViolationException", "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR", 409}, ""},
		{answer{svcOrgs, "RegisterDelegatedAdministrator", "ConstraintViolationException", "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR", 400}, "the model says 409"},
		{answer{svcSQS, "GetQueueUrl", "QueueDoesNotExist", "", 400}, ""},
		{answer{svcS3, "GetBucketPolicy", "NoSuchBucketPolicy", "", 404}, ""},
		{answer{svcS3, "GetBucketPolicy", "NoSuchBucketPolicy", "", 400}, "documented 404"},
		{answer{svcSTS, "AssumeRoot", "AccessDenied", "", 403}, ""},
	} {
		got := strings.Join(checkError(svcs, common, tc.a), "; ")
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%v: got %q, want %q", tc.a, got, tc.want)
		}
	}
}
