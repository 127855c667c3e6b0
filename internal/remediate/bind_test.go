package remediate

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/awssim"
)

// changingCalls counts the calls that change state or open a session to
// change it: none may happen when a plan is refused.
func changingCalls(srv *awssim.Server) map[string]int64 {
	out := map[string]int64{}
	for op, n := range srv.Counts() {
		svc, name, _ := strings.Cut(op, ":")
		if op == "sts:AssumeRoot" || (svc == "iam" && (strings.HasPrefix(name, "Delete") || strings.HasPrefix(name, "Create") || strings.HasPrefix(name, "Deactivate"))) {
			out[op] = n
		}
	}
	return out
}

// TestPlanBoundToReview: a plan is applied only to what was reviewed. Each
// case edits a reviewed plan of the invited account (password only) and
// must be refused before any call that changes state.
func TestPlanBoundToReview(t *testing.T) {
	// The security account holds the same credentials as invited: a
	// snapshot comparison alone cannot tell them apart.
	scenario := func(t *testing.T) *awssim.Scenario {
		sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range sc.Accounts {
			if sc.Accounts[i].ID == exSecurity {
				sc.Accounts[i].Root = awssim.Root{Password: awssim.Password{Present: true}}
			}
		}
		return sc
	}
	reseal := func(t *testing.T, p *Plan) []byte {
		t.Helper()
		doc, err := p.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	tests := []struct {
		name string
		edit func(t *testing.T, p *Plan, doc []byte) []byte
		opts func(*Options)
		want error
		msg  string
	}{
		{"account id edited by hand", func(_ *testing.T, _ *Plan, doc []byte) []byte {
			return bytes.Replace(doc, []byte(`"account": "`+exInvited+`"`), []byte(`"account": "`+exSecurity+`"`), 1)
		}, nil, ErrInvalidPlan, "digest does not match"},
		{"account id edited and digest recomputed", func(t *testing.T, p *Plan, _ []byte) []byte {
			p.Accounts[0].Account = exSecurity
			return reseal(t, p)
		}, nil, ErrNotAsReviewed, `account 222222222222: planned as "invited" <aws-invited@example.com>, but it is "security" <aws-security@example.com>`},
		{"email edited", func(t *testing.T, p *Plan, _ []byte) []byte {
			p.Accounts[0].Email = "someone@example.com"
			return reseal(t, p)
		}, nil, ErrNotAsReviewed, "planned as"},
		{"digest removed", func(t *testing.T, p *Plan, _ []byte) []byte {
			doc := reseal(t, p)
			return bytes.Replace(doc, []byte(p.Digest), nil, 1)
		}, nil, ErrInvalidPlan, "no digest"},
		{"another caller", func(t *testing.T, p *Plan, _ []byte) []byte {
			p.CreatedBy = "arn:aws:iam::111111111111:user/someone-else"
			return reseal(t, p)
		}, nil, ErrNotAsReviewed, "made by arn:aws:iam::111111111111:user/someone-else"},
		{"expired", func(_ *testing.T, _ *Plan, doc []byte) []byte { return doc },
			func(o *Options) { o.Now = func() time.Time { return testNow.Add(DefaultMaxAge + time.Minute) } }, ErrNotAsReviewed, "expired at"},
		{"another organization", func(t *testing.T, p *Plan, _ []byte) []byte {
			p.Organization = "o-otherorg000"
			return reseal(t, p)
		}, nil, ErrWrongOrganization, "o-otherorg000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, scenario(t), awssim.Options{})
			p, doc := e.plan(t, Selection{Accounts: []string{exInvited}})
			if p.Accounts[0].Email != "aws-invited@example.com" || p.Digest == "" || !p.ExpiresAt.Equal(testNow.Add(DefaultMaxAge)) {
				t.Fatalf("plan not bound: email %q digest %q expires %s", p.Accounts[0].Email, p.Digest, p.ExpiresAt)
			}
			before := changingCalls(e.srv)
			opts := testOpts()
			if tt.opts != nil {
				tt.opts(&opts)
			}
			_, err := Apply(t.Context(), e.cfg, tt.edit(t, p, doc), e.j, opts)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want %v naming %q", err, tt.want, tt.msg)
			}
			if after := changingCalls(e.srv); len(after) != len(before) || after["sts:AssumeRoot"] != before["sts:AssumeRoot"] {
				t.Errorf("calls that change state were made: before %v, after %v", before, after)
			}
			if runs, _ := e.j.Runs(t.Context(), 0); len(runs) != 0 {
				t.Errorf("a run was started: %+v", runs)
			}
		})
	}
}
