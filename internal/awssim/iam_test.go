package awssim

import (
	"encoding/csv"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func wantTime(t *testing.T, what string, got *time.Time, want string) {
	t.Helper()
	if want == "" {
		if got != nil {
			t.Errorf("%s = %v, want none", what, got)
		}
		return
	}
	if got == nil || !got.Equal(date(want)) {
		t.Errorf("%s = %v, want %s", what, got, want)
	}
}

// TestRootAudit reads every account's root user through an
// IAMAuditRootUserCredentials session and checks each decoded output
// against testdata/scenario.yaml.
func TestRootAudit(t *testing.T) {
	e := newEnv(t, nil, Options{})
	tests := []struct {
		account         string
		summary         map[string]int32
		created         string
		passwordCreated string // "" = no login profile
		passwordUsed    string
		keys            []string // id/status
		mfa             []string
		certs           []string // id/status
	}{
		{
			account: exSecurity,
			summary: map[string]int32{"AccountMFAEnabled": 0, "AccountAccessKeysPresent": 0, "AccountPasswordPresent": 0, "AccountSigningCertificatesPresent": 0, "MFADevices": 0, "MFADevicesInUse": 0, "Users": 0, "Roles": 1},
			created: "2019-04-01T00:00:00Z",
		},
		{
			account:         exProd,
			summary:         map[string]int32{"AccountMFAEnabled": 0, "AccountAccessKeysPresent": 1, "AccountPasswordPresent": 1, "AccountSigningCertificatesPresent": 0, "MFADevices": 0},
			created:         "2020-01-15T00:00:00Z",
			passwordCreated: "2020-01-15T00:00:00Z", passwordUsed: "2024-06-30T12:00:00Z",
			keys: []string{"AKIAEXAMPLEROOT00001/Active", "AKIAEXAMPLEROOT00002/Inactive"},
		},
		{
			account:         exProdEU,
			summary:         map[string]int32{"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0, "AccountPasswordPresent": 1, "AccountSigningCertificatesPresent": 1, "MFADevices": 2, "MFADevicesInUse": 2},
			created:         "2021-02-01T00:00:00Z",
			passwordCreated: "2021-02-01T00:00:00Z",
			mfa:             []string{"arn:aws:iam::444444444444:u2f/root-user/EXAMPLEPASSKEY0000000001", "arn:aws:iam::444444444444:mfa/root-account-mfa-device"},
			certs:           []string{"EXAMPLECERT000000000000000001/Active", "EXAMPLECERT000000000000000002/Inactive"},
		},
		{
			account: exSandbox,
			summary: map[string]int32{"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 1, "AccountPasswordPresent": 0, "MFADevicesInUse": 1},
			created: "2022-06-01T00:00:00Z",
			keys:    []string{"AKIAEXAMPLEROOT00003/Active"},
			mfa:     []string{"arn:aws:iam::555555555555:mfa/root"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.account, func(t *testing.T) {
			ctx := t.Context()
			// The Sandbox OU's deny-root SCP (no exemption) blocks root
			// sessions there: read that account from a copy of the
			// scenario without it.
			c := e.assumeRoot(tt.account, "IAMAuditRootUserCredentials")
			if tt.account == exSandbox {
				sc := exampleScenario(t)
				sc.Policies = sc.Policies[:1]
				e2 := newEnv(t, sc, Options{})
				c = e2.assumeRoot(tt.account, "IAMAuditRootUserCredentials")
			}

			sum, err := c.iam.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.summary {
				if got, ok := sum.SummaryMap[k]; !ok || got != v {
					t.Errorf("SummaryMap[%s] = %d (present %v), want %d", k, got, ok, v)
				}
			}
			if len(sum.SummaryMap) != 34 {
				t.Errorf("SummaryMap has %d entries, want all 34 AWS keys", len(sum.SummaryMap))
			}

			user, err := c.iam.GetUser(ctx, &iam.GetUserInput{})
			if err != nil {
				t.Fatal(err)
			}
			u := user.User
			if *u.Arn != "arn:aws:iam::"+tt.account+":root" || *u.UserId != tt.account || u.UserName != nil || u.Path != nil {
				t.Errorf("root user %+v", u)
			}
			wantTime(t, "CreateDate", u.CreateDate, tt.created)
			wantTime(t, "PasswordLastUsed", u.PasswordLastUsed, tt.passwordUsed)

			lp, err := c.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{})
			if tt.passwordCreated == "" {
				var nse *iamtypes.NoSuchEntityException
				if !errors.As(err, &nse) {
					t.Fatalf("GetLoginProfile err = %v, want NoSuchEntityException", err)
				}
				wantStatus(t, err, http.StatusNotFound)
			} else {
				if err != nil {
					t.Fatal(err)
				}
				wantTime(t, "LoginProfile.CreateDate", lp.LoginProfile.CreateDate, tt.passwordCreated)
				if lp.LoginProfile.UserName != nil {
					t.Errorf("root login profile has user name %q", *lp.LoginProfile.UserName)
				}
			}

			keys, err := c.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
			if err != nil {
				t.Fatal(err)
			}
			var gotKeys []string
			for _, k := range keys.AccessKeyMetadata {
				gotKeys = append(gotKeys, *k.AccessKeyId+"/"+string(k.Status))
				if k.UserName != nil || k.CreateDate == nil {
					t.Errorf("key %+v", k)
				}
			}
			if !slices.Equal(gotKeys, tt.keys) || keys.IsTruncated {
				t.Errorf("keys %v (truncated %v), want %v", gotKeys, keys.IsTruncated, tt.keys)
			}

			mfa, err := c.iam.ListMFADevices(ctx, &iam.ListMFADevicesInput{})
			if err != nil {
				t.Fatal(err)
			}
			var gotMFA []string
			for _, d := range mfa.MFADevices {
				gotMFA = append(gotMFA, *d.SerialNumber)
				if d.EnableDate == nil {
					t.Errorf("device %s has no enable date", *d.SerialNumber)
				}
			}
			if !slices.Equal(gotMFA, tt.mfa) {
				t.Errorf("MFA devices %v, want %v", gotMFA, tt.mfa)
			}

			certs, err := c.iam.ListSigningCertificates(ctx, &iam.ListSigningCertificatesInput{})
			if err != nil {
				t.Fatal(err)
			}
			var gotCerts []string
			for _, cert := range certs.Certificates {
				gotCerts = append(gotCerts, *cert.CertificateId+"/"+string(cert.Status))
				if !strings.HasPrefix(*cert.CertificateBody, "-----BEGIN CERTIFICATE-----") || cert.UploadDate == nil {
					t.Errorf("certificate %+v", cert)
				}
			}
			if !slices.Equal(gotCerts, tt.certs) {
				t.Errorf("certificates %v, want %v", gotCerts, tt.certs)
			}
		})
	}
}

func TestGetAccessKeyLastUsed(t *testing.T) {
	e := newEnv(t, nil, Options{})
	c := e.assumeRoot(exProd, "IAMAuditRootUserCredentials")
	tests := []struct {
		key, date, service, region, wantCode string
	}{
		{"AKIAEXAMPLEROOT00001", "2025-09-01T10:00:00Z", "s3", "eu-west-1", ""},
		{"AKIAEXAMPLEROOT00002", "", "N/A", "N/A", ""},
		{"AKIAEXAMPLEROOT00003", "", "", "", "AccessDenied"}, // another account's key
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			out, err := c.iam.GetAccessKeyLastUsed(t.Context(), &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(tt.key)})
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			lu := out.AccessKeyLastUsed
			wantTime(t, "LastUsedDate", lu.LastUsedDate, tt.date)
			if *lu.ServiceName != tt.service || *lu.Region != tt.region || out.UserName != nil {
				t.Errorf("last used %s %s user %v", *lu.ServiceName, *lu.Region, out.UserName)
			}
		})
	}
}

