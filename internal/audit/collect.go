package audit

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rootguard/rootguard/internal/rootsession"
)

// AuditTaskPolicy is the root-task policy audit sessions use: it can read
// root credentials and change nothing.
var AuditTaskPolicy = rootsession.Audit.ARN()

// memberIAM returns an IAM client acting with temporary credentials.
func (r *runner) memberIAM(c rootsession.Credentials) *iam.Client {
	return iam.NewFromConfig(r.cfg, func(o *iam.Options) { o.Credentials = c.Provider() })
}

// ReadRoot reads the root user's credentials with the IAM client of a root
// session on the account (task policy IAMAuditRootUserCredentials or
// IAMDeleteRootUserCredentials): login profile, password last used, access
// keys with their last use, signing certificates and MFA devices with their
// kind. The calls run in parallel.
func ReadRoot(ctx context.Context, c *iam.Client) (*Root, error) {
	root := &Root{}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	fail := func(what string, err error) {
		mu.Lock()
		errs = append(errs, fmt.Errorf("%s: %w", what, err))
		mu.Unlock()
	}
	wg.Add(5)
	go func() {
		defer wg.Done()
		_, err := c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{})
		var nse *iamtypes.NoSuchEntityException
		switch {
		case err == nil:
			mu.Lock()
			root.Password = true
			mu.Unlock()
		case errors.As(err, &nse):
		default:
			fail("get login profile", err)
		}
	}()
	go func() {
		defer wg.Done()
		u, err := c.GetUser(ctx, &iam.GetUserInput{})
		if err != nil {
			fail("get user", err)
			return
		}
		if u.User != nil && u.User.PasswordLastUsed != nil {
			mu.Lock()
			root.PasswordLastUsed = u.User.PasswordLastUsed.UTC()
			mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		keys, err := listAccessKeys(ctx, c)
		if err != nil {
			fail("list access keys", err)
			return
		}
		mu.Lock()
		root.AccessKeys = keys
		mu.Unlock()
	}()
	go func() {
		defer wg.Done()
		var certs []Certificate
		p := iam.NewListSigningCertificatesPaginator(c, &iam.ListSigningCertificatesInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				fail("list signing certificates", err)
				return
			}
			for _, sc := range page.Certificates {
				certs = append(certs, Certificate{ID: aws.ToString(sc.CertificateId), Status: string(sc.Status)})
			}
		}
		mu.Lock()
		root.SigningCertificates = certs
		mu.Unlock()
	}()
	go func() {
		defer wg.Done()
		var devs []MFADevice
		p := iam.NewListMFADevicesPaginator(c, &iam.ListMFADevicesInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				fail("list MFA devices", err)
				return
			}
			for _, d := range page.MFADevices {
				dev := MFADevice{Serial: aws.ToString(d.SerialNumber), Kind: MFAKindOf(aws.ToString(d.SerialNumber))}
				if d.EnableDate != nil {
					dev.EnableDate = d.EnableDate.UTC()
				}
				devs = append(devs, dev)
			}
		}
		mu.Lock()
		root.MFADevices = devs
		mu.Unlock()
	}()
	wg.Wait()
	// The calls finish in any order: report them in a fixed one.
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	switch len(errs) {
	case 0:
	case 1:
		return nil, errs[0]
	default:
		// The calls usually fail for one reason (a denial, a throttle that
		// outlasted the retries): name the first and count the rest.
		return nil, fmt.Errorf("%w (and %d more calls failed)", errs[0], len(errs)-1)
	}
	root.LastUsed = root.PasswordLastUsed
	for _, k := range root.AccessKeys {
		if k.LastUsed.After(root.LastUsed) {
			root.LastUsed = k.LastUsed
		}
	}
	return root, nil
}

func listAccessKeys(ctx context.Context, c *iam.Client) ([]AccessKey, error) {
	var keys []AccessKey
	p := iam.NewListAccessKeysPaginator(c, &iam.ListAccessKeysInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, k := range page.AccessKeyMetadata {
			key := AccessKey{ID: aws.ToString(k.AccessKeyId), Status: string(k.Status)}
			if k.CreateDate != nil {
				key.Created = k.CreateDate.UTC()
			}
			lu, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
			if err != nil {
				return nil, fmt.Errorf("get last use of %s: %w", key.ID, err)
			}
			if l := lu.AccessKeyLastUsed; l != nil {
				if l.LastUsedDate != nil {
					key.LastUsed = l.LastUsedDate.UTC()
				}
				key.LastUsedService = notNA(aws.ToString(l.ServiceName))
				key.LastUsedRegion = notNA(aws.ToString(l.Region))
			}
			keys = append(keys, key)
		}
	}
	return keys, nil
}

func notNA(s string) string {
	if s == "N/A" {
		return ""
	}
	return s
}

// Credential report handling, for the management account (which cannot be
// the target of AssumeRoot) and for organizations without root sessions.

