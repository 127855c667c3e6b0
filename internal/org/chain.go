package org

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/rootguard/rootguard/internal/scp"
)

// SCPChains reads the service control policies in effect above accounts,
// as IAM evaluates them: for the root, each OU on the path and the
// account itself, the SCPs attached there (ListPoliciesForTarget) and
// their documents (DescribePolicy). Each target and each policy is read
// once, by whichever account needs it first, so an organization costs one
// call per account and OU plus one per policy, spread over the accounts'
// workers. It is safe for concurrent use.
type SCPChains struct {
	c        *organizations.Client
	o        *Organization
	mu       sync.Mutex
	targets  map[string]*once[[]string]
	policies map[string]*once[scp.Policy]
}

type once[T any] struct {
	sync.Once
	v   T
	err error
}

// SCPChains returns a reader of the SCP chains of the organization's
// accounts.
func (o *Organization) SCPChains(c *organizations.Client) *SCPChains {
	return &SCPChains{c: c, o: o, targets: map[string]*once[[]string]{}, policies: map[string]*once[scp.Policy]{}}
}

// Chain returns the levels from the organization root down to the
// account, each with its SCPs, ready for scp.Evaluate.
func (s *SCPChains) Chain(ctx context.Context, account string) ([]scp.Level, error) {
	ids := s.o.Chain(account)
	slices.Reverse(ids)
	levels := make([]scp.Level, 0, len(ids))
	for _, id := range ids {
		pids, err := s.attached(ctx, id)
		if err != nil {
			return nil, err
		}
		lv := scp.Level{Target: id, Name: s.name(id)}
		for _, pid := range pids {
			p, err := s.policy(ctx, pid)
			if err != nil {
				return nil, err
			}
			lv.Policies = append(lv.Policies, p)
		}
		levels = append(levels, lv)
	}
	return levels, nil
}

func (s *SCPChains) name(id string) string {
	if a := s.o.Account(id); a != nil {
		return a.Name
	}
	if ou := s.o.OUs[id]; ou != nil {
		return ou.Name
	}
	return id
}

func (s *SCPChains) attached(ctx context.Context, target string) ([]string, error) {
	s.mu.Lock()
	e := s.targets[target]
	if e == nil {
		e = &once[[]string]{}
		s.targets[target] = e
	}
	s.mu.Unlock()
	e.Do(func() {
		p := organizations.NewListPoliciesForTargetPaginator(s.c, &organizations.ListPoliciesForTargetInput{
			TargetId: aws.String(target), Filter: orgtypes.PolicyTypeServiceControlPolicy})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				e.err = fmt.Errorf("org: list SCPs attached to %s: %w", target, err)
				return
			}
			for _, ps := range page.Policies {
				e.v = append(e.v, aws.ToString(ps.Id))
			}
		}
	})
	return e.v, e.err
}

func (s *SCPChains) policy(ctx context.Context, id string) (scp.Policy, error) {
	s.mu.Lock()
	e := s.policies[id]
	if e == nil {
		e = &once[scp.Policy]{}
		s.policies[id] = e
	}
	s.mu.Unlock()
	e.Do(func() {
		d, err := s.c.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String(id)})
		if err != nil {
			e.err = fmt.Errorf("org: describe SCP %s: %w", id, err)
			return
		}
		if d.Policy == nil {
			e.err = fmt.Errorf("org: describe SCP %s: no policy in the answer", id)
			return
		}
		e.v = scp.Policy{ID: id}
		if d.Policy.PolicySummary != nil {
			e.v.Name = aws.ToString(d.Policy.PolicySummary.Name)
		}
		doc, err := scp.Parse(aws.ToString(d.Policy.Content))
		if err != nil {
			e.err = fmt.Errorf("org: SCP %s (%s): %w", id, e.v.Name, err)
			return
		}
		e.v.Doc = doc
	})
	return e.v, e.err
}
