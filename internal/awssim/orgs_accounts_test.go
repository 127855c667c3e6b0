package awssim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// createAndWait creates an account and describes its request until it
// is no longer IN_PROGRESS, returning every state seen.
func createAndWait(t *testing.T, o *organizations.Client, in *organizations.CreateAccountInput) (*orgtypes.CreateAccountStatus, []orgtypes.CreateAccountState) {
	t.Helper()
	out, err := o.CreateAccount(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	st := out.CreateAccountStatus
	states := []orgtypes.CreateAccountState{st.State}
	for i := 0; st.State == orgtypes.CreateAccountStateInProgress; i++ {
		if i > 10 {
			t.Fatalf("request %s still IN_PROGRESS", aws.ToString(st.Id))
		}
		d, err := o.DescribeCreateAccountStatus(t.Context(), &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: st.Id})
		if err != nil {
			t.Fatalf("DescribeCreateAccountStatus: %v", err)
		}
		st = d.CreateAccountStatus
		states = append(states, st.State)
	}
	return st, states
}

// TestCreateAccount creates an account through the real Organizations
// client: the request goes IN_PROGRESS then SUCCEEDED after the
// configured number of describes, and the new account is ACTIVE under
// the root, listed, enterable with AssumeRoot and without root
// credentials.
func TestCreateAccount(t *testing.T) {
	clk := newClock()
	e := newEnv(t, nil, Options{Now: clk.now})
	e.srv.SetCreateAccountTiming(CreateAccountTiming{Delay: time.Hour, Describes: 2})
	ctx := t.Context()
	o := e.mgmt.orgs

	st, states := createAndWait(t, o, &organizations.CreateAccountInput{
		AccountName: aws.String("payments-dev"), Email: aws.String("aws-payments-dev@example.com"),
		IamUserAccessToBilling: orgtypes.IAMUserAccessToBillingAllow,
	})
	if want := []orgtypes.CreateAccountState{"IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED"}; !slices.Equal(states, want) {
		t.Errorf("states %v, want %v", states, want)
	}
	id := aws.ToString(st.AccountId)
	if !reAccountID().MatchString(id) || aws.ToString(st.AccountName) != "payments-dev" || st.CompletedTimestamp == nil ||
		!st.RequestedTimestamp.Equal(clk.now()) || st.FailureReason != "" || !reVendRequestID().MatchString(aws.ToString(st.Id)) {
		t.Errorf("status %+v", st)
	}

	d, err := o.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if a := d.Account; a.State != orgtypes.AccountStateActive || a.JoinedMethod != orgtypes.AccountJoinedMethodCreated ||
		aws.ToString(a.Email) != "aws-payments-dev@example.com" {
		t.Errorf("account %+v", a)
	}
	p, err := o.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(id)})
	if err != nil || len(p.Parents) != 1 || aws.ToString(p.Parents[0].Id) != exRootID {
		t.Fatalf("parents %+v, %v", p, err)
	}
	list, err := o.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String(exRootID)})
	if err != nil || len(list.Accounts) != 3 {
		t.Fatalf("accounts under the root: %+v, %v", list, err)
	}

	// The root user has no credential at all; the default role exists.
	root := e.assumeRoot(id, "IAMAuditRootUserCredentials")
	sum, err := root.iam.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"AccountMFAEnabled", "AccountAccessKeysPresent", "AccountSigningCertificatesPresent"} {
		if sum.SummaryMap[k] != 0 {
			t.Errorf("%s = %d, want 0", k, sum.SummaryMap[k])
		}
	}
	if _, err := root.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{}); errCode(err) != "NoSuchEntity" {
		t.Errorf("GetLoginProfile: %v, want NoSuchEntity", err)
	}
	e.assumeRole(id)

	// Moved to an OU, it is that OU's child and the OU's SCPs apply.
	if _, err := o.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id),
		SourceParentId: aws.String(exRootID), DestinationParentId: aws.String("ou-ex12-prod0001")}); err != nil {
		t.Fatal(err)
	}
	p, err = o.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(id)})
	if err != nil || aws.ToString(p.Parents[0].Id) != "ou-ex12-prod0001" {
		t.Fatalf("parents after the move %+v, %v", p, err)
	}
	pols, err := o.ListPoliciesForTarget(ctx, &organizations.ListPoliciesForTargetInput{TargetId: aws.String("ou-ex12-workload"), Filter: orgtypes.PolicyTypeServiceControlPolicy})
	if err != nil || len(pols.Policies) != 2 {
		t.Fatalf("policies %+v, %v", pols, err)
	}

	// The request stays listed, and a state filter applies.
	ls, err := o.ListCreateAccountStatus(ctx, &organizations.ListCreateAccountStatusInput{States: []orgtypes.CreateAccountState{orgtypes.CreateAccountStateSucceeded}})
	if err != nil || len(ls.CreateAccountStatuses) != 1 || aws.ToString(ls.CreateAccountStatuses[0].AccountId) != id {
		t.Fatalf("ListCreateAccountStatus %+v, %v", ls, err)
	}
	ls, err = o.ListCreateAccountStatus(ctx, &organizations.ListCreateAccountStatusInput{States: []orgtypes.CreateAccountState{orgtypes.CreateAccountStateFailed}})
	if err != nil || len(ls.CreateAccountStatuses) != 0 {
		t.Fatalf("failed requests %+v, %v", ls, err)
	}
}

