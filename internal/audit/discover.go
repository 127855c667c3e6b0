package audit

import (
	"context"
	"strings"

	"github.com/rootguard/rootguard/internal/org"
)

// discover reads the organization once (internal/org): its setup, the OU
// tree, every account and the root-deny SCPs.
func discover(ctx context.Context, c org.Clients) (*org.Organization, OrgInfo, []*Account, error) {
	o, err := org.Read(ctx, c, org.All)
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
		accounts = append(accounts, &Account{ID: a.ID, Name: a.Name, Email: a.Email, OUPath: a.OUPath,
			State: a.State, Management: a.ID == o.ManagementAccountID})
	}
	return o, info, accounts, nil
}
