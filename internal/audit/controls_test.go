package audit

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)

func outcomes(cs []Control) map[string]Outcome {
	m := map[string]Outcome{}
	for _, c := range cs {
		m[c.ID] = c.Outcome
	}
	return m
}

func TestEvaluate(t *testing.T) {
	virtual := MFADevice{Serial: "arn:aws:iam::222222222222:mfa/root-account-mfa-device", Kind: MFAVirtual}
	hardware := MFADevice{Serial: "GAHT12345678", Kind: MFAHardware}
	refused := SessionBlock{Task: "IAMDeleteRootUserCredentials", Action: "iam:DeleteLoginProfile", Decision: "explicit-deny",
		Policy: "p-2", PolicyName: "read-only", Statement: "ReadOnly", Target: "Prod (ou-1)", Reason: "explicit deny"}
	tests := []struct {
		name string
		acct Account
		want map[string]Outcome
	}{
		{"centrally deleted root: nothing to protect, no false alarms", Account{Root: &Root{}},
			map[string]Outcome{CtlNoAccessKeys: Pass, CtlRootMFA: NotApplicable, CtlHardwareMFA: NotApplicable, CtlCredentialsGone: Pass, CtlNotUsedRecently: Pass, CtlSCPRootSessions: NotApplicable}},
		{"password and no MFA", Account{Root: &Root{Password: true}},
			map[string]Outcome{CtlNoAccessKeys: Pass, CtlRootMFA: Fail, CtlHardwareMFA: Fail, CtlCredentialsGone: Fail}},
		{"password with virtual MFA", Account{Root: &Root{Password: true, MFADevices: []MFADevice{virtual}}},
			map[string]Outcome{CtlRootMFA: Pass, CtlHardwareMFA: Fail, CtlCredentialsGone: Fail}},
		{"hardware token", Account{Root: &Root{Password: true, MFADevices: []MFADevice{hardware}}},
			map[string]Outcome{CtlRootMFA: Pass, CtlHardwareMFA: Pass}},
		{"inactive access key still fails IAM.4", Account{Root: &Root{AccessKeys: []AccessKey{{ID: "AKIA1", Status: "Inactive"}}}},
			map[string]Outcome{CtlNoAccessKeys: Fail, CtlRootMFA: Fail, CtlCredentialsGone: Fail}},
		{"MFA device left behind after deletion", Account{Root: &Root{MFADevices: []MFADevice{virtual}}},
			map[string]Outcome{CtlRootMFA: NotApplicable, CtlCredentialsGone: Fail}},
		{"used last week", Account{Root: &Root{Password: true, LastUsed: now.Add(-7 * 24 * time.Hour)}},
			map[string]Outcome{CtlNotUsedRecently: Fail}},
		{"used last year", Account{Root: &Root{Password: true, LastUsed: now.Add(-365 * 24 * time.Hour)}},
			map[string]Outcome{CtlNotUsedRecently: Pass}},
		{"management account keeps its root", Account{Management: true, Root: &Root{Password: true, MFADevices: []MFADevice{hardware}}},
			map[string]Outcome{CtlCredentialsGone: NotApplicable, CtlRootMFA: Pass}},
		{"an SCP refuses a task", Account{Root: &Root{}, SCPsChecked: true, SessionBlocks: []SessionBlock{refused}},
			map[string]Outcome{CtlSCPRootSessions: Fail}},
		{"SCPs refuse no task", Account{Root: &Root{}, SCPsChecked: true},
			map[string]Outcome{CtlSCPRootSessions: Pass}},
		{"SCPs could not be read", Account{Root: &Root{}, SCPError: "list SCPs: AccessDenied"},
			map[string]Outcome{CtlSCPRootSessions: Unknown}},
		{"undetermined", Account{Root: &Root{}, SCPsChecked: true, SessionBlocks: []SessionBlock{{Task: "S3UnlockBucketPolicy", Action: "s3:GetBucketPolicy", Decision: "undetermined"}}},
			map[string]Outcome{CtlSCPRootSessions: Unknown}},
		{"suspended", Account{State: "SUSPENDED"},
			map[string]Outcome{CtlSCPRootSessions: NotApplicable}},
		{"not read", Account{Error: "assume root: AccessDenied"},
			map[string]Outcome{CtlNoAccessKeys: Unknown, CtlRootMFA: Unknown, CtlSCPRootSessions: NotApplicable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := Evaluate(&tt.acct, now)
			got := outcomes(cs)
			for id, want := range tt.want {
				if got[id] != want {
					t.Errorf("%s = %s, want %s (%v)", id, got[id], want, cs)
				}
			}
			for _, c := range cs {
				if c.Title == "" || c.Detail == "" {
					t.Errorf("control %s lacks a title or detail", c.ID)
				}
			}
		})
	}
}

