package awssim

import "testing"

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "anything", true},
		{"arn:aws:iam::*:root", "arn:aws:iam::123456789012:root", true},
		{"arn:aws:iam::*:root", "arn:aws:iam::123456789012:user/root", false},
		{"iam:Get*", "iam:GetUser", true},
		{"iam:Get*", "iam:ListUsers", false},
		{"iam:???User", "iam:GetUser", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"", "", true},
		{"", "x", false},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v", tt.pattern, tt.s, got)
		}
	}
}

// TestPolicyEvaluation: Deny statements against the request context of
// root sessions, real root use and role sessions.
func TestPolicyEvaluation(t *testing.T) {
	rootSession := requestContext{action: "iam:GetUser", resource: "arn:aws:iam::222222222222:root", keys: map[string]string{
		"aws:principalarn": "arn:aws:iam::222222222222:root", "aws:principalaccount": "222222222222", "aws:assumedroot": "true",
	}}
	realRoot := requestContext{action: "iam:GetUser", resource: "arn:aws:iam::222222222222:root", keys: map[string]string{
		"aws:principalarn": "arn:aws:iam::222222222222:root", "aws:principalaccount": "222222222222",
	}}
	role := requestContext{action: "iam:GetUser", resource: "arn:aws:iam::222222222222:role/Admin", keys: map[string]string{
		"aws:principalarn": "arn:aws:iam::222222222222:role/Admin", "aws:principalaccount": "222222222222",
	}}
	tests := []struct {
		name   string
		policy string
		rc     requestContext
		want   bool
	}{
		{"deny root: root session", denyRootPolicy, rootSession, true},
		{"deny root: real root", denyRootPolicy, realRoot, true},
		{"deny root: role", denyRootPolicy, role, false},
		{"exemption: root session", denyRootExceptAssumedRootPolicy, rootSession, false},
		{"exemption: real root", denyRootExceptAssumedRootPolicy, realRoot, true},
		{"allow only", fullAWSAccessContent, rootSession, false},
		{"NotAction", `{"Statement":{"Effect":"Deny","NotAction":["iam:Get*","sts:*"],"Resource":"*"}}`, rootSession, false},
		{"NotAction miss", `{"Statement":{"Effect":"Deny","NotAction":"s3:*","Resource":"*"}}`, rootSession, true},
		{"other action", `{"Statement":[{"Effect":"Deny","Action":"iam:Delete*","Resource":"*"}]}`, rootSession, false},
		{"resource", `{"Statement":[{"Effect":"Deny","Action":"*","Resource":"arn:aws:iam::*:role/*"}]}`, role, true},
		{"resource miss", `{"Statement":[{"Effect":"Deny","Action":"*","Resource":"arn:aws:iam::*:role/*"}]}`, rootSession, false},
		{"StringNotEquals absent key", `{"Statement":[{"Effect":"Deny","Action":"*","Condition":{"StringNotEquals":{"aws:PrincipalTag/team":"sec"}}}]}`, role, true},
		{"StringEquals absent key", `{"Statement":[{"Effect":"Deny","Action":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"sec"}}}]}`, role, false},
		{"IfExists absent key", `{"Statement":[{"Effect":"Deny","Action":"*","Condition":{"StringEqualsIfExists":{"aws:PrincipalTag/team":"sec"}}}]}`, role, true},
		{"Bool", `{"Statement":[{"Effect":"Deny","Action":"*","Condition":{"Bool":{"aws:AssumedRoot":"true"}}}]}`, rootSession, true},
		{"account list", `{"Statement":[{"Effect":"Deny","Action":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":["111111111111","222222222222"]}}}]}`, role, true},
		{"unknown operator", `{"Statement":[{"Effect":"Deny","Action":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}}]}`, role, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := parsePolicy(tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			if _, got := doc.denies(tt.rc); got != tt.want {
				t.Errorf("denies = %v, want %v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{`[]`, `{"Statement":[]}`, `{"Statement":[{"Effect":"Maybe","Action":"*"}]}`, `{"Statement":[{"Effect":"Deny"}]}`, `{"Statement":[{"Effect":"Deny","Action":3}]}`} {
		if _, err := parsePolicy(bad); err == nil {
			t.Errorf("parsed %s", bad)
		}
	}
}