// TestDeleteRootCredentials removes every root credential of an account
// with an IAMDeleteRootUserCredentials session, as centralized root access
// does, and checks the account summary afterwards.
func TestDeleteRootCredentials(t *testing.T) {
	sc := exampleScenario(t)
	e := newEnv(t, sc, Options{})
	ctx := t.Context()
	c := e.assumeRoot(exProdEU, "IAMDeleteRootUserCredentials")
	const virtual = "arn:aws:iam::444444444444:mfa/root-account-mfa-device"
	const passkey = "arn:aws:iam::444444444444:u2f/root-user/EXAMPLEPASSKEY0000000001"

	// The root session cannot delete the device (TestDeleteVirtualMFADeviceResource);
	// an administrator role in the account can.
	admin := e.assumeRole(exProdEU)
	_, err := admin.iam.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: aws.String(virtual)})
	var conflict *iamtypes.DeleteConflictException
	if !errors.As(err, &conflict) {
		t.Fatalf("deleting an assigned virtual device: err = %v, want DeleteConflictException", err)
	}
	wantStatus(t, err, http.StatusConflict)
	for _, serial := range []string{passkey, virtual} {
		if _, err := c.iam.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{SerialNumber: aws.String(serial)}); err != nil {
			t.Fatalf("deactivate %s: %v", serial, err)
		}
	}
	sum := summary(t, e.assumeRoot(exProdEU, "IAMAuditRootUserCredentials"))
	if sum["MFADevices"] != 1 || sum["MFADevicesInUse"] != 0 || sum["AccountMFAEnabled"] != 0 {
		t.Errorf("after deactivation: %v (the virtual device stays until deleted)", sum)
	}
	if _, err := admin.iam.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: aws.String(virtual)}); err != nil {
		t.Fatal(err)
	}
	_, err = admin.iam.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: aws.String(virtual)})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Fatalf("deleting twice: err = %v, want NoSuchEntityException", err)
	}
	for _, id := range []string{"EXAMPLECERT000000000000000001", "EXAMPLECERT000000000000000002"} {
		if _, err := c.iam.DeleteSigningCertificate(ctx, &iam.DeleteSigningCertificateInput{CertificateId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.iam.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.iam.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{}); !errors.As(err, &nse) {
		t.Fatalf("second DeleteLoginProfile: err = %v, want NoSuchEntityException", err)
	}
	for k, v := range summary(t, e.assumeRoot(exProdEU, "IAMAuditRootUserCredentials")) {
		if strings.HasPrefix(k, "Account") || strings.HasPrefix(k, "MFADevices") {
			if v != 0 {
				t.Errorf("after deleting everything: %s = %d", k, v)
			}
		}
	}

	p := e.assumeRoot(exProd, "IAMDeleteRootUserCredentials")
	for _, id := range []string{"AKIAEXAMPLEROOT00001", "AKIAEXAMPLEROOT00002"} {
		if _, err := p.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String("AKIAEXAMPLEROOT00001")}); !errors.As(err, &nse) {
		t.Fatalf("deleting a deleted key: err = %v, want NoSuchEntityException", err)
	}
	if sum := summary(t, e.assumeRoot(exProd, "IAMAuditRootUserCredentials")); sum["AccountAccessKeysPresent"] != 0 {
		t.Errorf("keys still present: %v", sum)
	}
	if len(sc.Accounts[3].Root.MFA) != 2 || len(sc.Accounts[2].Root.AccessKeys) != 2 {
		t.Error("the server changed the Scenario it was given")
	}
}

