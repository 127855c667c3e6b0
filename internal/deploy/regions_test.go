package deploy

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/account"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/detect"
)

// TestAssumeRootInEveryEnabledRegion: the Regions enabled in the
// management account, read through the SDK's Account client from awssim,
// that the governed regions leave out each get the AssumeRoot stack, in
// the management account and, with its credentials, in IAM's delegated
// administrator; without them the plan says the administrator is skipped.
func TestAssumeRootInEveryEnabledRegion(t *testing.T) {
	d, srv, _, role := simDeployer(t, testConfig(), func(sc *awssim.Scenario) { sc.Regions = []string{"me-central-1"} })
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	akid, secret := srv.ManagementCredentials()
	enabled, err := EnabledRegions(t.Context(), account.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")}))
	if err != nil {
		t.Fatal(err)
	}
	if len(enabled) != 18 || !slices.Contains(enabled, "me-central-1") || slices.Contains(enabled, "me-south-1") {
		t.Fatalf("enabled regions %v", enabled)
	}
	d.Config.EnabledRegions = enabled
	d.Config.IAMAdminAccountID = auditAccount
	d.Config.IAMAdminRegions = []string{"us-east-1", "eu-west-1", "us-west-2", "us-west-2"}

	byAccount := func(steps []Step) map[string][]string {
		m := map[string][]string{}
		for _, s := range steps {
			if s.Name == AssumeRootStackName {
				m[s.Account] = append(m[s.Account], s.Region+":"+string(s.Action))
			}
		}
		return m
	}
	steps, err := d.Plan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := byAccount(steps)
	// 18 enabled; us-east-1 and eu-west-1 are governed (the management stack).
	if len(got["management"]) != 16 || !slices.Contains(got["management"], "me-central-1:create") ||
		slices.ContainsFunc(got["management"], func(s string) bool { return strings.HasPrefix(s, "us-east-1:") || strings.HasPrefix(s, "eu-west-1:") }) {
		t.Errorf("management: %v", got["management"])
	}
	if !slices.Equal(got["iam-admin"], []string{"*:skipped"}) {
		t.Errorf("iam-admin without credentials: %v", got["iam-admin"])
	}

	d.IAMAdmin = role(auditAccount)
	if _, err := d.Apply(t.Context()); err != nil {
		t.Fatal(err)
	}
	steps, err = d.Plan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got = byAccount(steps)
	if !slices.Equal(got["iam-admin"], []string{"us-west-2:unchanged"}) || len(got["management"]) != 16 ||
		slices.ContainsFunc(got["management"], func(s string) bool { return !strings.HasSuffix(s, ":unchanged") }) {
		t.Errorf("after apply: %v", got)
	}
}

func TestConfigValidatesRegionsAndIAMAdmin(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"enabled region", func(c *Config) { c.EnabledRegions = []string{"us-east-1", "Mars"} }, `region "Mars"`},
		{"iam admin region", func(c *Config) { c.IAMAdminRegions = []string{"eu_west_1"} }, `region "eu_west_1"`},
		{"iam admin account", func(c *Config) { c.IAMAdminAccountID = "12345" }, `IAM delegated administrator "12345"`},
		// A Region of the right form that the management account has not
		// enabled (a typo, or an opt-in Region left off) is refused before
		// the first stack.
		{"governed region not enabled", func(c *Config) {
			c.EnabledRegions = []string{"us-east-1", "eu-west-1"}
			c.Regions = []string{"eu-west-1", "eu-wset-1"}
		}, `region "eu-wset-1" is not enabled in the management account`},
		{"home region not enabled", func(c *Config) {
			c.EnabledRegions = []string{"us-east-1", "eu-west-1"}
			c.HomeRegion = "ap-east-1"
		}, `region "ap-east-1" is not enabled`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			tc.mod(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestConfigAcceptsEnabledRegions(t *testing.T) {
	c := testConfig()
	c.EnabledRegions = []string{"us-east-1", "eu-west-1", "ap-northeast-1"}
	c.Regions = []string{"eu-west-1", "ap-northeast-1"}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

// TestNoRootSessionUnseen: a root session opened through the STS endpoint
// of any enabled Region, by the management account or by IAM's delegated
// administrator, is logged by awssim in that Region (as CloudTrail logs
// AssumeRoot), and a rule the plan deploys in that account and Region
// matches its EventBridge event.
func TestNoRootSessionUnseen(t *testing.T) {
	c := testConfig() // its OUs hold the IAM delegated administrator (Security OU)
	d, srv, _, role := simDeployer(t, c, func(sc *awssim.Scenario) { sc.Regions = []string{"il-central-1"} })
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	akid, secret := srv.ManagementCredentials()
	base := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")}
	enabled, err := EnabledRegions(t.Context(), account.NewFromConfig(base))
	if err != nil {
		t.Fatal(err)
	}
	d.Config.EnabledRegions, d.Config.IAMAdminAccountID, d.Config.IAMAdminRegions = enabled, auditAccount, enabled
	d.IAMAdmin = role(auditAccount)
	steps, err := d.Plan(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	// What the plan deploys, by account and Region.
	all := rendered(t)
	deployed := map[string][]detect.Pattern{}
	accounts := map[string]string{"management": mgmtAccount, "iam-admin": auditAccount}
	for _, s := range steps {
		tpl := map[string]string{ManagementStackName: ManagementTemplate, AssumeRootStackName: AssumeRootTemplate}[s.Name]
		if s.Kind == "stack" && tpl != "" {
			k := accounts[s.Account] + "/" + s.Region
			deployed[k] = append(deployed[k], deployedPatterns(t, all[tpl], "")...)
		}
	}
	for _, r := range d.Config.AllRegions() { // the member StackSet, in the Security OU
		deployed[auditAccount+"/"+r] = append(deployed[auditAccount+"/"+r], deployedPatterns(t, all[MemberTemplate], "")...)
	}

	admin, err := sts.NewFromConfig(base).AssumeRole(t.Context(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + auditAccount + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("iam-admin")})
	if err != nil {
		t.Fatal(err)
	}
	adminCreds := credentials.NewStaticCredentialsProvider(aws.ToString(admin.Credentials.AccessKeyId),
		aws.ToString(admin.Credentials.SecretAccessKey), aws.ToString(admin.Credentials.SessionToken))
	for _, creds := range []aws.CredentialsProvider{base.Credentials, adminCreds} {
		for _, r := range enabled {
			cfg := base.Copy()
			cfg.Region, cfg.Credentials = r, creds
			if _, err := sts.NewFromConfig(cfg).AssumeRoot(t.Context(), &sts.AssumeRootInput{TargetPrincipal: aws.String(prodAccount),
				TaskPolicyArn: &ststypes.PolicyDescriptorType{Arn: aws.String(awssim.TaskPolicyARN("IAMAuditRootUserCredentials"))}}); err != nil {
				t.Fatalf("AssumeRoot in %s: %v", r, err)
			}
		}
	}
	seen := map[string]bool{}
	for _, ev := range srv.TrailEvents() {
		var e struct {
			Account, Region string
			Detail          struct{ EventName string }
		}
		if err := json.Unmarshal(ev, &e); err != nil {
			t.Fatal(err)
		}
		if e.Detail.EventName != "AssumeRoot" {
			continue
		}
		k := e.Account + "/" + e.Region
		seen[k] = true
		if !anyMatches(t, deployed[k], ev) {
			t.Errorf("AssumeRoot in %s: no rule deployed there matches it", k)
		}
	}
	if len(seen) != 2*len(enabled) {
		t.Errorf("AssumeRoot logged in %d account-Regions, want %d: %v", len(seen), 2*len(enabled), seen)
	}
}