func TestEvaluateOrg(t *testing.T) {
	got := outcomes(EvaluateOrg(OrgInfo{EnabledFeatures: []string{"RootCredentialsManagement"}, IAMTrustedAccess: true}))
	if got[CtlOrgRootAccess] != Fail || got[CtlOrgTrustedAccess] != Pass {
		t.Errorf("got %v", got)
	}
	got = outcomes(EvaluateOrg(OrgInfo{EnabledFeatures: []string{"RootSessions", "RootCredentialsManagement"}}))
	if got[CtlOrgRootAccess] != Pass || got[CtlOrgTrustedAccess] != Fail {
		t.Errorf("got %v", got)
	}
}

func TestMFAKindOf(t *testing.T) {
	for serial, want := range map[string]MFAKind{
		"arn:aws:iam::123456789012:mfa/root-account-mfa-device": MFAVirtual,
		"arn:aws:iam::123456789012:u2f/root-user/ABCDEFGH":      MFAPasskey,
		"GAHT12345678": MFAHardware,
	} {
		if got := MFAKindOf(serial); got != want {
			t.Errorf("MFAKindOf(%s) = %s, want %s", serial, got, want)
		}
	}
}

const reportHeader = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n"

func TestParseCredentialReport(t *testing.T) {
	content := reportHeader +
		"<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,2026-11-01T10:00:00+00:00,not_supported,not_supported,true,true,2025-01-01T00:00:00+00:00,2026-11-20T00:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n" +
		"alice,arn:aws:iam::123456789012:user/alice,2021-01-01T00:00:00+00:00,true,no_information,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
	r, err := ParseCredentialReport([]byte(content))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Password || len(r.Notes) != 2 || len(r.MFADevices) != 1 || len(r.AccessKeys) != 1 || len(r.SigningCertificates) != 0 {
		t.Errorf("root = %+v", r)
	}
	if r.AccessKeys[0].Status != "Active" || r.AccessKeys[0].LastUsedService != "s3" || !r.LastUsed.Equal(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("key = %+v, last used %s", r.AccessKeys[0], r.LastUsed)
	}
	never := reportHeader + "<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,no_information,not_supported,not_supported,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
	r, err = ParseCredentialReport([]byte(never))
	if err != nil || !r.LastUsed.IsZero() || len(r.AccessKeys) != 0 || len(r.MFADevices) != 0 {
		t.Errorf("root = %+v err=%v", r, err)
	}
	for _, bad := range []string{"", "user,arn\nalice,x\n", reportHeader + "alice,arn:aws:iam::1:user/alice\n"} {
		if _, err := ParseCredentialReport([]byte(bad)); err == nil {
			t.Errorf("report %q accepted", bad)
		}
	}
}

