package awssim

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// TestTrustedAccessAndDelegatedAdministrators: EnableAWSServiceAccess and
// RegisterDelegatedAdministrator answer as the SDK's model documents them:
// reasons from its enums (InvalidInputExceptionReason,
// ConstraintViolationExceptionReason), statuses from its httpError traits.
func TestTrustedAccessAndDelegatedAdministrators(t *testing.T) {
	e := newEnv(t, nil, Options{})
	o := e.mgmt.orgs
	ctx := t.Context()

	_, err := o.EnableAWSServiceAccess(ctx, &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String("not a principal")})
	wantCode(t, err, "InvalidInputException")
	wantStatus(t, err, 400)
	if ie, ok := asType[*orgtypes.InvalidInputException](err); !ok || ie.Reason != orgtypes.InvalidInputExceptionReasonUnrecognizedServicePrincipal {
		t.Errorf("reason of %v, want UNRECOGNIZED_SERVICE_PRINCIPAL", err)
	}

	register := func(account, principal string) error {
		_, err := o.RegisterDelegatedAdministrator(ctx, &organizations.RegisterDelegatedAdministratorInput{
			AccountId: aws.String(account), ServicePrincipal: aws.String(principal)})
		return err
	}
	for _, tc := range []struct {
		account, principal string
		reason             orgtypes.ConstraintViolationExceptionReason
	}{
		{exMgmt, "iam.amazonaws.com", orgtypes.ConstraintViolationExceptionReasonCannotRegisterMasterAsDelegatedAdministrator},
		{exProd, "guardduty.amazonaws.com", orgtypes.ConstraintViolationExceptionReasonServiceAccessNotEnabled},
	} {
		err := register(tc.account, tc.principal)
		wantCode(t, err, "ConstraintViolationException")
		wantStatus(t, err, 409)
		if ce, ok := asType[*orgtypes.ConstraintViolationException](err); !ok || ce.Reason != tc.reason {
			t.Errorf("%s %s: %v, want reason %s", tc.account, tc.principal, err, tc.reason)
		}
	}
	err = register("999999999999", "iam.amazonaws.com")
	wantCode(t, err, "AccountNotFoundException")
	wantStatus(t, err, 404)

	// Trusted access first, then the registration, once.
	if _, err := o.EnableAWSServiceAccess(ctx, &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String("guardduty.amazonaws.com")}); err != nil {
		t.Fatal(err)
	}
	if err := register(exProd, "guardduty.amazonaws.com"); err != nil {
		t.Fatal(err)
	}
	err = register(exProd, "guardduty.amazonaws.com")
	wantCode(t, err, "AccountAlreadyRegisteredException")
	wantStatus(t, err, 409)
	out, err := o.ListDelegatedAdministrators(ctx, &organizations.ListDelegatedAdministratorsInput{ServicePrincipal: aws.String("guardduty.amazonaws.com")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.DelegatedAdministrators) != 1 || aws.ToString(out.DelegatedAdministrators[0].Id) != exProd {
		t.Errorf("delegated administrators for guardduty: %+v", out.DelegatedAdministrators)
	}
}

// asType unwraps err to the SDK error type T.
func asType[T error](err error) (T, bool) {
	var v T
	ok := errors.As(err, &v)
	return v, ok
}
