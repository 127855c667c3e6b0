package scp

import (
	"strings"
	"testing"
)

// fullAWSAccess is the AWS managed SCP that AWS Organizations attaches to
// every root, OU and account when SCPs are enabled.
const fullAWSAccess = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

func pol(t testing.TB, id, content string) Policy {
	t.Helper()
	d, err := Parse(content)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	return Policy{ID: id, Name: id, Doc: d}
}

// chain builds root -> OU -> account levels, each with FullAWSAccess and
// the extra policies given for it.
func chain(t testing.TB, root, ou, acct []string) []Level {
	t.Helper()
	level := func(target, name string, extra []string) Level {
		lv := Level{Target: target, Name: name, Policies: []Policy{pol(t, "p-FullAWSAccess", fullAWSAccess)}}
		for i, c := range extra {
			lv.Policies = append(lv.Policies, pol(t, target+"-p"+string(rune('1'+i)), c))
		}
		return lv
	}
	return []Level{level("r-ex12", "Root", root), level("ou-ex12-prod", "Prod", ou), level("222222222222", "prod", acct)}
}

// rootSession is the request context a centralized root session carries
// (sts:AssumeRoot): the principal is the account's root user, and
// aws:AssumedRoot is true. IAM User Guide, AWS global condition context
// keys: "aws:AssumedRoot ... Use this key to check if a request was made
// using AssumeRoot"; aws:PrincipalArn for the root user is
// arn:aws:iam::<account>:root.
func rootSession(action, region string) Request {
	return Request{Action: action, Resource: "arn:aws:iam::222222222222:root", Context: map[string][]string{
		"aws:PrincipalArn":     {"arn:aws:iam::222222222222:root"},
		"aws:PrincipalAccount": {"222222222222"},
		"aws:AssumedRoot":      {"true"},
		"aws:RequestedRegion":  {region},
	}}
}

// rootUser is the same call signed with the root user's own credentials:
// no aws:AssumedRoot key.
func rootUser(action, region string) Request {
	r := rootSession(action, region)
	delete(r.Context, "aws:AssumedRoot")
	return r
}