func summary(t *testing.T, c clients) map[string]int32 {
	t.Helper()
	out, err := c.iam.GetAccountSummary(t.Context(), &iam.GetAccountSummaryInput{})
	if err != nil {
		t.Fatal(err)
	}
	return out.SummaryMap
}

// TestCreateRootPassword: IAMCreateRootUserPassword gives a root whose
// credentials were deleted a login profile, without a password.
func TestCreateRootPassword(t *testing.T) {
	clk := newClock()
	e := newEnv(t, nil, Options{Now: clk.now})
	ctx := t.Context()
	c := e.assumeRoot(exSecurity, "IAMCreateRootUserPassword")
	_, err := c.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{Password: aws.String("hunter2hunter2")})
	wantCode(t, err, "ValidationError")
	out, err := c.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !out.LoginProfile.CreateDate.Equal(clk.now()) || out.LoginProfile.UserName != nil {
		t.Errorf("login profile %+v", out.LoginProfile)
	}
	if _, err := c.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{})
	var exists *iamtypes.EntityAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("second CreateLoginProfile: err = %v, want EntityAlreadyExistsException", err)
	}
}

// TestIAMPagination walks root credentials one item per page with the
// SDK's paginators (Marker, MaxItems, IsTruncated).
func TestIAMPagination(t *testing.T) {
	e := newEnv(t, nil, Options{})
	ctx := t.Context()
	prod := e.assumeRoot(exProd, "IAMAuditRootUserCredentials")
	eu := e.assumeRoot(exProdEU, "IAMAuditRootUserCredentials")

	var keys []string
	pages := 0
	kp := iam.NewListAccessKeysPaginator(prod.iam, &iam.ListAccessKeysInput{}, func(o *iam.ListAccessKeysPaginatorOptions) { o.Limit = 1 })
	for kp.HasMorePages() {
		out, err := kp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, k := range out.AccessKeyMetadata {
			keys = append(keys, *k.AccessKeyId)
		}
	}
	if pages != 2 || !slices.Equal(keys, []string{"AKIAEXAMPLEROOT00001", "AKIAEXAMPLEROOT00002"}) {
		t.Errorf("%d pages of keys %v", pages, keys)
	}

	var serials []string
	mp := iam.NewListMFADevicesPaginator(eu.iam, &iam.ListMFADevicesInput{}, func(o *iam.ListMFADevicesPaginatorOptions) { o.Limit = 1 })
	for mp.HasMorePages() {
		out, err := mp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.MFADevices) != 1 {
			t.Fatalf("page of %d devices", len(out.MFADevices))
		}
		serials = append(serials, *out.MFADevices[0].SerialNumber)
	}
	if len(serials) != 2 {
		t.Errorf("devices %v", serials)
	}

	var certs []string
	cp := iam.NewListSigningCertificatesPaginator(eu.iam, &iam.ListSigningCertificatesInput{}, func(o *iam.ListSigningCertificatesPaginatorOptions) { o.Limit = 1 })
	for cp.HasMorePages() {
		out, err := cp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range out.Certificates {
			certs = append(certs, *c.CertificateId)
		}
	}
	if len(certs) != 2 {
		t.Errorf("certificates %v", certs)
	}

	_, err := prod.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{MaxItems: aws.Int32(1001)})
	wantCode(t, err, "ValidationError")
	_, err = prod.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{Marker: aws.String("bogus")})
	wantCode(t, err, "ValidationError")
}

