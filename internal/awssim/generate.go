package awssim

import (
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"time"
)

// Root-deny SCPs: without the exemption the policy also blocks AssumeRoot
// sessions (centralized root access); with it, only real root sign-ins.
const (
	denyRootPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "DenyRootUser",
      "Effect": "Deny",
      "Action": "*",
      "Resource": "*",
      "Condition": {
        "StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}
      }
    }
  ]
}`
	denyRootExceptAssumedRootPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "DenyRootUserExceptAssumedRoot",
      "Effect": "Deny",
      "Action": "*",
      "Resource": "*",
      "Condition": {
        "StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"},
        "Null": {"aws:AssumedRoot": "true"}
      }
    }
  ]
}`
)

// Root profiles GenerateScenario mixes; the first member accounts get one
// each, in this order, so that even small organizations have every case.
const (
	rootDeleted       = iota // centrally deleted: no credentials at all
	rootPasswordNoMFA        // password, no MFA
	rootVirtualMFA           // password and a virtual MFA device
	rootHardwareMFA          // password and a hardware TOTP token
	rootPasskey              // password, a passkey and a virtual device
	rootActiveKeys           // password, virtual MFA, two keys (one used, one inactive)
	rootInactiveKey          // no password, one inactive key never used
	rootSigningCert          // an active key and signing certificates, no MFA
	rootProfiles
)

// GenerateScenario makes a valid organization of the given number of
// accounts (at least 1: the management account), the same for the same
// seed. It mixes nested OUs (Workloads/Prod/EU), suspended, closed and
// closing accounts, roots whose credentials were deleted centrally, roots
// with a password and no MFA, virtual, hardware and passkey MFA, active
// and inactive access keys, signing certificates, a delegated
// administrator for IAM, and two root-deny SCPs: one with the
// aws:AssumedRoot exemption (on Workloads) and one without (on Sandbox).
// Both centralized root access features are enabled.
func GenerateScenario(accounts int, seed uint64) *Scenario {
	accounts = max(accounts, 1)
	g := &generator{rng: mrand.New(mrand.NewPCG(seed, 0x5ca1ab1e)), used: map[string]bool{}}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	orgID := "o-" + g.str(10, lowerDigits)
	rootPart := g.str(4, lowerDigits)
	rootID := "r-" + rootPart
	ou := func(name string, children ...OU) OU {
		return OU{ID: "ou-" + rootPart + "-" + g.str(8, lowerDigits), Name: name, OUs: children}
	}
	eu := ou("EU")
	prod := ou("Prod", eu)
	nonprod := ou("NonProd")
	workloads := ou("Workloads", prod, nonprod)
	security := ou("Security")
	infra := ou("Infrastructure")
	sandbox := ou("Sandbox")
	suspended := ou("Suspended")
	placements := []struct{ id, name string }{
		{security.ID, "security"}, {infra.ID, "infra"}, {prod.ID, "prod"}, {eu.ID, "prod-eu"},
		{nonprod.ID, "nonprod"}, {sandbox.ID, "sandbox"}, {rootID, "general"},
	}

	sc := &Scenario{Organization: Organization{
		ID:            orgID,
		RootID:        rootID,
		Features:      []string{FeatureRootCredentialsManagement, FeatureRootSessions},
		TrustedAccess: []string{"cloudtrail.amazonaws.com", iamServicePrincipal, "sso.amazonaws.com"},
		OUs:           []OU{security, infra, workloads, sandbox, suspended},
	}}
	mgmtJoined := base.AddDate(-6, 0, 0)
	mgmt := Account{
		ID: g.accountID(), Name: "management", Email: "aws-management@example.com",
		OU: rootID, State: "ACTIVE", Joined: mgmtJoined, JoinedMethod: "INVITED", Created: mgmtJoined,
		Roles: []string{},
	}
	mgmt.Root = g.root(mgmt.ID, rootHardwareMFA, mgmtJoined, base)
	sc.Organization.ManagementAccount = mgmt.ID
	sc.Accounts = append(sc.Accounts, mgmt)

	for i := 1; i < accounts; i++ {
		place := placements[(i-1)%len(placements)]
		joined := mgmtJoined.Add(time.Duration(g.rng.Int64N(int64(5 * 365 * 24 * time.Hour)))).Truncate(time.Second)
		a := Account{
			ID: g.accountID(), OU: place.id, State: "ACTIVE", Joined: joined,
			JoinedMethod: "CREATED", Created: joined, Roles: []string{DefaultRole},
		}
		a.Name = fmt.Sprintf("%s-%03d", place.name, i)
		a.Email = "aws+" + a.Name + "@example.com"
		switch {
		case i%13 == 9:
			a.State, a.OU = "SUSPENDED", suspended.ID
		case i%29 == 11:
			a.State, a.OU = "CLOSED", suspended.ID
		case i%31 == 12:
			a.State = "PENDING_CLOSURE"
		}
		if g.rng.IntN(4) == 0 {
			a.JoinedMethod = "INVITED"
			a.Created = joined.AddDate(-1, 0, -g.rng.IntN(300))
		}
		profile := i - 1
		if profile >= rootProfiles {
			profile = g.weighted()
		}
		a.Root = g.root(a.ID, profile, a.Created, base)
		sc.Accounts = append(sc.Accounts, a)
	}
	if accounts > 1 {
		sc.Organization.DelegatedAdministrators = []DelegatedAdministrator{
			{Account: sc.Accounts[1].ID, ServicePrincipal: iamServicePrincipal, Since: base.AddDate(0, -2, 0)},
			{Account: sc.Accounts[1].ID, ServicePrincipal: "sso.amazonaws.com", Since: base.AddDate(-1, 0, 0)},
		}
	}
	sc.Policies = []Policy{
		{
			ID: "p-" + g.str(8, lowerDigits), Name: "DenyRootUserExceptAssumedRoot",
			Description: "Deny root sign-ins but allow centralized root sessions",
			Content:     denyRootExceptAssumedRootPolicy, Targets: []string{workloads.ID},
		},
		{
			ID: "p-" + g.str(8, lowerDigits), Name: "DenyRootUser",
			Description: "Deny every root action, AssumeRoot sessions included",
			Content:     denyRootPolicy, Targets: []string{sandbox.ID},
		},
	}
	return sc
}