func TestEvaluate(t *testing.T) {
	const (
		// AWS's own example (service-control-policy-examples,
		// Prevent-root-credentials-management-in-member-accounts): deny
		// root except centralized root sessions.
		denyRootExceptSessions = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*",
			"Condition":{"ArnLike":{"aws:PrincipalArn":["arn:aws:iam::*:root"]},"Null":{"aws:AssumedRoot":"true"}}}]}`
		// The older form with no exemption: blocks root sessions too.
		denyRoot = `{"Version":"2012-10-17","Statement":[{"Sid":"DenyRootUser","Effect":"Deny","Action":"*","Resource":"*",
			"Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"}}}]}`
		// Exemption spelled with a Bool test instead of Null.
		denyRootBoolExempt = `{"Statement":{"Effect":"Deny","Action":"*","Resource":"*",
			"Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"},"BoolIfExists":{"aws:AssumedRoot":"false"}}}}`
		// Mentions aws:AssumedRoot but denies exactly the root sessions.
		denyOnlySessions = `{"Statement":{"Sid":"NoRootSessions","Effect":"Deny","Action":"*","Resource":"*",
			"Condition":{"Bool":{"aws:AssumedRoot":"true"}}}}`
		// Inverted: deny everyone except principals that are not root.
		invertedRoot = `{"Statement":{"Sid":"OnlyRolesMayAct","Effect":"Deny","Action":"*","Resource":"*",
			"Condition":{"StringNotLike":{"aws:PrincipalArn":["arn:aws:iam::*:role/*","arn:aws:iam::*:user/*"]}}}}`
		// NotAction: deny everything but a few read actions.
		notActionReads = `{"Statement":{"Sid":"ReadOnly","Effect":"Deny","NotAction":["iam:Get*","iam:List*","s3:Get*","sqs:Get*","sqs:List*","s3:ListAllMyBuckets"],"Resource":"*"}}`
		// Region deny, the shape of AWS's example: everything outside
		// eu-west-1 except global services.
		regionDeny = `{"Statement":{"Sid":"DenyOutsideEU","Effect":"Deny","NotAction":["iam:*","organizations:*","sts:*","support:*"],"Resource":"*",
			"Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1"]}}}}`
		// Quarantine: deny everything.
		quarantine = `{"Statement":{"Sid":"Quarantine","Effect":"Deny","Action":"*","Resource":"*"}}`
		// Deny one action no task session uses.
		denyOneUnused = `{"Statement":{"Sid":"NoAccountClose","Effect":"Deny","Action":"account:CloseAccount","Resource":"*",
			"Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"}}}}`
		// NotResource: deny writes to anything but one bucket.
		notResource = `{"Statement":{"Sid":"OnlyLogs","Effect":"Deny","Action":"s3:PutBucketPolicy","NotResource":"arn:aws:s3:::logs-*"}}`
		// NotPrincipal (not SCP grammar, evaluated as IAM does).
		notPrincipal = `{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::*:role/Admin"},"Action":"iam:Delete*","Resource":"*"}}`
		// An allow list instead of FullAWSAccess.
		allowIAMReadOnly = `{"Statement":{"Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}}`
		allowS3          = `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`
		// A condition the evaluator cannot judge.
		unknownOp = `{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}`
		// Policy variable: deny acting on other accounts' root.
		policyVar = `{"Statement":{"Sid":"OwnRootOnly","Effect":"Deny","Action":"iam:*","NotResource":"arn:aws:iam::${aws:PrincipalAccount}:root"}}`
	)
	tests := []struct {
		name          string
		root, ou, acc []string
		replaceOU     []string // policies instead of FullAWSAccess at the OU
		req           Request
		want          Decision
		wantStatement string
	}{
		{"FullAWSAccess everywhere", nil, nil, nil, nil, rootSession("iam:GetUser", "us-east-1"), Allowed, ""},
		{"deny root except sessions: a session passes", []string{denyRootExceptSessions}, nil, nil, nil, rootSession("iam:GetUser", "us-east-1"), Allowed, ""},
		{"deny root except sessions: the root user is denied", []string{denyRootExceptSessions}, nil, nil, nil, rootUser("iam:GetUser", "us-east-1"), ExplicitDeny, "statement 1"},
		{"deny root without exemption blocks sessions", nil, []string{denyRoot}, nil, nil, rootSession("iam:ListAccessKeys", "us-east-1"), ExplicitDeny, "DenyRootUser"},
		{"BoolIfExists exemption", nil, nil, []string{denyRootBoolExempt}, nil, rootSession("iam:GetUser", "us-east-1"), Allowed, ""},
		{"BoolIfExists exemption still denies the root user", nil, nil, []string{denyRootBoolExempt}, nil, rootUser("iam:GetUser", "us-east-1"), ExplicitDeny, "statement 1"},
		{"mentions AssumedRoot yet denies sessions", []string{denyOnlySessions}, nil, nil, nil, rootSession("iam:GetUser", "us-east-1"), ExplicitDeny, "NoRootSessions"},
		{"inverted condition catches root", nil, []string{invertedRoot}, nil, nil, rootSession("iam:GetUser", "us-east-1"), ExplicitDeny, "OnlyRolesMayAct"},
		{"NotAction lets reads through", nil, nil, []string{notActionReads}, nil, rootSession("iam:ListMFADevices", "us-east-1"), Allowed, ""},
		{"NotAction denies a deletion", nil, nil, []string{notActionReads}, nil, rootSession("iam:DeleteLoginProfile", "us-east-1"), ExplicitDeny, "ReadOnly"},
		{"region deny spares IAM", []string{regionDeny}, nil, nil, nil, rootSession("iam:DeleteAccessKey", "us-east-1"), Allowed, ""},
		{"region deny blocks S3 outside eu-west-1", []string{regionDeny}, nil, nil, nil, rootSession("s3:PutBucketPolicy", "us-east-1"), ExplicitDeny, "DenyOutsideEU"},
		{"region deny allows S3 in eu-west-1", []string{regionDeny}, nil, nil, nil, rootSession("s3:PutBucketPolicy", "eu-west-1"), Allowed, ""},
		{"quarantine denies everything", nil, nil, []string{quarantine}, nil, rootSession("iam:GetUser", "us-east-1"), ExplicitDeny, "Quarantine"},
		{"a deny of an unused action", []string{denyOneUnused}, nil, nil, nil, rootSession("iam:GetUser", "us-east-1"), Allowed, ""},
		{"NotResource spares the named buckets", nil, nil, []string{notResource}, nil,
			Request{Action: "s3:PutBucketPolicy", Resource: "arn:aws:s3:::logs-2026", Context: rootSession("", "").Context}, Allowed, ""},
		{"NotResource denies other buckets", nil, nil, []string{notResource}, nil,
			Request{Action: "s3:PutBucketPolicy", Resource: "arn:aws:s3:::data", Context: rootSession("", "").Context}, ExplicitDeny, "OnlyLogs"},
		{"unknown resource: a scoped deny may apply", nil, nil, []string{notResource}, nil,
			Request{Action: "s3:PutBucketPolicy", Context: rootSession("", "").Context}, ExplicitDeny, "OnlyLogs"},
		{"NotPrincipal catches root", nil, nil, []string{notPrincipal}, nil, rootSession("iam:DeleteAccessKey", "us-east-1"), ExplicitDeny, "statement 1"},
		{"allow list at the OU lets IAM reads through", nil, nil, nil, []string{allowIAMReadOnly}, rootSession("iam:GetUser", "us-east-1"), Allowed, ""},
		{"allow list at the OU: a deletion is not allowed there", nil, nil, nil, []string{allowIAMReadOnly}, rootSession("iam:DeleteLoginProfile", "us-east-1"), ImplicitDeny, ""},
		{"allow lists intersect, not add up", nil, nil, []string{allowS3}, []string{allowIAMReadOnly}, rootSession("s3:GetBucketPolicy", "us-east-1"), ImplicitDeny, ""},
		{"FullAWSAccess detached at the OU: nothing allowed", nil, nil, nil, []string{}, rootSession("iam:GetUser", "us-east-1"), ImplicitDeny, ""},
		{"an operator the evaluator does not know", nil, nil, []string{unknownOp}, nil, rootSession("iam:GetUser", "us-east-1"), Undetermined, ""},
		{"policy variable: own root", nil, nil, []string{policyVar}, nil, rootSession("iam:GetUser", "us-east-1"), Allowed, ""},
		{"policy variable: another account's root", nil, nil, []string{policyVar}, nil,
			Request{Action: "iam:GetUser", Resource: "arn:aws:iam::999999999999:root", Context: rootSession("", "").Context}, ExplicitDeny, "OwnRootOnly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := chain(t, tt.root, tt.ou, tt.acc)
			if tt.replaceOU != nil {
				c[1].Policies = nil
				for i, content := range tt.replaceOU {
					c[1].Policies = append(c[1].Policies, pol(t, "p-ou"+string(rune('1'+i)), content))
				}
			}
			v := Evaluate(c, tt.req)
			if v.Decision != tt.want {
				t.Fatalf("decision = %s (%s), want %s", v.Decision, v, tt.want)
			}
			if tt.wantStatement != "" && (v.Deny == nil || v.Deny.Statement != tt.wantStatement) {
				t.Errorf("deny = %+v, want statement %q", v.Deny, tt.wantStatement)
			}
			if v.Decision == ImplicitDeny && (v.NoAllow == nil || v.NoAllow.Target != "ou-ex12-prod") {
				t.Errorf("no allow at %+v, want the OU", v.NoAllow)
			}
			if v.Blocked() != (tt.want != Allowed) || v.String() == "" {
				t.Errorf("Blocked = %v, String = %q", v.Blocked(), v)
			}
		})
	}
}