// TestCreateAccountDelay completes a request by the clock alone.
func TestCreateAccountDelay(t *testing.T) {
	clk := newClock()
	e := newEnv(t, nil, Options{Now: clk.now})
	e.srv.SetCreateAccountTiming(CreateAccountTiming{Delay: time.Minute})
	o := e.mgmt.orgs
	out, err := o.CreateAccount(t.Context(), &organizations.CreateAccountInput{AccountName: aws.String("a"), Email: aws.String("a@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		d, err := o.DescribeCreateAccountStatus(t.Context(), &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: out.CreateAccountStatus.Id})
		if err != nil || d.CreateAccountStatus.State != orgtypes.CreateAccountStateInProgress {
			t.Fatalf("before the delay: %+v, %v", d, err)
		}
	}
	clk.advance(time.Minute)
	ls, err := o.ListCreateAccountStatus(t.Context(), &organizations.ListCreateAccountStatusInput{})
	if err != nil || len(ls.CreateAccountStatuses) != 1 || ls.CreateAccountStatuses[0].State != orgtypes.CreateAccountStateSucceeded {
		t.Fatalf("after the delay: %+v, %v", ls, err)
	}
}

// TestCreateAccountFailures: a taken email and an injected reason fail
// the request asynchronously, with FailureReason; bad input fails the
// call with InvalidInputException and its reason.
func TestCreateAccountFailures(t *testing.T) {
	e := newEnv(t, nil, Options{})
	e.srv.SetCreateAccountTiming(CreateAccountTiming{Describes: 1})
	o := e.mgmt.orgs
	for _, tc := range []struct {
		email, inject string
		want          orgtypes.CreateAccountFailureReason
	}{
		{"aws-prod@example.com", "", orgtypes.CreateAccountFailureReasonEmailAlreadyExists},
		{"new@example.com", "ACCOUNT_LIMIT_EXCEEDED", orgtypes.CreateAccountFailureReasonAccountLimitExceeded},
	} {
		if tc.inject != "" {
			e.srv.FailCreateAccount(tc.email, tc.inject)
		}
		st, states := createAndWait(t, o, &organizations.CreateAccountInput{AccountName: aws.String("x"), Email: aws.String(tc.email)})
		if st.State != orgtypes.CreateAccountStateFailed || st.FailureReason != tc.want || st.AccountId != nil || len(states) != 2 {
			t.Errorf("%s: status %+v (states %v), want FAILED %s", tc.email, st, states, tc.want)
		}
	}
	// An injected failure is used once.
	if st, _ := createAndWait(t, o, &organizations.CreateAccountInput{AccountName: aws.String("x"), Email: aws.String("new@example.com")}); st.State != orgtypes.CreateAccountStateSucceeded {
		t.Errorf("second request: %+v", st)
	}
	// Two requests in flight for one email: the second fails.
	e.srv.SetCreateAccountTiming(CreateAccountTiming{Describes: 5})
	_, err := o.CreateAccount(t.Context(), &organizations.CreateAccountInput{AccountName: aws.String("y"), Email: aws.String("y@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.SetCreateAccountTiming(CreateAccountTiming{Describes: 1})
	if st, _ := createAndWait(t, o, &organizations.CreateAccountInput{AccountName: aws.String("y2"), Email: aws.String("y@example.com")}); st.FailureReason != orgtypes.CreateAccountFailureReasonEmailAlreadyExists {
		t.Errorf("duplicate in flight: %+v", st)
	}

	for _, tc := range []struct {
		name   string
		in     organizations.CreateAccountInput
		reason orgtypes.InvalidInputExceptionReason
	}{
		{"empty email", organizations.CreateAccountInput{AccountName: aws.String("x"), Email: aws.String("")}, orgtypes.InvalidInputExceptionReasonInputRequired},
		{"bad email", organizations.CreateAccountInput{AccountName: aws.String("x"), Email: aws.String("not-an-email")}, orgtypes.InvalidInputExceptionReasonInvalidPattern},
		{"short email", organizations.CreateAccountInput{AccountName: aws.String("x"), Email: aws.String("a@b.c")}, orgtypes.InvalidInputExceptionReasonMinLengthExceeded},
		{"empty name", organizations.CreateAccountInput{AccountName: aws.String(""), Email: aws.String("x@example.com")}, orgtypes.InvalidInputExceptionReasonInputRequired},
		{"long name", organizations.CreateAccountInput{AccountName: aws.String(string(make([]byte, 51))), Email: aws.String("x@example.com")}, orgtypes.InvalidInputExceptionReasonMaxLengthExceeded},
		{"bad name", organizations.CreateAccountInput{AccountName: aws.String("tab\there"), Email: aws.String("x@example.com")}, orgtypes.InvalidInputExceptionReasonInvalidPattern},
		{"bad billing", organizations.CreateAccountInput{AccountName: aws.String("x"), Email: aws.String("x@example.com"), IamUserAccessToBilling: "MAYBE"}, orgtypes.InvalidInputExceptionReasonInvalidEnum},
		{"bad role", organizations.CreateAccountInput{AccountName: aws.String("x"), Email: aws.String("x@example.com"), RoleName: aws.String("no spaces")}, orgtypes.InvalidInputExceptionReasonInvalidRoleName},
	} {
		_, err := o.CreateAccount(t.Context(), &tc.in)
		var iie *orgtypes.InvalidInputException
		if !errors.As(err, &iie) || iie.Reason != tc.reason {
			t.Errorf("%s: %v, want InvalidInputException %s", tc.name, err, tc.reason)
		}
	}

	_, err = o.DescribeCreateAccountStatus(t.Context(), &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: aws.String("car-00000000000000000000000000000000")})
	var nf *orgtypes.CreateAccountStatusNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("unknown request: %v, want CreateAccountStatusNotFoundException", err)
	}
	_, err = o.DescribeCreateAccountStatus(t.Context(), &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: aws.String("nope")})
	var iie *orgtypes.InvalidInputException
	if !errors.As(err, &iie) || iie.Reason != orgtypes.InvalidInputExceptionReasonInvalidPattern {
		t.Errorf("malformed request id: %v", err)
	}
	_, err = o.ListCreateAccountStatus(t.Context(), &organizations.ListCreateAccountStatusInput{States: []orgtypes.CreateAccountState{"DONE"}})
	if !errors.As(err, &iie) || iie.Reason != orgtypes.InvalidInputExceptionReasonInvalidEnum {
		t.Errorf("bad state filter: %v", err)
	}
}

// TestVendingAccessDenied: only the management account creates and moves
// accounts ("You can only call this operation from the management
// account."); a delegated administrator's role session cannot.
func TestVendingAccessDenied(t *testing.T) {
	e := newEnv(t, nil, Options{})
	member := e.assumeRole(exSecurity)
	_, err := member.orgs.CreateAccount(t.Context(), &organizations.CreateAccountInput{AccountName: aws.String("x"), Email: aws.String("x@example.com")})
	var ad *orgtypes.AccessDeniedException
	if !errors.As(err, &ad) {
		t.Errorf("CreateAccount from a member: %v, want AccessDeniedException", err)
	}
	_, err = member.orgs.MoveAccount(t.Context(), &organizations.MoveAccountInput{AccountId: aws.String(exInvited),
		SourceParentId: aws.String(exRootID), DestinationParentId: aws.String("ou-ex12-sandbox1")})
	if !errors.As(err, &ad) {
		t.Errorf("MoveAccount from a member: %v, want AccessDeniedException", err)
	}
}

// TestMoveAccountErrors checks MoveAccount's typed errors.
func TestMoveAccountErrors(t *testing.T) {
	e := newEnv(t, nil, Options{})
	o := e.mgmt.orgs
	move := func(acct, src, dst string) error {
		_, err := o.MoveAccount(t.Context(), &organizations.MoveAccountInput{AccountId: aws.String(acct), SourceParentId: aws.String(src), DestinationParentId: aws.String(dst)})
		return err
	}
	var (
		anf *orgtypes.AccountNotFoundException
		snf *orgtypes.SourceParentNotFoundException
		dnf *orgtypes.DestinationParentNotFoundException
		dup *orgtypes.DuplicateAccountException
		iie *orgtypes.InvalidInputException
	)
	for _, tc := range []struct {
		name          string
		acct, src, dd string
		target        any
	}{
		{"unknown account", "999999999999", exRootID, "ou-ex12-sandbox1", &anf},
		{"not in the source", exProd, exRootID, "ou-ex12-sandbox1", &anf},
		{"unknown source", exInvited, "ou-ex12-nosuchou", "ou-ex12-sandbox1", &snf},
		{"unknown destination", exInvited, exRootID, "ou-ex12-nosuchou", &dnf},
		{"already there", exInvited, exRootID, exRootID, &dup},
		{"malformed account", "12345", exRootID, "ou-ex12-sandbox1", &iie},
		{"malformed parent", exInvited, "root", "ou-ex12-sandbox1", &iie},
	} {
		if err := move(tc.acct, tc.src, tc.dd); !errors.As(err, tc.target) {
			t.Errorf("%s: %v, want %T", tc.name, err, tc.target)
		}
	}
	if err := move(exInvited, exRootID, "ou-ex12-sandbox1"); err != nil {
		t.Fatal(err)
	}
	out, err := o.ListAccountsForParent(t.Context(), &organizations.ListAccountsForParentInput{ParentId: aws.String("ou-ex12-sandbox1")})
	if err != nil || len(out.Accounts) != 2 {
		t.Errorf("sandbox OU after the move: %+v, %v", out, err)
	}
}

// TestCreateAccountResultRecorded: when a CreateAccount request
// completes, awssim records Organizations' CreateAccountResult service
// event as the Organizations User Guide shows it (every field of the
// documented records), in the management account and us-east-1, and
// delivers it to EventBridge as an "AWS Service Event via CloudTrail".
func TestCreateAccountResultRecorded(t *testing.T) {
	e := newEnv(t, nil, Options{})
	e.srv.SetCreateAccountTiming(CreateAccountTiming{Describes: 1})
	o := e.mgmt.orgs
	ok, _ := createAndWait(t, o, &organizations.CreateAccountInput{AccountName: aws.String("vended"), Email: aws.String("vended@example.com")})
	e.srv.FailCreateAccount("refused@example.com", "EMAIL_ALREADY_EXISTS")
	failed, _ := createAndWait(t, o, &organizations.CreateAccountInput{AccountName: aws.String("refused"), Email: aws.String("refused@example.com")})

	byState := map[string]map[string]any{}
	for _, raw := range e.srv.TrailRecords() {
		if m := decodeRecord(t, raw); m["eventName"] == "CreateAccountResult" {
			byState[fmt.Sprint(get(m, "serviceEventDetails.createAccountStatus.state"))] = m
		}
	}
	for _, tc := range []struct {
		doc, state string
		st         *orgtypes.CreateAccountStatus
	}{
		{"createaccountresult-succeeded.json", "SUCCEEDED", ok},
		{"createaccountresult-failed.json", "FAILED", failed},
	} {
		raw, err := os.ReadFile(filepath.Join("testdata", "cloudtrail", tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		rec := byState[tc.state]
		if rec == nil {
			t.Fatalf("no %s CreateAccountResult record", tc.state)
		}
		want, got := map[string]bool{}, map[string]bool{}
		jsonPaths(decodeRecord(t, raw), "", want)
		jsonPaths(rec, "", got)
		for p := range want {
			if !got[p] {
				t.Errorf("%s record lacks %s, which %s has", tc.state, p, tc.doc)
			}
		}
		for p, v := range map[string]any{
			"eventType": "AwsServiceEvent", "awsRegion": "us-east-1", "recipientAccountId": exMgmt, "userIdentity.accountId": exMgmt,
			"serviceEventDetails.createAccountStatus.id": aws.ToString(tc.st.Id), "requestParameters": nil,
		} {
			if got := get(rec, p); got != v {
				t.Errorf("%s: %s = %v, want %v", tc.state, p, got, v)
			}
		}
	}
	if got := get(byState["SUCCEEDED"], "serviceEventDetails.createAccountStatus.accountId"); got != aws.ToString(ok.AccountId) {
		t.Errorf("accountId %v, want %s", got, aws.ToString(ok.AccountId))
	}
	if got := get(byState["FAILED"], "serviceEventDetails.createAccountStatus.failureReason"); got != "EMAIL_ALREADY_EXISTS" {
		t.Errorf("failureReason %v", got)
	}
	n := 0
	for _, ev := range e.srv.TrailEvents() {
		if bytes.Contains(ev, []byte(`"eventName":"CreateAccountResult"`)) {
			n++
			if !bytes.Contains(ev, []byte(`"detail-type":"AWS Service Event via CloudTrail"`)) || !bytes.Contains(ev, []byte(`"source":"aws.organizations"`)) {
				t.Errorf("event %s", ev)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d CreateAccountResult events, want 2", n)
	}
}
