package alert

import (
	"context"
	"errors"
	"time"

	"github.com/rootguard/rootguard/internal/approval"
	"github.com/rootguard/rootguard/internal/detect"
	"github.com/rootguard/rootguard/internal/notify"
)

// verdict is what the handler knows of the approval behind an event.
type verdict struct {
	// approval is the approval on record: the one covering the event, the
	// one its session was opened under, or the one it missed; nil when
	// there is none.
	approval *Approval
	// standing: the deployment's standing approval of rootguard's own
	// scheduled audit covers it.
	standing bool
	// problem says why the approval on record does not approve the event;
	// "" when it does.
	problem notify.Problem
	detail  string
}

// approved reports whether the event is approved.
func (v *verdict) approved() bool {
	return v.standing || (v.approval != nil && v.problem == "")
}

// id is the approval's id, or "".
func (v *verdict) id() string {
	switch {
	case v.standing:
		return StandingAuditApproval
	case v.approval != nil:
		return v.approval.ID
	}
	return ""
}

// notify is the approval as notify renders it.
func (v *verdict) notify() notify.Approval {
	switch {
	case v.standing:
		return notify.Approval{Approved: true, ID: StandingAuditApproval, Reason: "rootguard's scheduled audit (standing approval of the deployment)"}
	case v.approval == nil:
		return notify.Approval{}
	}
	na := approvalOf(v.approval)
	if v.problem != "" {
		na.Approved, na.Problem, na.Until, na.Detail = false, v.problem, v.approval.Until, v.detail
	}
	return na
}

// approvalOf is an approval that approves, as notify renders it.
func approvalOf(a *Approval) notify.Approval {
	return notify.Approval{Approved: true, ID: a.ID, Requester: a.Requester, Approver: a.Approver, Reason: a.Reason}
}

// judge says whether an approval on record approves a root-user event in
// account, for task, at t. An approval approves when it was approved (by
// a configured approver who is not its requester, when the function
// knows the approvers) or, when it knows none, granted; is not revoked at
// t; allows the task; and its window covers t.
func (h *Handler) judge(a *Approval, account string, task approval.Task, t time.Time) *verdict {
	v := &verdict{approval: a}
	bad := func(detail string) *verdict {
		v.problem, v.detail = notify.ProblemInvalid, detail
		return v
	}
	switch {
	case a == nil:
		return v
	case a.Origin == OriginEmergency:
		v.problem = notify.ProblemEmergency
		return v
	case a.DeniedBy != "":
		return bad("denied by " + a.DeniedBy)
	case !a.RevokedAt.IsZero() && !t.Before(a.RevokedAt):
		return bad("revoked by " + a.RevokedBy + " at " + timeString(a.RevokedAt))
	case a.ApprovedBy == "" && a.Origin != OriginGrant:
		return bad("never approved")
	case a.Origin == OriginGrant && len(h.cfg.Approvers) > 0:
		// Once the deployment names its approvers, only identities count.
		return bad("recorded with free-text names, not approved by identity")
	case a.Account != account:
		return bad("it is for account " + a.Account)
	case !a.Allows(task):
		return bad("it is for task " + string(a.Task) + ", not " + string(task))
	}
	if a.Origin == OriginRequest && len(h.cfg.Approvers) > 0 {
		if _, ok := h.cfg.Approvers.Match(a.ApprovedBy); !ok {
			return bad(a.ApprovedBy + " is not a configured approver")
		}
		if approval.SamePerson(a.ApprovedBy, a.Requester) {
			return bad("approved by its own requester")
		}
	}
	if t.Before(a.From) || t.After(a.Until) {
		v.problem = notify.ProblemOutsideWindow
	}
	return v
}

// sessionVerdict finds the approval a root session issued by principal
// for account with a task policy is covered by: the deployment's standing
// approval (the scheduled audit); else the approval its access key was
// recorded against (rootguard root session); else one requested by the
// same principal for the account, the task and the time.
func (h *Handler) sessionVerdict(ctx context.Context, s *detect.Session, account string, at time.Time) (*verdict, error) {
	if h.cfg.standing(s.IssuedBy, s.TaskPolicy) {
		return &verdict{standing: true}, nil
	}
	task := approval.TaskOfPolicy(s.TaskPolicy)
	if s.AccessKeyID != "" {
		a, err := h.table.ApprovalByKey(ctx, s.AccessKeyID)
		if err != nil {
			return nil, err
		}
		if a != nil {
			return h.judge(a, account, task, at), nil
		}
	}
	covering, missed, err := h.table.FindApproval(ctx, Lookup{Account: account, Task: task, Principal: s.IssuedBy, At: at})
	if err != nil {
		return nil, err
	}
	if covering == nil {
		covering = missed
	}
	return h.judge(covering, account, task, at), nil
}

// actionVerdict joins a member account's action with a temporary key to
// the root session that issued the key and judges the session's approval
// at the action's time. When the AssumeRoot call has not been seen (its
// event may arrive later), the approval the key was recorded against
// stands in for it. ok is false when the key belongs to no known session.
func (h *Handler) actionVerdict(ctx context.Context, f *detect.Finding, at time.Time) (v *verdict, ok bool, err error) {
	ss, err := h.table.session(ctx, f.AccessKeyID)
	if err != nil {
		return nil, false, err
	}
	if ss != nil {
		joinSession(f, ss.Session)
		if f.Session == nil {
			return nil, false, nil // issued for another account
		}
		switch {
		case ss.standing:
			return &verdict{standing: true}, true, nil
		case ss.approvalID == "":
			return &verdict{}, true, nil
		}
		a, err := h.table.GetApproval(ctx, ss.approvalID)
		if errors.Is(err, ErrApprovalNotFound) {
			return &verdict{}, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		return h.judge(a, f.Account, approval.TaskOfPolicy(ss.TaskPolicy), at), true, nil
	}
	a, err := h.table.ApprovalByKey(ctx, f.AccessKeyID)
	if err != nil || a == nil {
		return nil, false, err
	}
	joinSession(f, &detect.Session{AccessKeyID: f.AccessKeyID, TargetAccount: a.Account, TaskPolicy: a.Task.TaskPolicy(),
		IssuedBy: a.Requester, Attributed: true})
	if f.Session == nil {
		return nil, false, nil
	}
	return h.judge(a, f.Account, a.Task, at), true, nil
}
