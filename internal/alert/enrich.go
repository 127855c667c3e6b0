package alert

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"

	"github.com/rootguard/rootguard/internal/notify"
)

// Organizations is the part of the Organizations API enrichment uses;
// *organizations.Client implements it.
type Organizations interface {
	DescribeAccount(context.Context, *organizations.DescribeAccountInput, ...func(*organizations.Options)) (*organizations.DescribeAccountOutput, error)
	ListParents(context.Context, *organizations.ListParentsInput, ...func(*organizations.Options)) (*organizations.ListParentsOutput, error)
	DescribeOrganizationalUnit(context.Context, *organizations.DescribeOrganizationalUnitInput, ...func(*organizations.Options)) (*organizations.DescribeOrganizationalUnitOutput, error)
}

// enrichTimeout bounds one account's lookup: an alert waits no longer for
// Organizations than this, then goes out without the names.
const enrichTimeout = 3 * time.Second

// maxOUDepth bounds the walk up the OU tree (AWS allows five levels).
const maxOUDepth = 10

// Enricher looks accounts up in AWS Organizations — name, email and OU
// path — and keeps the answers for a TTL, so a warm function asks once per
// account and TTL. Failures are not kept: the next alert asks again.
// It is safe for concurrent use.
type Enricher struct {
	org Organizations
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	accounts map[string]cached[notify.Enrichment]
	ous      map[string]cached[string] // OU id -> name
}

type cached[T any] struct {
	v       T
	expires time.Time
}

// NewEnricher returns an Enricher; ttl 0 keeps nothing.
func NewEnricher(org Organizations, ttl time.Duration, now func() time.Time) *Enricher {
	if now == nil {
		now = time.Now
	}
	return &Enricher{org: org, ttl: ttl, now: now,
		accounts: map[string]cached[notify.Enrichment]{}, ous: map[string]cached[string]{}}
}

// Lookup returns what Organizations says of an account. When it cannot be
// read it returns the error too, and an enrichment whose EnrichmentError
// names the cause in a few words (the AWS error code, or a timeout): the
// caller logs the error and alerts anyway.
func (e *Enricher) Lookup(ctx context.Context, account string) (notify.Enrichment, error) {
	if account == "" {
		err := errors.New("organizations: the event names no account")
		return notify.Enrichment{EnrichmentError: "the event names no account"}, err
	}
	now := e.now()
	e.mu.Lock()
	c, ok := e.accounts[account]
	e.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.v, nil
	}
	ctx, cancel := context.WithTimeout(ctx, enrichTimeout)
	defer cancel()
	en, err := e.lookup(ctx, account, now)
	if err != nil {
		return notify.Enrichment{EnrichmentError: cause(err)}, err
	}
	if e.ttl > 0 {
		e.mu.Lock()
		e.accounts[account] = cached[notify.Enrichment]{v: en, expires: now.Add(e.ttl)}
		e.mu.Unlock()
	}
	return en, nil
}

// cause names an error in a few words for a reader of the alert: the AWS
// error code and the operation, or a timeout.
func cause(err error) string {
	var apiErr smithy.APIError
	var opErr *smithy.OperationError
	op := ""
	if errors.As(err, &opErr) {
		op = opErr.Operation() + ": "
	}
	switch {
	case errors.As(err, &apiErr):
		return op + apiErr.ErrorCode()
	case errors.Is(err, context.DeadlineExceeded):
		return op + "no answer within " + enrichTimeout.String()
	case errors.Is(err, context.Canceled):
		return op + "cancelled"
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return op + "network error"
	}
	return op + "request failed"
}

func (e *Enricher) lookup(ctx context.Context, account string, now time.Time) (notify.Enrichment, error) {
	out, err := e.org.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(account)})
	if err != nil {
		return notify.Enrichment{}, fmt.Errorf("organizations: account %s: describe account: %w", account, err)
	}
	en := notify.Enrichment{AccountName: aws.ToString(out.Account.Name), AccountEmail: aws.ToString(out.Account.Email)}
	var names []string
	child := account
	for range maxOUDepth {
		ps, err := e.org.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(child)})
		if err != nil {
			return notify.Enrichment{}, fmt.Errorf("organizations: account %s: list parents of %s: %w", account, child, err)
		}
		if len(ps.Parents) == 0 || ps.Parents[0].Type == orgtypes.ParentTypeRoot {
			break
		}
		id := aws.ToString(ps.Parents[0].Id)
		name, err := e.ouName(ctx, id, now)
		if err != nil {
			return notify.Enrichment{}, fmt.Errorf("organizations: account %s: %w", account, err)
		}
		names = append(names, name)
		child = id
	}
	path := []string{"Root"}
	for i := len(names) - 1; i >= 0; i-- {
		path = append(path, names[i])
	}
	en.OUPath = strings.Join(path, "/")
	return en, nil
}

// ouName returns an OU's name, cached like accounts.
func (e *Enricher) ouName(ctx context.Context, id string, now time.Time) (string, error) {
	e.mu.Lock()
	c, ok := e.ous[id]
	e.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.v, nil
	}
	out, err := e.org.DescribeOrganizationalUnit(ctx, &organizations.DescribeOrganizationalUnitInput{OrganizationalUnitId: aws.String(id)})
	if err != nil {
		return "", fmt.Errorf("describe OU %s: %w", id, err)
	}
	name := aws.ToString(out.OrganizationalUnit.Name)
	if e.ttl > 0 {
		e.mu.Lock()
		e.ous[id] = cached[string]{v: name, expires: now.Add(e.ttl)}
		e.mu.Unlock()
	}
	return name, nil
}
