package cli

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/rootguard/rootguard/internal/remediate"
)

// lockOrgRun takes the journal's run lock of op on the organization
// (orgID, or the one cfg's credentials belong to when empty) before a
// command's first change: one run of an operation per organization at a
// time. Another live run is refused at once (exit 1, naming its run, pid,
// host and since) and nothing is sent. The caller calls release when done
// and uses the returned context, cancelled if the lock is lost.
func lockOrgRun(ctx context.Context, cfg aws.Config, db, orgID string, op remediate.Kind, logger *slog.Logger) (release func(), _ context.Context, _ error) {
	if orgID == "" {
		d, err := organizations.NewFromConfig(cfg).DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
		if err != nil {
			return nil, nil, &exitError{code: ExitError, err: fmt.Errorf("read the organization's id for the run lock: %w", err)}
		}
		orgID = aws.ToString(d.Organization.Id)
	}
	st, err := openStore(ctx, db)
	if err != nil {
		return nil, nil, &exitError{code: ExitError, err: err}
	}
	unlock, lctx, err := remediate.LockOrg(ctx, st, orgID, op, logger)
	if err != nil {
		st.Close()
		return nil, nil, &exitError{code: ExitError, err: err}
	}
	return func() { unlock(); st.Close() }, lctx, nil
}

// checkNotRunningEarly refuses (exit 1, naming the run) when a live run of
// op holds the lock on the organization cfg's credentials belong to. Where
// the organization cannot be read, it says nothing: the plan that follows
// reads it again and fails with the reason, and apply takes the lock.
func checkNotRunningEarly(ctx context.Context, cfg aws.Config, db string, op remediate.Kind) error {
	d, err := organizations.NewFromConfig(cfg).DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil || d.Organization == nil {
		return nil
	}
	st, err := openStore(ctx, db)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	defer st.Close()
	if err := remediate.CheckNotRunning(ctx, st, aws.ToString(d.Organization.Id), op); err != nil {
		return &exitError{code: ExitError, err: err}
	}
	return nil
}