// TestIAMOtherPrincipals: without UserName IAM acts on the caller, so the
// management credentials see the awssim-admin user and a role session must
// name a user.
func TestIAMOtherPrincipals(t *testing.T) {
	e := newEnv(t, nil, Options{})
	ctx := t.Context()
	user, err := e.mgmt.iam.GetUser(ctx, &iam.GetUserInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *user.User.UserName != AdminUserName || *user.User.Arn != "arn:aws:iam::111111111111:user/awssim-admin" || *user.User.Path != "/" {
		t.Errorf("admin user %+v", user.User)
	}
	akid, _ := e.srv.ManagementCredentials()
	keys, err := e.mgmt.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	if err != nil || len(keys.AccessKeyMetadata) != 1 || *keys.AccessKeyMetadata[0].AccessKeyId != akid || *keys.AccessKeyMetadata[0].UserName != AdminUserName {
		t.Errorf("admin keys %+v, %v", keys, err)
	}
	_, err = e.mgmt.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Errorf("admin login profile: err = %v, want NoSuchEntityException", err)
	}
	sum := summary(t, e.mgmt)
	if sum["Users"] != 1 || sum["AccountMFAEnabled"] != 1 || sum["AccountPasswordPresent"] != 1 {
		t.Errorf("management account summary %v", sum)
	}

	role := e.assumeRole(exProd)
	_, err = role.iam.GetUser(ctx, &iam.GetUserInput{})
	wantCode(t, err, "ValidationError")
	_, err = role.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
	if !errors.As(err, &nse) {
		t.Errorf("unknown user: err = %v, want NoSuchEntityException", err)
	}
	if sum := summary(t, role); sum["AccountPasswordPresent"] != 1 || sum["Users"] != 0 {
		t.Errorf("role session summary %v", sum)
	}
}

