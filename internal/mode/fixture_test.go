package mode

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/rootguard/rootguard/internal/audit"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// exampleReport is a hand-built audit of the example organization
// (internal/awssim/testdata/scenario.yaml) as of asOf: every case of root
// credentials, an account that could not be read, a suspended one.
func exampleReport() *audit.Report {
	hardware := []audit.MFADevice{{Serial: "GAHT12345678", Kind: audit.MFAHardware}}
	accts := []*audit.Account{
		{ID: "111111111111", Name: "management", OUPath: "Root", State: "ACTIVE", Management: true, Method: audit.MethodManagement,
			Root: &audit.Root{Password: true, PasswordLastUsed: daysAgo(58), LastUsed: daysAgo(58), MFADevices: hardware}},
		{ID: "222222222222", Name: "security", OUPath: "Root/Security", State: "ACTIVE", Method: audit.MethodAssumeRoot, Root: &audit.Root{}},
		{ID: "333333333333", Name: "prod", OUPath: "Root/Workloads/Prod", State: "ACTIVE", Method: audit.MethodAssumeRoot,
			Root: &audit.Root{Password: true, PasswordLastUsed: daysAgo(517), LastUsed: daysAgo(89), AccessKeys: []audit.AccessKey{
				{ID: "AKIAEXAMPLEROOT00001", Status: "Active", LastUsed: daysAgo(89), LastUsedService: "s3", LastUsedRegion: "eu-west-1"},
				{ID: "AKIAEXAMPLEROOT00002", Status: "Inactive"}}},
			RootDenySCPs: []audit.RootDenySCP{{ID: "p-denyrootexempt", Name: "DenyRootUserExceptAssumedRoot", Target: "Workloads (ou-ex12-workload)", ExemptsRootSessions: true}}},
		{ID: "444444444444", Name: "prod-eu", OUPath: "Root/Workloads/Prod/EU", State: "ACTIVE", Method: audit.MethodAssumeRoot,
			Root: &audit.Root{Password: true, MFADevices: []audit.MFADevice{
				{Serial: "arn:aws:iam::444444444444:u2f/root-user/EXAMPLEPASSKEY0000000001", Kind: audit.MFAPasskey},
				{Serial: "arn:aws:iam::444444444444:mfa/root-account-mfa-device", Kind: audit.MFAVirtual}},
				SigningCertificates: []audit.Certificate{{ID: "EXAMPLECERT000000000000000001", Status: "Active"}, {ID: "EXAMPLECERT000000000000000002", Status: "Inactive"}}},
			RootDenySCPs: []audit.RootDenySCP{{ID: "p-denyrootexempt", Name: "DenyRootUserExceptAssumedRoot", Target: "Workloads (ou-ex12-workload)", ExemptsRootSessions: true}}},
		{ID: "555555555555", Name: "sandbox", OUPath: "Root/Sandbox", State: "ACTIVE", Method: audit.MethodAssumeRoot,
			Error:        "account 555555555555: assume root: AccessDenied (a root-deny SCP without the aws:AssumedRoot exemption applies)",
			RootDenySCPs: []audit.RootDenySCP{{ID: "p-denyroot01", Name: "DenyRootUser", Target: "Sandbox (ou-ex12-sandbox1)"}}},
		{ID: "666666666666", Name: "suspended", OUPath: "Root/Suspended", State: "SUSPENDED", Method: audit.MethodNone},
		{ID: "888888888888", Name: "invited", OUPath: "Root", State: "ACTIVE", Method: audit.MethodAssumeRoot, Root: &audit.Root{Password: true}},
	}
	for _, a := range accts {
		a.Controls = audit.Evaluate(a, asOf)
	}
	return &audit.Report{StartedAt: asOf, FinishedAt: asOf, Accounts: accts,
		Organization: audit.OrgInfo{ID: "o-exampleorg1", ManagementAccountID: "111111111111"}}
}
