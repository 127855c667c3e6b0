package remediate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/rootguard/rootguard/internal/audit"
)

// readCredentials reads what the root user holds with a root session's
// IAM client (IAMAuditRootUserCredentials or IAMDeleteRootUserCredentials:
// both may list). lastUsed also reads each access key's last use. The
// calls run in parallel; it returns the request ids of the answers.
func readCredentials(ctx context.Context, c *iam.Client, lastUsed bool) (*Credentials, []string, error) {
	cr := &Credentials{AccessKeys: []AccessKey{}, SigningCertificates: []Certificate{}, MFADevices: []MFADevice{}}
	var (
		mu     sync.Mutex
		errs   []error
		reqIDs []string
		wg     sync.WaitGroup
	)
	record := func(id string, err error, what string) {
		mu.Lock()
		defer mu.Unlock()
		if id != "" {
			reqIDs = append(reqIDs, id)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		}
	}
	wg.Go(func() {
		out, err := c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{})
		var nse *iamtypes.NoSuchEntityException
		switch {
		case err == nil:
			mu.Lock()
			cr.Password = true
			mu.Unlock()
			record(requestID(out.ResultMetadata), nil, "")
		case errors.As(err, &nse):
			record(errRequestID(err), nil, "")
		default:
			record(errRequestID(err), err, "get login profile")
		}
	})
	wg.Go(func() {
		p := iam.NewListAccessKeysPaginator(c, &iam.ListAccessKeysInput{})
		var keys []AccessKey
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				record(errRequestID(err), err, "list access keys")
				return
			}
			record(requestID(page.ResultMetadata), nil, "")
			for _, k := range page.AccessKeyMetadata {
				key := AccessKey{ID: aws.ToString(k.AccessKeyId), Status: string(k.Status)}
				if lastUsed {
					lu, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
					if err != nil {
						record(errRequestID(err), err, "get last use of "+key.ID)
						return
					}
					record(requestID(lu.ResultMetadata), nil, "")
					if l := lu.AccessKeyLastUsed; l != nil && l.LastUsedDate != nil {
						key.LastUsed = l.LastUsedDate.UTC()
						key.LastUsedService = aws.ToString(l.ServiceName)
					}
				}
				keys = append(keys, key)
			}
		}
		mu.Lock()
		cr.AccessKeys = append(cr.AccessKeys, keys...)
		mu.Unlock()
	})
	wg.Go(func() {
		p := iam.NewListSigningCertificatesPaginator(c, &iam.ListSigningCertificatesInput{})
		var certs []Certificate
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				record(errRequestID(err), err, "list signing certificates")
				return
			}
			record(requestID(page.ResultMetadata), nil, "")
			for _, sc := range page.Certificates {
				certs = append(certs, Certificate{ID: aws.ToString(sc.CertificateId), Status: string(sc.Status)})
			}
		}
		mu.Lock()
		cr.SigningCertificates = append(cr.SigningCertificates, certs...)
		mu.Unlock()
	})
	wg.Go(func() {
		p := iam.NewListMFADevicesPaginator(c, &iam.ListMFADevicesInput{})
		var devs []MFADevice
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				record(errRequestID(err), err, "list MFA devices")
				return
			}
			record(requestID(page.ResultMetadata), nil, "")
			for _, d := range page.MFADevices {
				serial := aws.ToString(d.SerialNumber)
				devs = append(devs, MFADevice{Serial: serial, Kind: string(audit.MFAKindOf(serial))})
			}
		}
		mu.Lock()
		cr.MFADevices = append(cr.MFADevices, devs...)
		mu.Unlock()
	})
	wg.Wait()
	slices.Sort(reqIDs)
	if len(errs) > 0 {
		// The calls finish in any order: report them in a fixed one.
		slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
		if len(errs) == 1 {
			return nil, reqIDs, errs[0]
		}
		return nil, reqIDs, fmt.Errorf("%w (and %d more calls failed)", errs[0], len(errs)-1)
	}
	return cr, reqIDs, nil
}

// deletionSteps are the calls that remove every credential, in order:
// the login profile, access keys, signing certificates, then each MFA
// device deactivated and the virtual ones deleted.
func deletionSteps(cr *Credentials) []Step {
	var steps []Step
	if cr.Password {
		steps = append(steps, newStep(OpDeleteLoginProfile, "root"))
	}
	for _, k := range cr.AccessKeys {
		steps = append(steps, newStep(OpDeleteAccessKey, k.ID))
	}
	for _, c := range cr.SigningCertificates {
		steps = append(steps, newStep(OpDeleteSigningCertificate, c.ID))
	}
	for _, d := range cr.MFADevices {
		steps = append(steps, newStep(OpDeactivateMFADevice, d.Serial))
	}
	for _, d := range cr.MFADevices {
		if d.Kind == string(audit.MFAVirtual) {
			steps = append(steps, newStep(OpDeleteVirtualMFADevice, d.Serial))
		}
	}
	return steps
}

// unplanned lists what the root user holds that no step removes.
func unplanned(cr *Credentials, steps []Step) []string {
	has := map[string]bool{}
	for _, s := range steps {
		has[s.Key] = true
	}
	var out []string
	if cr.Password && !has[string(OpDeleteLoginProfile)+":root"] {
		out = append(out, "a password (login profile)")
	}
	for _, k := range cr.AccessKeys {
		if !has[string(OpDeleteAccessKey)+":"+k.ID] {
			out = append(out, "access key "+k.ID)
		}
	}
	for _, c := range cr.SigningCertificates {
		if !has[string(OpDeleteSigningCertificate)+":"+c.ID] {
			out = append(out, "signing certificate "+c.ID)
		}
	}
	for _, d := range cr.MFADevices {
		if !has[string(OpDeactivateMFADevice)+":"+d.Serial] {
			out = append(out, "MFA device "+d.Serial)
		}
	}
	return out
}

// remaining maps what is still there after deletion to the steps that
// should have removed it.
func remaining(cr *Credentials) map[string]string {
	out := map[string]string{}
	if cr.Password {
		out[string(OpDeleteLoginProfile)+":root"] = "the password (login profile)"
	}
	for _, k := range cr.AccessKeys {
		out[string(OpDeleteAccessKey)+":"+k.ID] = "access key " + k.ID
	}
	for _, c := range cr.SigningCertificates {
		out[string(OpDeleteSigningCertificate)+":"+c.ID] = "signing certificate " + c.ID
	}
	for _, d := range cr.MFADevices {
		out[string(OpDeactivateMFADevice)+":"+d.Serial] = "MFA device " + d.Serial
	}
	return out
}