// TestHardwareMFA pins IAM.6 to AWS's definition, one rule for every
// account, member or management, however it was read.
//
// AWS Config, root-account-hardware-mfa-enabled (the rule behind Security
// Hub's IAM.6): "Checks if your AWS account is enabled to use
// multi-factor authentication (MFA) hardware device to sign in with root
// credentials. The rule is NON_COMPLIANT if any virtual MFA devices are
// permitted for signing in with root credentials." and "This rule returns
// NOT_APPLICABLE if root user credentials are not present."
// Security Hub's guide counts TOTP and U2F (FIDO) tokens alike as
// hardware MFA, so a FIDO security key or passkey (serial ...:u2f/...)
// passes like a TOTP token.
func TestHardwareMFA(t *testing.T) {
	virtual := MFADevice{Serial: "arn:aws:iam::222222222222:mfa/root-account-mfa-device", Kind: MFAVirtual}
	passkey := MFADevice{Serial: "arn:aws:iam::222222222222:u2f/root-user/ABCD", Kind: MFAPasskey}
	hardware := MFADevice{Serial: "GAHT12345678", Kind: MFAHardware}
	notVirtual := MFADevice{Serial: "(not a virtual device)", Kind: MFANotVirtual}
	unknown := MFADevice{Serial: "(from credential report)", Kind: MFAUnknownKind}
	tests := []struct {
		name string
		root Root
		want Outcome
	}{
		{"no root credentials: NOT_APPLICABLE", Root{}, NotApplicable},
		{"no credentials, a virtual device left behind: still NOT_APPLICABLE", Root{MFADevices: []MFADevice{virtual}}, NotApplicable},
		{"password, no MFA", Root{Password: true}, Fail},
		{"access key only, no MFA", Root{AccessKeys: []AccessKey{{ID: "AKIA1", Status: "Active"}}}, Fail},
		{"only virtual", Root{Password: true, MFADevices: []MFADevice{virtual}}, Fail},
		{"hardware TOTP token", Root{Password: true, MFADevices: []MFADevice{hardware}}, Pass},
		{"FIDO security key / passkey", Root{Password: true, MFADevices: []MFADevice{passkey}}, Pass},
		{"hardware and passkey", Root{Password: true, MFADevices: []MFADevice{hardware, passkey}}, Pass},
		{"passkey beside a virtual device: a virtual device is permitted", Root{Password: true, MFADevices: []MFADevice{passkey, virtual}}, Fail},
		{"hardware beside a virtual device", Root{Password: true, MFADevices: []MFADevice{virtual, hardware}}, Fail},
		{"no virtual device assigned (management, role)", Root{Password: true, MFADevices: []MFADevice{notVirtual}}, Pass},
		{"kind unreadable", Root{Password: true, MFADevices: []MFADevice{unknown}}, Unknown},
		{"kind unreadable beside a virtual device", Root{Password: true, MFADevices: []MFADevice{unknown, virtual}}, Fail},
	}
	for _, tt := range tests {
		for _, mgmt := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/management=%v", tt.name, mgmt), func(t *testing.T) {
				root := tt.root
				cs := Evaluate(&Account{Management: mgmt, Root: &root}, now)
				if got := outcomes(cs)[CtlHardwareMFA]; got != tt.want {
					t.Errorf("IAM.6 = %s, want %s (%v)", got, tt.want, cs)
				}
			})
		}
	}
}

// TestSCPManagementAccount: AWS Organizations User Guide, Service control
// policies: "SCPs don't affect users or roles in the management account.
// They affect only the member accounts in your organization." RG.SCP.1 is
// therefore not applicable there, whatever is attached at the root.
func TestSCPManagementAccount(t *testing.T) {
	blocking := []SessionBlock{{Task: "IAMAuditRootUserCredentials", Action: "iam:GetUser", Decision: "explicit-deny", Policy: "p-2"}}
	for _, a := range []Account{
		{Management: true, Root: &Root{Password: true}, SCPsChecked: true, SessionBlocks: blocking},
		{Management: true, Root: &Root{Password: true}},
		{Management: true, Error: "get account summary: AccessDenied", SCPsChecked: true, SessionBlocks: blocking},
	} {
		if got := outcomes(Evaluate(&a, now))[CtlSCPRootSessions]; got != NotApplicable {
			t.Errorf("management account %+v: RG.SCP.1 = %s, want not-applicable", a, got)
		}
	}
}