// reportWait bounds how long a credential report may take to generate.
const reportWait = 2 * time.Minute

// AccountSummary is what GetAccountSummary says of the root user: its
// SummaryMap keys AccountPasswordPresent, AccountAccessKeysPresent,
// AccountSigningCertificatesPresent and AccountMFAEnabled (each 1 or 0).
// Any principal allowed iam:GetAccountSummary in the account can read it,
// so it answers what the credential report leaves open (the root user's
// password is not_supported there) and is never older than the call.
type AccountSummary struct {
	Password, AccessKeys, SigningCertificates, MFA bool
}

// readAccountSummary calls GetAccountSummary. A summary without one of the
// four keys is an error: rootguard does not guess the missing answer.
func readAccountSummary(ctx context.Context, c *iam.Client) (AccountSummary, error) {
	out, err := c.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
	if err != nil {
		return AccountSummary{}, fmt.Errorf("get account summary: %w", err)
	}
	var s AccountSummary
	for _, f := range []struct {
		key iamtypes.SummaryKeyType
		dst *bool
	}{
		{iamtypes.SummaryKeyTypeAccountPasswordPresent, &s.Password},
		{iamtypes.SummaryKeyTypeAccountAccessKeysPresent, &s.AccessKeys},
		{iamtypes.SummaryKeyTypeAccountSigningCertificatesPresent, &s.SigningCertificates},
		{iamtypes.SummaryKeyTypeAccountMFAEnabled, &s.MFA},
	} {
		v, ok := out.SummaryMap[string(f.key)]
		if !ok {
			return AccountSummary{}, fmt.Errorf("get account summary: no %s in the SummaryMap", f.key)
		}
		*f.dst = v > 0
	}
	return s, nil
}

// readRootWithoutSession reads the root user with an ordinary IAM client
// of the account (the management account's own, or a role's in a
// member): GetAccountSummary says whether root has a password, access
// keys, signing certificates and MFA; the credential report's
// <root_account> row gives last use and the keys' details; and
// ListVirtualMFADevices says whether a virtual device is assigned to
// root. What such a client cannot see is said in the root's notes.
func readRootWithoutSession(ctx context.Context, c *iam.Client, poll time.Duration, via string) (*Root, error) {
	sum, err := readAccountSummary(ctx, c)
	if err != nil {
		return nil, err
	}
	root, err := readRootFromReport(ctx, c, poll)
	if err != nil {
		return nil, err
	}
	applySummary(root, sum)
	root.Notes = append(root.Notes, via+": password, access keys, signing certificates and MFA from GetAccountSummary; "+
		"last use and key details from the credential report (which can be up to four hours old); "+
		"not visible without a root session: how many MFA devices root has, their serial numbers, "+
		"and whether a device that is not virtual is a hardware TOTP token or a FIDO security key / passkey")
	if !sum.MFA {
		return root, nil
	}
	// GetAccountSummary says MFA is on. A virtual MFA device assigned to
	// the root user is listed as such; otherwise the device is a hardware
	// token or a FIDO security key / passkey.
	kind, serial, err := rootVirtualMFA(ctx, c)
	if err != nil {
		root.MFADevices = []MFADevice{{Serial: "(MFA enabled per GetAccountSummary)", Kind: MFAUnknownKind}}
		root.Notes = append(root.Notes, fmt.Sprintf("MFA kind unknown: list virtual MFA devices: %v", err))
		return root, nil
	}
	root.MFADevices = []MFADevice{{Serial: serial, Kind: kind}}
	if kind == MFAVirtual {
		root.Notes = append(root.Notes, "a virtual MFA device is assigned to root; a hardware token or passkey registered beside it cannot be seen without a root session")
	}
	return root, nil
}

// applySummary makes the report's row agree with GetAccountSummary, which
// is current where the report may be hours old, and drops the report's
// notes that the summary answers.
func applySummary(root *Root, sum AccountSummary) {
	root.Notes = slices.DeleteFunc(root.Notes, func(n string) bool {
		return strings.Contains(n, "whether the root user has a password") || strings.Contains(n, "MFA device's kind")
	})
	root.Password = sum.Password
	switch {
	case !sum.AccessKeys && len(root.AccessKeys) > 0:
		root.Notes = append(root.Notes, "the credential report lists root access keys that GetAccountSummary says are gone (the report is older)")
		root.AccessKeys = nil
	case sum.AccessKeys && len(root.AccessKeys) == 0:
		root.AccessKeys = []AccessKey{{ID: "(present per GetAccountSummary)", Status: "Unknown"}}
		root.Notes = append(root.Notes, "GetAccountSummary says root has an access key that the (older) credential report does not list: its id, status and last use are unknown")
	}
	switch {
	case !sum.SigningCertificates:
		root.SigningCertificates = nil
	case len(root.SigningCertificates) == 0:
		// The report lists active certificates only.
		root.SigningCertificates = []Certificate{{ID: "(present per GetAccountSummary)", Status: "Unknown"}}
	}
	if !sum.MFA {
		root.MFADevices = nil
	}
}

