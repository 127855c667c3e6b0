package awssim

import (
	"net/http"
	"regexp"
	"slices"
	"sync"
)

// servicePrincipalRE is the shape of a service principal.
var servicePrincipalRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@-]*\.amazonaws\.com$`) })

// enableAWSServiceAccess turns on trusted access for a service. It is
// idempotent, as in AWS.
func enableAWSServiceAccess(c *call) (any, *apiError) {
	in, e := c.orgsInput()
	if e != nil {
		return nil, e
	}
	if !servicePrincipalRE().MatchString(in.ServicePrincipal) {
		return nil, invalidInput("UNRECOGNIZED_SERVICE_PRINCIPAL", "You specified a service principal that isn't recognized: %q.", in.ServicePrincipal)
	}
	org := &c.s.sc.Organization
	if !slices.Contains(org.TrustedAccess, in.ServicePrincipal) {
		org.TrustedAccess = append(org.TrustedAccess, in.ServicePrincipal)
	}
	return map[string]any{}, nil
}

// registerDelegatedAdministrator makes a member account a delegated
// administrator for a service that has trusted access.
func registerDelegatedAdministrator(c *call) (any, *apiError) {
	in, e := c.orgsInput()
	if e != nil {
		return nil, e
	}
	s := c.s
	org := &s.sc.Organization
	a := s.accounts[in.AccountId]
	switch {
	case a == nil:
		return nil, errf(http.StatusNotFound, "AccountNotFoundException", "You specified an account that doesn't exist.")
	case in.AccountId == org.ManagementAccount:
		return nil, constraintViolation("CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR", "You cannot register the management account as a delegated administrator.")
	case !slices.Contains(org.TrustedAccess, in.ServicePrincipal):
		return nil, constraintViolation("SERVICE_ACCESS_NOT_ENABLED", "You must enable trusted access for %s before you register a delegated administrator.", in.ServicePrincipal)
	}
	for _, d := range org.DelegatedAdministrators {
		if d.Account == in.AccountId && d.ServicePrincipal == in.ServicePrincipal {
			return nil, errf(http.StatusConflict, "AccountAlreadyRegisteredException", "The provided account is already a delegated administrator for your organization.")
		}
	}
	org.DelegatedAdministrators = append(org.DelegatedAdministrators, DelegatedAdministrator{
		Account: in.AccountId, ServicePrincipal: in.ServicePrincipal, Since: c.now,
	})
	return map[string]any{}, nil
}
