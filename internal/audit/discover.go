package audit

import (
	"context"
	"strings"

	"github.com/rootguard/rootguard/internal/org"
)

// discover reads the organization once (internal/org): its setup, the OU
// tree, every account and the root-deny SCPs. Each account is handed to
// found as soon as it is listed; the accounts returned are the same
// values, sorted by id.
func discover(ctx context.Context, c org.Clients, found func(*Account)) (*org.Organization, OrgInfo, []*Account, error) {
	byID := map[string]*Account{}
	o, err := org.ReadEach(ctx, c, org.All, func(oa *org.Account, management bool) {
		a := &Account{ID: oa.ID, Name: oa.Name, Email: oa.Email, OUPath: oa.OUPath, State: oa.State, Management: management}
		byID[a.ID] = a
		if found != nil {
			found(a)
		}
	})
	if err != nil {
		return nil, OrgInfo{}, nil, err
	}
	info := OrgInfo{
		ID: o.ID, ManagementAccountID: o.ManagementAccountID, FeatureSet: o.FeatureSet,
		EnabledFeatures: o.EnabledFeatures, IAMTrustedAccess: o.IAMTrustedAccess, IAMDelegatedAdmins: o.DelegatedAdmins,
		Error: strings.Join(o.Problems, "; "),
	}
	accounts := make([]*Account, 0, len(o.Accounts))
	for _, a := range o.Accounts {
		accounts = append(accounts, byID[a.ID])
	}
	return o, info, accounts, nil
}
