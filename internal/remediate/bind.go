package remediate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
)

// DefaultMaxAge is how long a plan may be applied after it was made.
const DefaultMaxAge = 24 * time.Hour

// ErrNotAsReviewed is returned, wrapped, when a plan no longer describes
// what applying it would do: it is too old, another caller applies it, or
// an account's live name, email or state differs from the plan. Nothing
// has been changed when it is returned.
var ErrNotAsReviewed = errors.New("the plan no longer matches what was reviewed")

// contentDigest is the digest over a plan's content with its Digest field
// empty, in the canonical encoding (Encode): the plan's own seal.
func (p *Plan) contentDigest() (string, error) {
	q := *p
	q.Digest = ""
	b, err := q.encode()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// checkDigest refuses a plan whose content is not what its digest seals:
// an account id, a step or a snapshot changed by hand after the plan was
// written.
func (p *Plan) checkDigest() error {
	if p.Digest == "" {
		return fmt.Errorf("remediate: %w: no digest: plan again with this rootguard", ErrInvalidPlan)
	}
	want, err := p.contentDigest()
	if err != nil {
		return err
	}
	if want != p.Digest {
		return fmt.Errorf("remediate: %w: its digest does not match its content (the file was changed after it was written): plan again", ErrInvalidPlan)
	}
	return nil
}

// liveAccount is an account as Organizations lists it now.
type liveAccount struct{ name, email, state string }

// listLive lists every account of the organization with its name, email
// and state (Organizations ListAccounts: 20 per page).
func listLive(ctx context.Context, c *organizations.Client) (map[string]liveAccount, error) {
	out := map[string]liveAccount{}
	pg := organizations.NewListAccountsPaginator(c, &organizations.ListAccountsInput{})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		for _, a := range page.Accounts {
			state := string(a.State)
			if state == "" {
				state = string(a.Status)
			}
			out[aws.ToString(a.Id)] = liveAccount{aws.ToString(a.Name), aws.ToString(a.Email), state}
		}
	}
	return out, nil
}

// checkBound refuses, before anything is changed, a plan that no longer
// describes what applying it would do: made by another caller, expired
// (when starting a run: fresh is false for a resume), or naming an account
// whose live name, email or state differs from the plan.
func (c *client) checkBound(ctx context.Context, p *Plan, caller string, fresh bool) error {
	var errs []string
	if caller != p.CreatedBy {
		errs = append(errs, fmt.Sprintf("it was made by %s, and %s is applying it (plan again with these credentials)", p.CreatedBy, caller))
	}
	if now := c.opts.Now(); fresh && !p.ExpiresAt.IsZero() && now.After(p.ExpiresAt) {
		errs = append(errs, fmt.Sprintf("it expired at %s (made %s): plan again", p.ExpiresAt.Format(time.RFC3339), p.CreatedAt.Format(time.RFC3339)))
	}
	if p.ExpiresAt.IsZero() {
		errs = append(errs, "it has no expiry: plan again with this rootguard")
	}
	live, err := listLive(ctx, c.org)
	if err != nil {
		return fmt.Errorf("remediate: %w", err)
	}
	for _, a := range p.Accounts {
		if !a.Action.Changes() {
			continue
		}
		l, ok := live[a.Account]
		switch {
		case !ok:
			errs = append(errs, fmt.Sprintf("account %s (%s): not in the organization", a.Account, a.Name))
		case l.name != a.Name || l.email != a.Email:
			errs = append(errs, fmt.Sprintf("account %s: planned as %q <%s>, but it is %q <%s>", a.Account, a.Name, a.Email, l.name, l.email))
		case l.state != "ACTIVE":
			errs = append(errs, fmt.Sprintf("account %s (%s): is %s", a.Account, a.Name, l.state))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("remediate: %w: %s; nothing was changed", ErrNotAsReviewed, strings.Join(errs, "; "))
	}
	return nil
}