// TestConditionOperators: the IAM User Guide's condition operator rules.
func TestConditionOperators(t *testing.T) {
	req := Request{Context: map[string][]string{
		"aws:PrincipalArn": {"arn:aws:iam::222222222222:root"}, "aws:AssumedRoot": {"true"},
		"aws:TagKeys": {"a", "b"}, "aws:MultiFactorAuthAge": {"300"}, "aws:CurrentTime": {"2026-12-06T08:00:00Z"},
	}}
	tests := []struct {
		op, key string
		vals    []string
		want    bool
	}{
		{"StringEquals", "aws:AssumedRoot", []string{"true"}, true},
		{"StringEquals", "aws:assumedroot", []string{"true"}, true}, // keys are case-insensitive
		{"StringEquals", "aws:AssumedRoot", []string{"TRUE"}, false},
		{"StringEqualsIgnoreCase", "aws:AssumedRoot", []string{"TRUE"}, true},
		{"StringNotEquals", "aws:AssumedRoot", []string{"false", "x"}, true},
		{"StringNotEquals", "aws:AssumedRoot", []string{"false", "true"}, false},
		{"StringLike", "aws:PrincipalArn", []string{"arn:aws:iam::*:root"}, true},
		{"StringNotLike", "aws:PrincipalArn", []string{"arn:aws:iam::*:root"}, false},
		{"ArnLike", "aws:PrincipalArn", []string{"arn:aws:iam::*:ro?t"}, true},
		{"ArnNotEquals", "aws:PrincipalArn", []string{"arn:aws:iam::*:role/*"}, true},
		{"Bool", "aws:AssumedRoot", []string{"True"}, true},
		{"Null", "aws:AssumedRoot", []string{"true"}, false},
		{"Null", "aws:AssumedRoot", []string{"false"}, true},
		{"Null", "aws:SourceVpc", []string{"true"}, true},
		// Absent keys: no match; a negated operator holds; IfExists holds.
		{"StringEquals", "aws:SourceVpc", []string{"vpc-1"}, false},
		{"StringNotEquals", "aws:SourceVpc", []string{"vpc-1"}, true},
		{"StringEqualsIfExists", "aws:SourceVpc", []string{"vpc-1"}, true},
		{"BoolIfExists", "aws:ViaAWSService", []string{"true"}, true},
		// Multivalued keys.
		{"ForAnyValue:StringEquals", "aws:TagKeys", []string{"b"}, true},
		{"ForAllValues:StringEquals", "aws:TagKeys", []string{"b"}, false},
		{"ForAllValues:StringEquals", "aws:TagKeys", []string{"a", "b"}, true},
		{"ForAllValues:StringEquals", "aws:SourceVpc", []string{"x"}, true},
		{"ForAnyValue:StringEquals", "aws:SourceVpc", []string{"x"}, false},
		{"NumericLessThan", "aws:MultiFactorAuthAge", []string{"3600"}, true},
		{"NumericGreaterThan", "aws:MultiFactorAuthAge", []string{"3600"}, false},
		{"DateGreaterThan", "aws:CurrentTime", []string{"2026-01-01T00:00:00Z"}, true},
		{"DateLessThan", "aws:CurrentTime", []string{"2026-01-01"}, false},
	}
	for _, tt := range tests {
		c := Condition{Operator: tt.op, Key: tt.key, Values: tt.vals}
		got, known, why := c.holds(req)
		if !known || got != tt.want {
			t.Errorf("%s %s %v = %v (known %v %s), want %v", tt.op, tt.key, tt.vals, got, known, why, tt.want)
		}
	}
	for _, c := range []Condition{
		{Operator: "IpAddress", Key: "aws:SourceIp", Values: []string{"10.0.0.0/8"}},
		{Operator: "ForSomeValues:StringEquals", Key: "aws:TagKeys", Values: []string{"a"}},
		{Operator: "StringEquals", Key: "aws:PrincipalArn", Values: []string{"${aws:username}"}},
		{Operator: "NumericLessThan", Key: "aws:PrincipalArn", Values: []string{"3"}},
	} {
		if _, known, why := c.holds(req); known || why == "" {
			t.Errorf("%+v: judged, want undetermined with a reason", c)
		}
	}
}