const (
	lowerDigits = "abcdefghijklmnopqrstuvwxyz0123456789"
	upperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

type generator struct {
	rng  *mrand.Rand
	used map[string]bool
}

func (g *generator) str(n int, alphabet string) string {
	var b strings.Builder
	for range n {
		b.WriteByte(alphabet[g.rng.IntN(len(alphabet))])
	}
	return b.String()
}

// unique returns a fresh value of gen.
func (g *generator) unique(gen func() string) string {
	for {
		if v := gen(); !g.used[v] {
			g.used[v] = true
			return v
		}
	}
}

func (g *generator) accountID() string {
	return g.unique(func() string { return fmt.Sprintf("%012d", 100000000000+g.rng.Int64N(899999999999)) })
}

// weighted picks a root profile for accounts past the first few, roughly
// as they occur in an organization adopting centralized root access.
func (g *generator) weighted() int {
	n := g.rng.IntN(100)
	switch {
	case n < 40:
		return rootDeleted
	case n < 55:
		return rootPasswordNoMFA
	case n < 70:
		return rootVirtualMFA
	case n < 78:
		return rootHardwareMFA
	case n < 86:
		return rootPasskey
	case n < 92:
		return rootActiveKeys
	case n < 96:
		return rootInactiveKey
	}
	return rootSigningCert
}

// between returns a time between from and to, to the second.
func (g *generator) between(from, to time.Time) time.Time {
	if !to.After(from) {
		return from
	}
	return from.Add(time.Duration(g.rng.Int64N(int64(to.Sub(from))))).Truncate(time.Second)
}

func (g *generator) key(created, lastUsed time.Time, status string) AccessKey {
	k := AccessKey{ID: g.unique(func() string { return "AKIA" + g.str(16, upperDigits) }), Status: status, Created: created}
	if !lastUsed.IsZero() {
		services := []string{"s3", "ec2", "iam", "sts", "cloudformation"}
		regions := []string{"us-east-1", "eu-west-1", "us-west-2"}
		k.LastUsed = lastUsed
		k.LastUsedService = services[g.rng.IntN(len(services))]
		k.LastUsedRegion = regions[g.rng.IntN(len(regions))]
		if k.LastUsedService == "iam" {
			k.LastUsedRegion = "us-east-1"
		}
	}
	return k
}

func (g *generator) root(account string, profile int, created, now time.Time) Root {
	var r Root
	password := func(used bool) {
		r.Password = Password{Present: true, Created: g.between(created, now)}
		if used {
			r.Password.LastUsed = g.between(r.Password.Created, now)
		}
	}
	virtual := func(name string) {
		r.MFA = append(r.MFA, MFADevice{Serial: "arn:aws:iam::" + account + ":mfa/" + name, Kind: MFAVirtual, EnableDate: g.between(created, now)})
	}
	switch profile {
	case rootPasswordNoMFA:
		password(g.rng.IntN(2) == 0)
	case rootVirtualMFA:
		password(true)
		virtual("root-account-mfa-device")
	case rootHardwareMFA:
		password(true)
		r.MFA = append(r.MFA, MFADevice{Serial: "GAHT" + fmt.Sprintf("%08d", g.rng.IntN(100000000)), Kind: MFAHardware, EnableDate: g.between(created, now)})
	case rootPasskey:
		password(true)
		r.MFA = append(r.MFA, MFADevice{
			Serial: "arn:aws:iam::" + account + ":u2f/root-user/" + g.str(26, upperDigits),
			Kind:   MFAPasskey, EnableDate: g.between(created, now),
		})
		virtual("root-backup")
	case rootActiveKeys:
		password(true)
		virtual("root-account-mfa-device")
		c1 := g.between(created, now)
		r.AccessKeys = append(r.AccessKeys, g.key(c1, g.between(c1, now), "Active"))
		c2 := g.between(created, now)
		r.AccessKeys = append(r.AccessKeys, g.key(c2, g.between(c2, now), "Inactive"))
	case rootInactiveKey:
		r.AccessKeys = append(r.AccessKeys, g.key(g.between(created, now), time.Time{}, "Inactive"))
	case rootSigningCert:
		c1 := g.between(created, now)
		r.AccessKeys = append(r.AccessKeys, g.key(c1, g.between(c1, now), "Active"))
		r.SigningCertificates = []SigningCertificate{
			{ID: g.unique(func() string { return g.str(32, upperDigits) }), Status: "Active", Uploaded: g.between(created, now)},
			{ID: g.unique(func() string { return g.str(32, upperDigits) }), Status: "Inactive", Uploaded: g.between(created, now)},
		}
	}
	return r
}