// TestServiceControlPolicies: a root-deny SCP without the aws:AssumedRoot
// exemption blocks root sessions in the accounts below it; with the
// exemption it does not; it never affects role sessions.
func TestServiceControlPolicies(t *testing.T) {
	e := newEnv(t, nil, Options{})
	ctx := t.Context()
	_, err := e.assumeRoot(exSandbox, "IAMAuditRootUserCredentials").iam.GetUser(ctx, &iam.GetUserInput{})
	wantCode(t, err, "AccessDenied")
	if !strings.Contains(err.Error(), "explicit deny in a service control policy") {
		t.Errorf("message %v", err)
	}
	if _, err := e.assumeRoot(exProd, "IAMAuditRootUserCredentials").iam.GetUser(ctx, &iam.GetUserInput{}); err != nil {
		t.Errorf("exempt root session: %v", err)
	}
	if _, err := e.assumeRole(exSandbox).iam.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{}); err != nil {
		t.Errorf("role session under the deny-root SCP: %v", err)
	}
}

// TestCredentialReport: GenerateCredentialReport STARTED, INPROGRESS,
// COMPLETE; GetCredentialReport's errors in each state; the CSV's header
// and root row as IAM writes them.
func TestCredentialReport(t *testing.T) {
	clk := newClock()
	e := newEnv(t, nil, Options{Now: clk.now, ReportDelay: 30 * time.Second})
	ctx := t.Context()
	c := e.assumeRole(exProd)

	_, err := c.iam.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	var notPresent *iamtypes.CredentialReportNotPresentException
	if !errors.As(err, &notPresent) {
		t.Fatalf("before generation: err = %v, want CredentialReportNotPresentException", err)
	}
	wantStatus(t, err, http.StatusGone)

	gen := func(want iamtypes.ReportStateType) {
		t.Helper()
		out, err := c.iam.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
		if err != nil || out.State != want {
			t.Fatalf("GenerateCredentialReport = %+v, %v; want %s", out, err, want)
		}
	}
	gen(iamtypes.ReportStateTypeStarted)
	_, err = c.iam.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	var notReady *iamtypes.CredentialReportNotReadyException
	if !errors.As(err, &notReady) {
		t.Fatalf("while generating: err = %v, want CredentialReportNotReadyException", err)
	}
	gen(iamtypes.ReportStateTypeInprogress)
	started := clk.now()
	clk.advance(31 * time.Second)
	gen(iamtypes.ReportStateTypeComplete)

	out, err := c.iam.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	if err != nil {
		t.Fatal(err)
	}
	if out.ReportFormat != iamtypes.ReportFormatTypeTextCsv || !out.GeneratedTime.Equal(started) {
		t.Errorf("format %s generated %v", out.ReportFormat, out.GeneratedTime)
	}
	lines := strings.Split(strings.TrimSuffix(string(out.Content), "\n"), "\n")
	const header = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
	const root = "<root_account>,arn:aws:iam::333333333333:root,2020-01-15T00:00:00+00:00,not_supported,2024-06-30T12:00:00+00:00,not_supported,not_supported,false,true,2020-02-01T00:00:00+00:00,2025-09-01T10:00:00+00:00,eu-west-1,s3,false,2021-05-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A"
	if len(lines) != 2 || lines[0] != header || lines[1] != root {
		t.Errorf("report:\n%s", out.Content)
	}

	clk.advance(reportLifetime)
	c = e.assumeRole(exProd) // the first session has expired too
	_, err = c.iam.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	var expired *iamtypes.CredentialReportExpiredException
	if !errors.As(err, &expired) {
		t.Fatalf("after four hours: err = %v, want CredentialReportExpiredException", err)
	}
	gen(iamtypes.ReportStateTypeStarted)
}