// readRootFromReport reads the <root_account> row of the IAM credential
// report, generating the report first.
func readRootFromReport(ctx context.Context, c *iam.Client, poll time.Duration) (*Root, error) {
	deadline := time.Now().Add(reportWait)
	tries := 0
	for {
		g, err := c.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
		if err != nil {
			return nil, fmt.Errorf("generate credential report: %w", err)
		}
		if g.State == iamtypes.ReportStateTypeComplete {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("credential report still %s after %s", g.State, reportWait)
		}
		// Reports are usually ready within a second or two: look again
		// soon, then less often.
		wait := min(poll, 250*time.Millisecond<<min(tries, 4))
		tries++
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
	rep, err := c.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	if err != nil {
		return nil, fmt.Errorf("get credential report: %w", err)
	}
	return ParseCredentialReport(rep.Content)
}

// rootVirtualMFA finds the virtual MFA device assigned to the root user.
func rootVirtualMFA(ctx context.Context, c *iam.Client) (MFAKind, string, error) {
	p := iam.NewListVirtualMFADevicesPaginator(c, &iam.ListVirtualMFADevicesInput{AssignmentStatus: iamtypes.AssignmentStatusTypeAssigned})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", "", err
		}
		for _, d := range page.VirtualMFADevices {
			if d.User != nil && strings.HasSuffix(aws.ToString(d.User.Arn), ":root") {
				return MFAVirtual, aws.ToString(d.SerialNumber), nil
			}
		}
	}
	return MFANotVirtual, "(not a virtual device)", nil
}

// ParseCredentialReport reads the root user's row from an IAM credential
// report (CSV). AWS writes not_supported, N/A and no_information where a
// value does not apply or is unknown.
func ParseCredentialReport(content []byte) (*Root, error) {
	rows, err := csv.NewReader(bytes.NewReader(content)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("credential report: %w", err)
	}
	if len(rows) < 2 {
		return nil, errors.New("credential report: no rows")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, need := range []string{"user", "mfa_active", "access_key_1_active", "password_last_used"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("credential report: no %s column", need)
		}
	}
	for _, row := range rows[1:] {
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(row) {
				return row[i]
			}
			return ""
		}
		if get("user") != "<root_account>" {
			continue
		}
		root := &Root{}
		switch v := get("password_enabled"); v {
		case "true":
			root.Password = true
		case "false":
		default: // not_supported for the root user
			root.Password = true
			root.Notes = append(root.Notes, "the credential report does not say whether the root user has a password ("+v+"); assumed present")
		}
		root.PasswordLastUsed = reportTime(get("password_last_used"))
		if get("mfa_active") == "true" {
			root.MFADevices = []MFADevice{{Serial: "(from credential report)", Kind: MFAUnknownKind}}
			root.Notes = append(root.Notes, "the credential report does not give the MFA device's kind")
		}
		for _, n := range []string{"1", "2"} {
			if get("access_key_"+n+"_active") == "true" || reportTime(get("access_key_"+n+"_last_rotated")) != (time.Time{}) {
				status := "Inactive"
				if get("access_key_"+n+"_active") == "true" {
					status = "Active"
				}
				root.AccessKeys = append(root.AccessKeys, AccessKey{
					ID: "access_key_" + n, Status: status,
					Created:         reportTime(get("access_key_" + n + "_last_rotated")),
					LastUsed:        reportTime(get("access_key_" + n + "_last_used_date")),
					LastUsedService: notNA(get("access_key_" + n + "_last_used_service")),
					LastUsedRegion:  notNA(get("access_key_" + n + "_last_used_region")),
				})
			}
			if get("cert_"+n+"_active") == "true" {
				root.SigningCertificates = append(root.SigningCertificates, Certificate{ID: "cert_" + n, Status: "Active"})
			}
		}
		root.LastUsed = root.PasswordLastUsed
		for _, k := range root.AccessKeys {
			if k.LastUsed.After(root.LastUsed) {
				root.LastUsed = k.LastUsed
			}
		}
		return root, nil
	}
	return nil, errors.New("credential report: no <root_account> row")
}

// reportTime reads a credential report time; N/A, no_information,
// not_supported and empty give the zero time.
func reportTime(s string) time.Time {
	s = strings.TrimSpace(s)
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// assumeRole opens a session on a member account's role, for the
// credential-report fallback.
func (r *runner) assumeRole(ctx context.Context, account string) (rootsession.Credentials, error) {
	out, err := r.sts.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String("arn:aws:iam::" + account + ":role/" + r.opts.RoleName),
		RoleSessionName: aws.String("rootguard-audit"),
	})
	if err != nil {
		return rootsession.Credentials{}, fmt.Errorf("assume role %s: %w", r.opts.RoleName, err)
	}
	return rootsession.NewCredentials(out.Credentials)
}