func TestParse(t *testing.T) {
	d, err := Parse(`{"Statement":[{"Effect":"Deny","NotAction":"iam:Get*","NotResource":["a","b"],
		"Condition":{"NumericLessThan":{"k":5},"Bool":{"b":true}}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	st := d.Statements[0]
	if st.Resource != nil || len(st.NotResource) != 2 || len(st.Conditions) != 2 ||
		st.Conditions[0].Values[0] != "true" || st.Conditions[1].Values[0] != "5" || st.Ref(0) != "statement 1" {
		t.Errorf("statement = %+v", st)
	}
	for _, bad := range []string{
		``, `{}`, `{"Statement":[]}`, `{"Statement":{"Effect":"Maybe","Action":"*"}}`,
		`{"Statement":{"Effect":"Deny"}}`, `{"Statement":{"Effect":"Deny","Action":"*","NotAction":"x"}}`,
		`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","NotResource":"x"}}`,
		`{"Statement":{"Effect":"Deny","Action":{"x":1}}}`,
	} {
		if _, err := Parse(bad); err == nil && bad != `{"Statement":[]}` {
			t.Errorf("Parse(%q): no error", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		fullAWSAccess,
		`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":["arn:aws:iam::*:root"]},"Null":{"aws:AssumedRoot":"true"}}}}`,
		`{"Statement":[{"Effect":"Deny","NotAction":["iam:*"],"Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1"]}}}]}`,
		`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["*"]},"Action":"*","NotResource":"arn:aws:s3:::${aws:PrincipalAccount}-*"}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			return
		}
		v := Evaluate([]Level{{Target: "r-1", Name: "Root", Policies: []Policy{{ID: "p", Name: "p", Doc: d}}}}, rootSession("iam:GetUser", "us-east-1"))
		if v.Decision == "" || strings.TrimSpace(v.String()) == "" {
			t.Errorf("no decision for %q", s)
		}
	})
}