// TestCredentialReportManagement: the management account's report has the
// root row and the admin user's row, readable as CSV.
func TestCredentialReportManagement(t *testing.T) {
	e := newEnv(t, nil, Options{})
	ctx := t.Context()
	if _, err := e.mgmt.iam.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{}); err != nil {
		t.Fatal(err)
	}
	out, err := e.mgmt.iam.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(out.Content))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[1][0] != "<root_account>" || rows[1][7] != "true" || rows[2][0] != AdminUserName || rows[2][3] != "false" || rows[2][8] != "true" {
		t.Errorf("rows %v", rows)
	}
}

// TestOrganizationsFeatures: ListOrganizationsFeatures and the two Enable
// operations with their documented preconditions, and their effect on
// AssumeRoot.
func TestOrganizationsFeatures(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, nil, Options{})
	out, err := e.mgmt.iam.ListOrganizationsFeatures(ctx, &iam.ListOrganizationsFeaturesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *out.OrganizationId != exOrgID || !slices.Equal(out.EnabledFeatures, []iamtypes.FeatureType{"RootCredentialsManagement", "RootSessions"}) {
		t.Errorf("features %s %v", *out.OrganizationId, out.EnabledFeatures)
	}
	if _, err := e.assumeRole(exSecurity).iam.ListOrganizationsFeatures(ctx, &iam.ListOrganizationsFeaturesInput{}); err != nil {
		t.Errorf("delegated administrator: %v", err)
	}
	_, err = e.assumeRole(exProd).iam.ListOrganizationsFeatures(ctx, &iam.ListOrganizationsFeaturesInput{})
	var notAdmin *iamtypes.AccountNotManagementOrDelegatedAdministratorException
	if !errors.As(err, &notAdmin) {
		t.Errorf("member account: err = %v", err)
	}
	_, err = e.assumeRole(exSecurity).iam.EnableOrganizationsRootSessions(ctx, &iam.EnableOrganizationsRootSessionsInput{})
	var notMgmt *iamtypes.CallerIsNotManagementAccountException
	if !errors.As(err, &notMgmt) {
		t.Errorf("enable from the delegated administrator: err = %v", err)
	}

	sc := exampleScenario(t)
	sc.Organization.Features = nil
	off := newEnv(t, sc, Options{})
	_, err = off.mgmt.sts.AssumeRoot(ctx, &sts.AssumeRootInput{TargetPrincipal: aws.String(exProd),
		TaskPolicyArn: &ststypes.PolicyDescriptorType{Arn: aws.String(TaskPolicyARN("IAMAuditRootUserCredentials"))}})
	wantCode(t, err, "AccessDenied")
	en, err := off.mgmt.iam.EnableOrganizationsRootCredentialsManagement(ctx, &iam.EnableOrganizationsRootCredentialsManagementInput{})
	if err != nil || !slices.Equal(en.EnabledFeatures, []iamtypes.FeatureType{"RootCredentialsManagement"}) {
		t.Fatalf("enable credentials management: %+v, %v", en, err)
	}
	es, err := off.mgmt.iam.EnableOrganizationsRootSessions(ctx, &iam.EnableOrganizationsRootSessionsInput{})
	if err != nil || len(es.EnabledFeatures) != 2 || *es.OrganizationId != exOrgID {
		t.Fatalf("enable sessions: %+v, %v", es, err)
	}
	off.assumeRoot(exProd, "IAMAuditRootUserCredentials")

	sc.Organization.TrustedAccess = nil
	_, err = newEnv(t, sc, Options{}).mgmt.iam.EnableOrganizationsRootSessions(ctx, &iam.EnableOrganizationsRootSessionsInput{})
	var noAccess *iamtypes.ServiceAccessNotEnabledException
	if !errors.As(err, &noAccess) {
		t.Errorf("without trusted access: err = %v", err)
	}

	// An organization with consolidated billing only: centralized root
	// access needs all features (IAM API Reference,
	// OrganizationNotInAllFeaturesModeException), and DescribeOrganization
	// says which feature set it has.
	sc = exampleScenario(t)
	sc.Organization.Features = nil
	sc.Organization.FeatureSet = "CONSOLIDATED_BILLING"
	cb := newEnv(t, sc, Options{})
	_, err = cb.mgmt.iam.EnableOrganizationsRootCredentialsManagement(ctx, &iam.EnableOrganizationsRootCredentialsManagementInput{})
	var notAll *iamtypes.OrganizationNotInAllFeaturesModeException
	if !errors.As(err, &notAll) {
		t.Errorf("consolidated billing only: err = %v", err)
	}
	wantStatus(t, err, 400)
	org, err := cb.mgmt.orgs.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil || org.Organization.FeatureSet != orgtypes.OrganizationFeatureSetConsolidatedBilling || len(org.Organization.AvailablePolicyTypes) != 0 {
		t.Errorf("DescribeOrganization: %+v, %v", org, err)
	}
	sc.Organization.Features = []string{FeatureRootSessions}
	if err := sc.Validate(); err == nil || !strings.Contains(err.Error(), "featureSet ALL") {
		t.Errorf("features without all features: %v", err)
	}
}

