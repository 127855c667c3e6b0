package awssim

import (
	"regexp"
	"testing"
)

// TestPatterns compiles every pattern of the package (they are compiled on
// first use, so a bad one would otherwise surface only in the test that
// first needs it) and checks each against a value it must accept and one
// it must refuse.
func TestPatterns(t *testing.T) {
	for _, tc := range []struct {
		name      string
		re        func() *regexp.Regexp
		hit, miss string
	}{
		{"reChangeSetName", reChangeSetName, "rootguard-1", "1rootguard"},
		{"reVendEmail", reVendEmail, "payments@example.com", "payments@example"},
		{"reVendAccountName", reVendAccountName, "payments dev", "payments\tdev"},
		{"reVendRequestID", reVendRequestID, "car-12345678", "car-1234"},
		{"reVendParentID", reVendParentID, "ou-ab12-abcd1234", "ou-ab12"},
		{"servicePrincipalRE", servicePrincipalRE, "member.org.stacksets.cloudformation.amazonaws.com", "example.com"},
		{"reBucketName", reBucketName, "rootguard-trail", "Rootguard_Trail"},
		{"reRegion", reRegion, "ap-southeast-2", "apsoutheast2"},
		{"reOrgID", reOrgID, "o-exampleorg1", "o-short"},
		{"reRootID", reRootID, "r-ab12", "r-a"},
		{"reOUID", reOUID, "ou-ab12-abcd1234", "ou-ab12-abc"},
		{"reAccountID", reAccountID, "123456789012", "12345678901"},
		{"rePolicyID", rePolicyID, "p-FullAWSAccess", "p-short"},
		{"reKeyID", reKeyID, "AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE"},
		{"reCertID", reCertID, "ABCDEFGHIJKLMNOPQRSTUVWX", "ABCDEFGHIJKLMNOPQRSTUVW"},
		{"reHardware", reHardware, "GAHT12345678", "GAHT1234"},
		{"reName", reName, "rootguard-audit", "rootguard audit"},
		{"reQueueName", reQueueName, "rootguard-alerts", "rootguard.alerts"},
		{"reRoleARN", reRoleARN, "arn:aws:iam::123456789012:role/OrganizationAccountAccessRole", "arn:aws:iam::123456789012:user/admin"},
		{"reSessionName", reSessionName, "rootguard", "r"},
		{"reRootARN", reRootARN, "arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:role/root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			re := tc.re()
			if !re.MatchString(tc.hit) {
				t.Errorf("%s refuses %q", re, tc.hit)
			}
			if re.MatchString(tc.miss) {
				t.Errorf("%s accepts %q", re, tc.miss)
			}
			if tc.re() != re {
				t.Errorf("%s is compiled again on each use", re)
			}
		})
	}
}
