package audit

import (
	"context"
	"fmt"
	"strings"

	"github.com/rootguard/rootguard/internal/org"
	"github.com/rootguard/rootguard/internal/rootsession"
	"github.com/rootguard/rootguard/internal/scp"
)

// checkSessions evaluates the account's SCP chain (root, each OU, the
// account) against every call of every root-session task, with the
// request context a root session carries, and records the tasks refused.
// region is where sessions are opened (the Region of S3 and SQS calls).
func checkSessions(ctx context.Context, chains *org.SCPChains, orgID, region string, a *Account) {
	chain, err := chains.Chain(ctx, a.ID)
	if err != nil {
		a.SCPError = err.Error()
		return
	}
	a.SCPsChecked = true
	a.SessionBlocks = SessionBlocks(chain, orgID, region, a.ID)
}

// SessionBlocks returns, for each root-session task that the chain of
// SCPs refuses on the account, the first call it refuses and why.
func SessionBlocks(chain []scp.Level, orgID, region, account string) []SessionBlock {
	var out []SessionBlock
	for _, t := range rootsession.Tasks() {
		for _, c := range t.Calls() {
			v := scp.Evaluate(chain, rootsession.Request(account, orgID, region, c))
			if !v.Blocked() {
				continue
			}
			b := SessionBlock{Task: string(t), Action: c.Action, Decision: string(v.Decision), Reason: v.String()}
			switch {
			case v.Deny != nil:
				b.Policy, b.PolicyName, b.Statement, b.Resources = v.Deny.PolicyID, v.Deny.Policy, v.Deny.Statement, v.Deny.Resources
				b.Target = targetLabel(v.Deny.TargetName, v.Deny.Target)
			case v.NoAllow != nil:
				b.Target = targetLabel(v.NoAllow.Name, v.NoAllow.Target)
			}
			if c.Service != "iam" {
				b.Reason += " (in " + region + ")"
			}
			out = append(out, b)
			break
		}
	}
	return out
}

func targetLabel(name, id string) string {
	if name == id || name == "" {
		return id
	}
	return name + " (" + id + ")"
}

// blocked returns the block of a task, if any.
func blocked(a *Account, t rootsession.Task) (SessionBlock, bool) {
	for _, b := range a.SessionBlocks {
		if b.Task == string(t) && b.Decision != string(scp.Undetermined) {
			return b, true
		}
	}
	return SessionBlock{}, false
}

func (b SessionBlock) String() string {
	return fmt.Sprintf("%s (%s: %s)", b.Task, b.Action, b.Reason)
}

func blockList(bs []SessionBlock) string {
	var parts []string
	for _, b := range bs {
		parts = append(parts, b.String())
	}
	return strings.Join(parts, "; ")
}
