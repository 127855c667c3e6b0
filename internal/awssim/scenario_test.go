package awssim

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
)

// coverage counts the cases a scenario contains.
type coverage struct {
	states                                  map[string]int
	mfaKinds                                map[string]int
	deletedRoots, passwordNoMFA, activeKeys int
	inactiveKeys, certs, nestedOUs          int
	scpExempt, scpNoExempt                  int
	delegatedIAM, customRoles               int
}

func coverageOf(sc *Scenario) coverage {
	c := coverage{states: map[string]int{}, mfaKinds: map[string]int{}}
	for _, a := range sc.Accounts {
		c.states[a.State]++
		r := a.Root
		if !r.Password.Present && len(r.MFA) == 0 && len(r.AccessKeys) == 0 && len(r.SigningCertificates) == 0 {
			c.deletedRoots++
		}
		if r.Password.Present && len(r.MFA) == 0 {
			c.passwordNoMFA++
		}
		for _, m := range r.MFA {
			c.mfaKinds[m.Kind]++
		}
		for _, k := range r.AccessKeys {
			if k.Status == "Active" {
				c.activeKeys++
			} else {
				c.inactiveKeys++
			}
		}
		c.certs += len(r.SigningCertificates)
		if !slices.Equal(a.Roles, []string{DefaultRole}) && a.ID != sc.Organization.ManagementAccount {
			c.customRoles++
		}
	}
	var depth func(ous []OU, d int)
	depth = func(ous []OU, d int) {
		for _, ou := range ous {
			if d >= 2 {
				c.nestedOUs++
			}
			depth(ou.OUs, d+1)
		}
	}
	depth(sc.Organization.OUs, 1)
	for _, p := range sc.Policies {
		if strings.Contains(p.Content, "aws:AssumedRoot") {
			c.scpExempt++
		} else {
			c.scpNoExempt++
		}
	}
	for _, d := range sc.Organization.DelegatedAdministrators {
		if d.ServicePrincipal == iamServicePrincipal {
			c.delegatedIAM++
		}
	}
	return c
}

func (c coverage) missing(t *testing.T, states []string) {
	t.Helper()
	for _, s := range states {
		if c.states[s] == 0 {
			t.Errorf("no %s account", s)
		}
	}
	for _, k := range []string{MFAVirtual, MFAHardware, MFAPasskey} {
		if c.mfaKinds[k] == 0 {
			t.Errorf("no %s MFA device", k)
		}
	}
	for name, n := range map[string]int{
		"centrally deleted root": c.deletedRoots, "root with password and no MFA": c.passwordNoMFA,
		"active key": c.activeKeys, "inactive key": c.inactiveKeys, "signing certificate": c.certs,
		"OU nested two deep": c.nestedOUs, "root-deny SCP with the aws:AssumedRoot exemption": c.scpExempt,
		"root-deny SCP without the exemption": c.scpNoExempt, "IAM delegated administrator": c.delegatedIAM,
	} {
		if n == 0 {
			t.Errorf("no %s", name)
		}
	}
}

// TestExampleScenario: testdata/scenario.yaml loads, covers every case and
// survives a Marshal round trip.
func TestExampleScenario(t *testing.T) {
	sc := exampleScenario(t)
	if len(sc.Accounts) != 8 {
		t.Fatalf("%d accounts", len(sc.Accounts))
	}
	c := coverageOf(sc)
	c.missing(t, []string{"ACTIVE", "SUSPENDED", "CLOSED"})
	if c.customRoles == 0 {
		t.Error("no account without the default role")
	}
	if a := sc.Accounts[0]; a.OU != exRootID || a.State != "ACTIVE" || a.JoinedMethod != "INVITED" || len(a.Roles) != 0 {
		t.Errorf("management account defaults: %+v", a)
	}
	if a := sc.Accounts[3]; !a.Root.Password.Created.Equal(a.Created) || !slices.Equal(a.Roles, []string{DefaultRole}) {
		t.Errorf("member defaults: %+v", a)
	}
	roundTrip(t, sc)
}

// roundTrip checks that Marshal output parses back to the same YAML.
func roundTrip(t *testing.T, sc *Scenario) {
	t.Helper()
	b, err := sc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseScenario(b)
	if err != nil {
		t.Fatalf("parse marshalled scenario: %v\n%s", err, b)
	}
	b2, err := back.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Errorf("round trip changed the scenario:\n%s\n---\n%s", b, b2)
	}
}

func TestParseScenarioRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Scenario)
		want   string
	}{
		{"bad org id", func(s *Scenario) { s.Organization.ID = "o-UPPER" }, "organization.id"},
		{"bad root id", func(s *Scenario) { s.Organization.RootID = "root" }, "organization.rootId"},
		{"missing management account", func(s *Scenario) { s.Organization.ManagementAccount = "999999999999" }, "managementAccount"},
		{"bad account id", func(s *Scenario) { s.Accounts[1].ID = "12345" }, "accounts[1].id"},
		{"duplicate account", func(s *Scenario) { s.Accounts[2].ID = s.Accounts[1].ID }, "duplicate account"},
		{"unknown OU", func(s *Scenario) { s.Accounts[1].OU = "ou-ex12-nothere1" }, "accounts[1].ou"},
		{"bad OU id", func(s *Scenario) { s.Organization.OUs[1].OUs[0].ID = "prod" }, "organization.ous[1].ous[0].id"},
		{"duplicate OU", func(s *Scenario) { s.Organization.OUs[2].ID = s.Organization.OUs[0].ID }, "duplicate id"},
		{"bad state", func(s *Scenario) { s.Accounts[1].State = "GONE" }, "accounts[1].state"},
		{"unknown feature", func(s *Scenario) { s.Organization.Features = []string{"RootEverything"} }, "features[0]"},
		{"features without trusted access", func(s *Scenario) { s.Organization.TrustedAccess = nil }, "needs trustedAccess"},
		{"delegated management", func(s *Scenario) { s.Organization.DelegatedAdministrators[0].Account = exMgmt }, "cannot be a delegated administrator"},
		{"three keys", func(s *Scenario) {
			r := &s.Accounts[2].Root
			r.AccessKeys = append(r.AccessKeys, AccessKey{ID: "AKIAEXAMPLEROOT00009", Status: "Active", Created: r.AccessKeys[0].Created})
		}, "AWS allows 2"},
		{"bad key id", func(s *Scenario) { s.Accounts[2].Root.AccessKeys[0].ID = "ASIAEXAMPLE" }, "accessKeys[0].id"},
		{"duplicate key", func(s *Scenario) { s.Accounts[4].Root.AccessKeys[0].ID = "AKIAEXAMPLEROOT00001" }, "duplicate of accounts[2]"},
		{"bad key status", func(s *Scenario) { s.Accounts[2].Root.AccessKeys[0].Status = "Enabled" }, "status"},
		{"virtual serial of another account", func(s *Scenario) { s.Accounts[3].Root.MFA[1].Serial = "arn:aws:iam::111111111111:mfa/x" }, "virtual device's serial"},
		{"hardware serial as ARN", func(s *Scenario) { s.Accounts[0].Root.MFA[0].Serial = "arn:aws:iam::111111111111:mfa/x" }, "hardware device's serial"},
		{"unknown MFA kind", func(s *Scenario) { s.Accounts[0].Root.MFA[0].Kind = "sms" }, "kind"},
		{"policy content", func(s *Scenario) { s.Policies[0].Content = "{not json" }, "policies[0].content"},
		{"policy target", func(s *Scenario) { s.Policies[0].Targets = []string{"ou-ex12-nothere1"} }, "policies[0].targets[0]"},
		{"last used without password", func(s *Scenario) { s.Accounts[1].Root.Password.LastUsed = s.Accounts[1].Joined }, "lastUsed without present"},
		{"standalone with two accounts", func(s *Scenario) {
			s.Organization = Organization{ManagementAccount: exMgmt}
			s.Policies = nil
		}, "exactly 1 account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := exampleScenario(t)
			tt.change(sc)
			b, err := sc.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseScenario(b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	for name, doc := range map[string]string{
		"unknown field": "organization: {id: o-exampleorg1, rootId: r-ex12, managementAccount: \"111111111111\", colour: blue}\n",
		"not YAML":      "organization: [\n",
		"empty":         "",
	} {
		if _, err := ParseScenario([]byte(doc)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	if _, err := LoadScenario("testdata/nothere.yaml"); err == nil {
		t.Error("loaded a missing file")
	}
}

func TestNewPanicsOnInvalidScenario(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New accepted an invalid scenario")
		}
	}()
	New(&Scenario{}, Options{})
}

func TestGenerateScenario(t *testing.T) {
	for _, n := range []int{0, 1, 2, 9, 60, 500} {
		sc := GenerateScenario(n, 11)
		if err := sc.Validate(); err != nil {
			t.Fatalf("%d accounts: %v", n, err)
		}
		if want := max(n, 1); len(sc.Accounts) != want {
			t.Errorf("GenerateScenario(%d) has %d accounts", n, len(sc.Accounts))
		}
		roundTrip(t, sc)
	}
	a, _ := GenerateScenario(60, 5).Marshal()
	b, _ := GenerateScenario(60, 5).Marshal()
	c, _ := GenerateScenario(60, 6).Marshal()
	if !bytes.Equal(a, b) {
		t.Error("the same seed made different scenarios")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds made the same scenario")
	}
	cov := coverageOf(GenerateScenario(60, 5))
	cov.missing(t, []string{"ACTIVE", "SUSPENDED", "CLOSED", "PENDING_CLOSURE"})
	coverageOf(GenerateScenario(9, 5)).missing(t, []string{"ACTIVE"})
}

func FuzzParseScenario(f *testing.F) {
	example, err := os.ReadFile("testdata/scenario.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	small, _ := GenerateScenario(3, 1).Marshal()
	f.Add(small)
	f.Add([]byte("organization: {managementAccount: \"123456789012\"}\naccounts: [{id: \"123456789012\", name: a, email: a@b, joined: 2024-01-01T00:00:00Z}]\n"))
	f.Add([]byte("accounts: [{root: {mfa: [{kind: passkey}]}}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sc, err := ParseScenario(b)
		if err != nil {
			return
		}
		roundTrip(t, sc)
		_ = New(sc, Options{})
	})
}
