package remediate

import (
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/awssim"
)

// TestDeleteNow deletes every credential of 444444444444 (password,
// certificates, MFA devices) with Apply's steps and verifies it; run
// again, it finds nothing and changes nothing; an account whose root
// access key was used within 90 days is refused with nothing deleted.
func TestDeleteNow(t *testing.T) {
	e := newEnv(t, nil, awssim.Options{})
	d, err := DeleteNow(t.Context(), e.cfg, "444444444444", testOpts())
	if err != nil || !d.Verified() || d.Before == nil || !d.Before.Password || len(d.Before.SigningCertificates) != 2 || len(d.Before.MFADevices) != 2 {
		t.Fatalf("first: %+v %v", d, err)
	}
	var steps []string
	for _, s := range d.Steps {
		steps = append(steps, s.Step+"="+s.Result)
		if s.Result == resultFailed {
			t.Errorf("step failed: %+v", s)
		}
	}
	if got := strings.Join(steps, " "); !strings.HasPrefix(got, "DeleteLoginProfile=ok DeleteSigningCertificate EXAMPLECERT000000000000000001=ok") ||
		!strings.Contains(got, "DeactivateMFADevice arn:aws:iam::444444444444:mfa/root-account-mfa-device=ok") {
		t.Errorf("steps: %s", got)
	}
	again, err := DeleteNow(t.Context(), e.cfg, "444444444444", testOpts())
	if err != nil || !again.Verified() || len(again.Steps) != 0 || again.Before.Password {
		t.Errorf("again: %+v %v", again, err)
	}

	recent := testOpts()
	recent.Now = func() time.Time { return time.Date(2025, 9, 15, 0, 0, 0, 0, time.UTC) }
	r, err := DeleteNow(t.Context(), e.cfg, "333333333333", recent)
	if err != nil || r.Verified() || !strings.HasPrefix(r.Refused, CheckAccessKeyInUse+": root access key in use: AKIAEXAMPLEROOT00001") || len(r.Steps) != 0 {
		t.Errorf("refused: %+v %v", r, err)
	}
	if after, _ := DeleteNow(t.Context(), e.cfg, "333333333333", recent); after == nil || !after.Before.Password {
		t.Error("the refused account lost its password")
	}
}