// TestStandaloneAccount: an account in no organization gets
// OrganizationNotFoundException from IAM and
// AWSOrganizationsNotInUseException from Organizations.
func TestStandaloneAccount(t *testing.T) {
	sc := &Scenario{
		Organization: Organization{ManagementAccount: "123456789012"},
		Accounts:     []Account{{ID: "123456789012", Name: "alone", Email: "alone@example.com", Joined: date("2024-01-01T00:00:00Z")}},
	}
	e := newEnv(t, sc, Options{})
	ctx := t.Context()
	_, err := e.mgmt.iam.ListOrganizationsFeatures(ctx, &iam.ListOrganizationsFeaturesInput{})
	var notFound *iamtypes.OrganizationNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("ListOrganizationsFeatures: err = %v", err)
	}
	_, err = e.mgmt.orgs.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	var notInUse *orgtypes.AWSOrganizationsNotInUseException
	if !errors.As(err, &notInUse) {
		t.Errorf("DescribeOrganization: err = %v", err)
	}
	_, err = e.mgmt.sts.AssumeRoot(ctx, &sts.AssumeRootInput{TargetPrincipal: aws.String("123456789012"),
		TaskPolicyArn: &ststypes.PolicyDescriptorType{Arn: aws.String(TaskPolicyARN("IAMAuditRootUserCredentials"))}})
	wantCode(t, err, "AccessDenied")
}

// TestAccountSummaryWithoutRootSession: GetAccountSummary answers the
// root user's four flags to any principal of the account allowed the call
// (a role, the management account's own users), as the IAM API reference
// defines SummaryMap: AccountPasswordPresent, AccountAccessKeysPresent,
// AccountSigningCertificatesPresent and AccountMFAEnabled, "1 if the root
// account has ..., 0 otherwise". Role-based audits rely on it.
func TestAccountSummaryWithoutRootSession(t *testing.T) {
	e := newEnv(t, nil, Options{})
	flags := []string{"AccountPasswordPresent", "AccountAccessKeysPresent", "AccountSigningCertificatesPresent", "AccountMFAEnabled"}
	tests := []struct {
		name string
		c    clients
		want []int32
	}{
		{"role in the security account (root deleted centrally)", e.assumeRole(exSecurity), []int32{0, 0, 0, 0}},
		{"role in prod (password, two keys, no MFA)", e.assumeRole(exProd), []int32{1, 1, 0, 0}},
		{"role in prod EU (password, certificates, MFA)", e.assumeRole(exProdEU), []int32{1, 0, 1, 1}},
		{"the management account's own user", e.mgmt, []int32{1, 0, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, err := tt.c.iam.GetAccountSummary(t.Context(), &iam.GetAccountSummaryInput{})
			if err != nil {
				t.Fatal(err)
			}
			for i, k := range flags {
				if got, ok := sum.SummaryMap[k]; !ok || got != tt.want[i] {
					t.Errorf("SummaryMap[%s] = %d (present %v), want %d", k, got, ok, tt.want[i])
				}
			}
		})
	}
}
