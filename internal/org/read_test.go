package org

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/rootguard/rootguard/internal/awssim"
)

// TestRead reads the example organization once and asks it what the
// commands ask: accounts and where they sit, OU paths both ways, the
// root-deny SCPs above an account.
func TestRead(t *testing.T) {
	o, err := Read(t.Context(), NewClients(start(t, scenario(t))), All)
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "o-exampleorg1" || o.ManagementAccountID != "111111111111" || o.RootID != "r-ex12" || o.FeatureSet != "ALL" {
		t.Errorf("organization = %s %s %s %s", o.ID, o.ManagementAccountID, o.RootID, o.FeatureSet)
	}
	if len(o.Problems) != 0 || !o.IAMTrustedAccess || !slices.Contains(o.EnabledFeatures, "RootSessions") || !slices.Equal(o.DelegatedAdmins, []string{"222222222222"}) {
		t.Errorf("setup = %v %v %v, problems %v", o.IAMTrustedAccess, o.EnabledFeatures, o.DelegatedAdmins, o.Problems)
	}
	var ids []string
	for _, a := range o.Accounts {
		ids = append(ids, a.ID)
	}
	if !slices.IsSorted(ids) || len(ids) != 8 {
		t.Errorf("accounts = %v", ids)
	}
	eu := o.Account("444444444444")
	if eu == nil || eu.OUPath != "Root/Workloads/Prod/EU" || !slices.Equal(eu.Ancestors, []string{"r-ex12", "ou-ex12-workload", "ou-ex12-prod0001", "ou-ex12-eu000001"}) {
		t.Fatalf("prod-eu = %+v", eu)
	}
	if got := o.Chain("444444444444"); !slices.Equal(got, []string{"444444444444", "ou-ex12-eu000001", "ou-ex12-prod0001", "ou-ex12-workload", "r-ex12"}) {
		t.Errorf("chain = %v", got)
	}
	for _, name := range []string{"ou-ex12-prod0001", "Root/Workloads/Prod", "workloads/prod", "/Workloads/Prod/"} {
		if ou, ok := o.FindOU(name); !ok || ou.ID != "ou-ex12-prod0001" {
			t.Errorf("FindOU(%q) = %+v, %v", name, ou, ok)
		}
	}
	if _, ok := o.FindOU("Workloads/Nope"); ok {
		t.Error("an OU that does not exist was found")
	}
	if o.Paths()["r-ex12"] != "Root" || o.Paths()["ou-ex12-eu000001"] != "Root/Workloads/Prod/EU" {
		t.Errorf("paths = %v", o.Paths())
	}
	scps := o.RootDenySCPs(o.Chain("444444444444")...)
	if len(scps) != 1 || !scps[0].ExemptsRootSessions || scps[0].Target != "Workloads (ou-ex12-workload)" {
		t.Errorf("SCPs above prod-eu = %+v", scps)
	}
	if scps := o.RootDenySCPs(o.Chain("555555555555")...); len(scps) != 1 || scps[0].ExemptsRootSessions || !strings.Contains(scps[0].Target, "Sandbox") {
		t.Errorf("SCPs above sandbox = %+v", scps)
	}

	// Only the tree: no accounts, no SCPs, no setup calls.
	tree, err := Read(t.Context(), NewClients(start(t, scenario(t))), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Accounts) != 0 || tree.SCPsRead() || tree.IAMTrustedAccess || len(tree.OUs) != 7 {
		t.Errorf("tree only: %d accounts, SCPs read %v, %d OUs", len(tree.Accounts), tree.SCPsRead(), len(tree.OUs))
	}
}

// TestReadEach: every account is handed on once, as it is listed, with
// its place in the tree known and the management account marked; the
// organization read at the end has them all.
func TestReadEach(t *testing.T) {
	found := map[string]*Account{}
	var management []string
	o, err := ReadEach(t.Context(), NewClients(start(t, scenario(t))), All, func(a *Account, mgmt bool) {
		if found[a.ID] != nil {
			t.Errorf("account %s found twice", a.ID)
		}
		found[a.ID] = a
		if mgmt {
			management = append(management, a.ID)
		}
		if len(a.Ancestors) == 0 || a.Ancestors[0] != "r-ex12" || a.Ancestors[len(a.Ancestors)-1] != a.Parent {
			t.Errorf("account %s found with ancestors %v (parent %s)", a.ID, a.Ancestors, a.Parent)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != len(o.Accounts) || len(found) != 8 || !slices.Equal(management, []string{"111111111111"}) {
		t.Errorf("found %d accounts of %d, management %v", len(found), len(o.Accounts), management)
	}
	for _, a := range o.Accounts {
		if found[a.ID] != a {
			t.Errorf("account %s not handed on", a.ID)
		}
	}
	if !o.SCPsRead() || !o.IAMTrustedAccess {
		t.Error("the SCPs and setup, read beside the tree, are missing")
	}
}

// TestReadFullPages: the tree is listed in pages of 20, the most AWS
// Organizations returns (MaxResults 1 to 20), not the service's default:
// pages of one parent follow one another, so each page saved is a round
// trip saved.
func TestReadFullPages(t *testing.T) {
	sc := awssim.GenerateScenario(200, 1)
	srv := awssim.New(sc, awssim.Options{PageSize: 5})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	akid, secret := srv.ManagementCredentials()
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")}
	o, err := Read(t.Context(), NewClients(cfg), Accounts)
	if err != nil {
		t.Fatal(err)
	}
	// Every parent's accounts fit in ceil(n/20) pages (and an empty
	// parent costs one).
	perParent := map[string]int{}
	for _, a := range o.Accounts {
		perParent[a.Parent]++
	}
	want := 0
	for id := range o.OUs {
		want += max(1, (perParent[id]+19)/20)
	}
	if got := srv.Counts()["organizations:ListAccountsForParent"]; got != int64(want) || len(o.Accounts) != 200 {
		t.Errorf("%d ListAccountsForParent calls for %d accounts under %d parents, want %d (pages of 20)", got, len(o.Accounts), len(o.OUs), want)
	}
}
