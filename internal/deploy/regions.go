package deploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/account"
	accttypes "github.com/aws/aws-sdk-go-v2/service/account/types"
)

// RegionsAPI is the part of the Account Management client EnabledRegions
// calls.
type RegionsAPI interface {
	ListRegions(context.Context, *account.ListRegionsInput, ...func(*account.Options)) (*account.ListRegionsOutput, error)
}

// EnabledRegions lists the Regions enabled in the account whose
// credentials api carries (account:ListRegions, standalone context):
// those enabled by default and the opt-in Regions enabled. A Region still
// being enabled (ENABLING) is left out: no stack can be made there yet.
// Every enabled Region has a Regional STS endpoint, so sts:AssumeRoot can
// be called, and is logged, in each of them.
func EnabledRegions(ctx context.Context, api RegionsAPI) ([]string, error) {
	var out []string
	p := account.NewListRegionsPaginator(api, &account.ListRegionsInput{MaxResults: aws.Int32(50),
		RegionOptStatusContains: []accttypes.RegionOptStatus{accttypes.RegionOptStatusEnabled, accttypes.RegionOptStatusEnabledByDefault}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("deploy: list enabled regions (account:ListRegions): %w", err)
		}
		for _, r := range page.Regions {
			out = append(out, aws.ToString(r.RegionName))
		}
	}
	return out, nil
}