// TestAccessKeysIAM4 pins IAM.4 to AWS Config's iam-root-access-key-check
// (the rule behind Security Hub's IAM.4): "Checks if the root user access
// key is available. The rule is COMPLIANT if the user access key does not
// exist. Otherwise, NON_COMPLIANT." Any key fails, active or inactive (an
// inactive key can be re-activated), and the rule has no not-applicable
// case: a root with no credentials at all passes.
func TestAccessKeysIAM4(t *testing.T) {
	tests := []struct {
		name string
		root Root
		want Outcome
	}{
		{"no credentials at all", Root{}, Pass},
		{"password, no key", Root{Password: true}, Pass},
		{"active key", Root{AccessKeys: []AccessKey{{ID: "AKIA1", Status: "Active"}}}, Fail},
		{"inactive key", Root{AccessKeys: []AccessKey{{ID: "AKIA1", Status: "Inactive"}}}, Fail},
		{"key whose status is unreadable", Root{AccessKeys: []AccessKey{{ID: "(present per GetAccountSummary)", Status: "Unknown"}}}, Fail},
	}
	for _, tt := range tests {
		for _, mgmt := range []bool{false, true} {
			root := tt.root
			if got := outcomes(Evaluate(&Account{Management: mgmt, Root: &root}, now))[CtlNoAccessKeys]; got != tt.want {
				t.Errorf("%s (management %v): IAM.4 = %s, want %s", tt.name, mgmt, got, tt.want)
			}
		}
	}
}

// TestRootMFAIAM9 pins IAM.9 to AWS Config's root-account-mfa-enabled:
// "The rule is NON_COMPLIANT if the AWS Identity and Access Management
// (IAM) root account user does not have multi-factor authentication (MFA)
// enabled." and "This rule returns NOT_APPLICABLE if root user credentials
// are not present." Any MFA device passes, virtual or not.
func TestRootMFAIAM9(t *testing.T) {
	virtual := MFADevice{Serial: "arn:aws:iam::222222222222:mfa/root-account-mfa-device", Kind: MFAVirtual}
	tests := []struct {
		name string
		root Root
		want Outcome
	}{
		{"no credentials: NOT_APPLICABLE", Root{}, NotApplicable},
		{"no credentials, a device left behind: NOT_APPLICABLE", Root{MFADevices: []MFADevice{virtual}}, NotApplicable},
		{"password, no MFA", Root{Password: true}, Fail},
		{"signing certificate only, no MFA", Root{SigningCertificates: []Certificate{{ID: "C1", Status: "Active"}}}, Fail},
		{"password with a virtual device", Root{Password: true, MFADevices: []MFADevice{virtual}}, Pass},
	}
	for _, tt := range tests {
		for _, mgmt := range []bool{false, true} {
			root := tt.root
			if got := outcomes(Evaluate(&Account{Management: mgmt, Root: &root}, now))[CtlRootMFA]; got != tt.want {
				t.Errorf("%s (management %v): IAM.9 = %s, want %s", tt.name, mgmt, got, tt.want)
			}
		}
	}
}

// TestNotApplicableCases pins the not-applicable column of docs/cli.md's
// control table beyond IAM.9 and IAM.6 (pinned above):
//   - a suspended or closing account has no root user rootguard can read
//     (no root session opens there): every per-account control is
//     not-applicable, and an account that could not be read is unknown;
//   - RG.SCP.1 needs all features: the Organizations API reference
//     (CreateOrganization, FeatureSet) says "CONSOLIDATED_BILLING: All
//     member accounts have their bills consolidated to and paid by the
//     management account" while with "ALL ... the management account can
//     also apply any policy type to any member account in the
//     organization", so SCPs exist only with all features.
func TestNotApplicableCases(t *testing.T) {
	perAccount := []string{CtlNoAccessKeys, CtlRootMFA, CtlHardwareMFA, CtlCredentialsGone, CtlNotUsedRecently}
	all := append(slices.Clone(perAccount), CtlSCPRootSessions)
	tests := []struct {
		name string
		acct Account
		ids  []string
		want Outcome
	}{
		{"suspended", Account{State: "SUSPENDED"}, all, NotApplicable},
		{"closing", Account{State: "PENDING_CLOSURE"}, all, NotApplicable},
		{"could not be read", Account{State: "ACTIVE", Error: "assume root: AccessDenied"}, perAccount, Unknown},
		{"consolidated billing only: no SCPs", Account{State: "ACTIVE", Root: &Root{Password: true}}, []string{CtlSCPRootSessions}, NotApplicable},
	}
	for _, tt := range tests {
		got := outcomes(Evaluate(&tt.acct, now))
		for _, id := range tt.ids {
			if got[id] != tt.want {
				t.Errorf("%s: %s = %s, want %s", tt.name, id, got[id], tt.want)
			}
		}
	}
}
