package remediate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/rootguard/rootguard/internal/store"
)

// Status is how applying a plan ended in one account.
type Status string

// The statuses.
const (
	StatusDone        Status = "done"        // changed, and verified
	StatusNoChange    Status = "no-change"   // verified; there was nothing left to change
	StatusSkipped     Status = "skipped"     // the plan changes nothing here
	StatusRefused     Status = "refused"     // a check refused the account when planned
	StatusFailed      Status = "failed"      // see Error; resumable
	StatusInterrupted Status = "interrupted" // the run stopped first; resumable
)

// Result is one account's outcome of applying a plan.
type Result struct {
	Account string `json:"account"`
	Name    string `json:"name"`
	OUPath  string `json:"ouPath"`
	Status  Status `json:"status"`
	// Changes are the steps this run did in the account (over all its
	// resumes): "DeleteLoginProfile", "DeleteAccessKey AKIA...".
	Changes []string `json:"changes"`
	Detail  string   `json:"detail,omitempty"`
	Error   string   `json:"error,omitempty"`
	RunID   string   `json:"runId"`
}

// Outcome is the result of one Apply or Resume.
type Outcome struct {
	RunID   string   `json:"runId"`
	Kind    Kind     `json:"kind"`
	Resumed bool     `json:"resumed"`
	Caller  string   `json:"caller"`
	Status  string   `json:"status"` // store.RunDone, RunIncomplete, RunInterrupted
	Results []Result `json:"results"`
}

// Tally counts the results by status.
func (o *Outcome) Tally() map[Status]int {
	t := map[Status]int{}
	for _, r := range o.Results {
		t[r.Status]++
	}
	return t
}

// Step results in the journal.
const (
	resultOK       = "ok"
	resultAlready  = "already"  // nothing to do: absent (deletions) or present (creation)
	resultFailed   = "failed"   // see the error
	resultSurvived = "survived" // acknowledged, but verification still saw it
	// resultKept: a deactivated virtual MFA device that the root session
	// could not delete (AccessDenied on DeleteVirtualMFADevice): it
	// protects nothing (unassigned), and is reported, not failed.
	resultKept = "kept"
)

// keptDetail is how an undeletable virtual MFA device is reported.
const keptDetail = "device deactivated, could not be deleted by a root session"

// Journal step keys besides the plan's steps.
const (
	keyAssumeRoot = "assume-root"
	keySnapshot   = "snapshot"
	keyVerify     = "verify"
)

// ErrRunFinished is returned, wrapped, when resuming a run that is done.
var ErrRunFinished = errors.New("the run is done: nothing to resume")

// Apply executes a plan document and records it in the journal. When the
// journal holds an unfinished run of the same document (same digest), that
// run is resumed instead of starting a new one. cfg is the management
// (or IAM delegated administrator) account's configuration. Failures of
// single accounts are in the results; Apply fails only when the plan is
// invalid, or the caller or journal cannot be read.
func Apply(ctx context.Context, cfg aws.Config, doc []byte, j *store.Store, opts Options) (*Outcome, error) {
	p, err := DecodePlan(doc)
	if err != nil {
		return nil, err
	}
	digest := Digest(doc)
	unfinished, err := j.UnfinishedRuns(ctx, digest)
	if err != nil {
		return nil, fmt.Errorf("remediate: %w", err)
	}
	if len(unfinished) > 0 {
		return Resume(ctx, cfg, unfinished[0].ID, j, opts)
	}
	opts = opts.withDefaults()
	now := opts.Now().UTC()
	id, err := newRunID(now.Format("20060102T150405Z"))
	if err != nil {
		return nil, err
	}
	lock, ctx, err := lockRun(ctx, j, p.Organization, p.Kind, id, opts)
	if err != nil {
		return nil, err
	}
	defer lock.release(ctx)
	c, err := newClient(cfg, opts)
	if err != nil {
		return nil, err
	}
	caller, _, err := c.callerARN(ctx)
	if err != nil {
		return nil, fmt.Errorf("remediate: %w", err)
	}
	if err := c.checkOrg(ctx, p); err != nil {
		return nil, err
	}
	if err := c.checkBound(ctx, p, caller, true); err != nil {
		return nil, err
	}
	if err := j.CreateRun(ctx, store.JournalRun{
		ID: id, Kind: string(p.Kind), OrgID: p.Organization, CallerARN: caller, PlanDigest: digest,
		Plan: doc, StartedAt: now,
	}); err != nil {
		return nil, fmt.Errorf("remediate: %w", err)
	}
	return c.execute(ctx, j, id, caller, p, false)
}

// Resume continues an unfinished run from its journal: steps recorded as
// done are not repeated, accounts verified are not entered again.
func Resume(ctx context.Context, cfg aws.Config, runID string, j *store.Store, opts Options) (*Outcome, error) {
	run, err := j.Run(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("remediate: %w", err)
	}
	if !run.Resumable() {
		return nil, fmt.Errorf("remediate: run %s: %w", runID, ErrRunFinished)
	}
	p, err := DecodePlan(run.Plan)
	if err != nil {
		return nil, fmt.Errorf("remediate: run %s: %w", runID, err)
	}
	opts = opts.withDefaults()
	lock, ctx, err := lockRun(ctx, j, p.Organization, p.Kind, runID, opts)
	if err != nil {
		return nil, err
	}
	defer lock.release(ctx)
	// Read again under the lock: the run may have finished meanwhile.
	if run, err = j.Run(ctx, runID); err != nil {
		return nil, fmt.Errorf("remediate: %w", err)
	}
	if !run.Resumable() {
		return nil, fmt.Errorf("remediate: run %s: %w", runID, ErrRunFinished)
	}
	c, err := newClient(cfg, opts)
	if err != nil {
		return nil, err
	}
	caller, reqID, err := c.callerARN(ctx)
	if err != nil {
		return nil, fmt.Errorf("remediate: %w", err)
	}
	if err := c.checkOrg(ctx, p); err != nil {
		return nil, err
	}
	if err := c.checkBound(ctx, p, caller, false); err != nil {
		return nil, err
	}
	now := opts.Now().UTC()
	if err := j.ResumeRun(ctx, runID, now); err != nil {
		return nil, fmt.Errorf("remediate: %w", err)
	}
	// Who resumed, and when: the run row keeps who started it.
	if _, err := j.AddStep(ctx, store.JournalStep{RunID: runID, Step: "resume", Action: "sts:GetCallerIdentity",
		Target: caller, Result: resultOK, RequestID: reqID, Attempts: 1, At: now}); err != nil {
		return nil, fmt.Errorf("remediate: %w", err)
	}
	return c.execute(ctx, j, runID, caller, p, true)
}

// ErrWrongOrganization is returned, wrapped, when a plan was made for
// another organization than the one the credentials manage.
var ErrWrongOrganization = errors.New("the plan was made for another organization")

// checkOrg refuses a plan made for another organization, or naming
// another management account, than the credentials' own.
func (c *client) checkOrg(ctx context.Context, p *Plan) error {
	d, err := c.org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return fmt.Errorf("remediate: describe organization: %w", err)
	}
	id, mgmt := aws.ToString(d.Organization.Id), aws.ToString(d.Organization.MasterAccountId)
	if id != p.Organization || mgmt != p.ManagementAccount {
		return fmt.Errorf("remediate: %w: plan: %s (management account %s); credentials: %s (management account %s)",
			ErrWrongOrganization, p.Organization, p.ManagementAccount, id, mgmt)
	}
	return nil
}

// CheckPlan refuses, before anything is shown, asked or changed, a plan
// that applying now would not carry out as it was reviewed: one made for
// another organization or by another caller, one expired (when fresh:
// starting a run, not resuming one), or one naming an account whose live
// name, email or state differs from the plan (every such account is
// named). Apply and Resume check the same again under the run's lock.
func CheckPlan(ctx context.Context, cfg aws.Config, p *Plan, fresh bool, opts Options) error {
	c, err := newClient(cfg, opts.withDefaults())
	if err != nil {
		return err
	}
	caller, _, err := c.callerARN(ctx)
	if err != nil {
		return fmt.Errorf("remediate: %w", err)
	}
	if err := c.checkOrg(ctx, p); err != nil {
		return err
	}
	return c.checkBound(ctx, p, caller, fresh)
}

// LoadRunPlan returns the plan a journal run executes.
func LoadRunPlan(ctx context.Context, j *store.Store, runID string) (*store.JournalRun, *Plan, error) {
	run, err := j.Run(ctx, runID)
	if err != nil {
		return nil, nil, fmt.Errorf("remediate: %w", err)
	}
	p, err := DecodePlan(run.Plan)
	if err != nil {
		return nil, nil, fmt.Errorf("remediate: run %s: %w", runID, err)
	}
	return run, p, nil
}

func newRunID(prefix string) (string, error) {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("remediate: run id: %w", err)
	}
	return prefix + "-" + hex.EncodeToString(b[:]), nil
}

// executor applies one plan within one run.
type executor struct {
	c     *client
	j     *store.Store
	runID string
	kind  Kind

	mu   sync.Mutex
	rows map[string][]store.JournalStep // account -> its steps, in order
}

func (c *client) execute(ctx context.Context, j *store.Store, runID, caller string, p *Plan, resumed bool) (*Outcome, error) {
	prior, err := j.Steps(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("remediate: %w", err)
	}
	e := &executor{c: c, j: j, runID: runID, kind: p.Kind, rows: map[string][]store.JournalStep{}}
	for _, st := range prior {
		e.rows[st.Account] = append(e.rows[st.Account], st)
	}
	out := &Outcome{RunID: runID, Kind: p.Kind, Resumed: resumed, Caller: caller, Results: make([]Result, len(p.Accounts))}
	var done atomic.Int64
	notStarted := forEach(ctx, len(p.Accounts), c.opts.Workers, func(i int) {
		out.Results[i] = e.account(ctx, &p.Accounts[i])
		if c.opts.Progress != nil {
			c.opts.Progress(int(done.Add(1)), len(p.Accounts))
		}
	})
	for _, i := range notStarted {
		ap := &p.Accounts[i]
		if !ap.Action.Changes() {
			out.Results[i] = e.account(ctx, ap) // decided by the plan: no call
			continue
		}
		out.Results[i] = e.base(ap)
		out.Results[i].Status, out.Results[i].Error = StatusInterrupted, "not started: "+ctx.Err().Error()
	}
	out.Status = store.RunDone
	for _, r := range out.Results {
		if r.Status == StatusFailed {
			out.Status = store.RunIncomplete
		}
	}
	if ctx.Err() != nil {
		out.Status = store.RunInterrupted
	}
	// The run's end is recorded even when ctx was cancelled.
	if err := j.FinishRun(context.WithoutCancel(ctx), runID, out.Status, c.opts.Now().UTC()); err != nil {
		return out, fmt.Errorf("remediate: %w", err)
	}
	return out, nil
}

// base is an account's result before anything is done.
func (e *executor) base(ap *AccountPlan) Result {
	return Result{Account: ap.Account, Name: ap.Name, OUPath: ap.OUPath, RunID: e.runID, Changes: []string{}}
}

// latest returns the last journal row of a step in an account.
func (e *executor) latest(account, key string) (store.JournalStep, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rows := e.rows[account]
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].Step == key {
			return rows[i], true
		}
	}
	return store.JournalStep{}, false
}

// doneBefore reports whether a step's last row says it is done.
func (e *executor) doneBefore(account, key string) bool {
	st, ok := e.latest(account, key)
	return ok && (st.Result == resultOK || st.Result == resultAlready || st.Result == resultKept)
}

// record writes one journal row. The journal is written even when ctx
// was cancelled: the evidence of a step that ran must not be lost.
func (e *executor) record(ctx context.Context, st store.JournalStep) error {
	st.RunID = e.runID
	st.At = e.c.opts.Now().UTC()
	if st.Attempts == 0 {
		st.Attempts = 1
	}
	seq, err := e.j.AddStep(context.WithoutCancel(ctx), st)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	st.Seq = seq
	e.mu.Lock()
	e.rows[st.Account] = append(e.rows[st.Account], st)
	e.mu.Unlock()
	return nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// account applies one account's part of the plan. Every failure becomes
// the result's error.
func (e *executor) account(ctx context.Context, ap *AccountPlan) Result {
	res := e.base(ap)
	switch ap.Action {
	case ActionNone, ActionSkip:
		res.Status, res.Detail = StatusSkipped, ap.Reason
		return res
	case ActionRefuse:
		res.Status, res.Detail = StatusRefused, ap.Reason
		return res
	case ActionError:
		res.Status, res.Error = StatusFailed, "not read when planned (plan again): "+ap.Error
		return res
	}
	log := e.c.opts.Logger.With("account", ap.Account)
	err := e.change(ctx, ap)
	res.Changes = e.changes(ap)
	switch {
	case err == nil:
		res.Status = StatusDone
		if len(res.Changes) == 0 {
			res.Status = StatusNoChange
		}
		res.Detail = e.kept(ap)
		log.Debug("account done", "changes", len(res.Changes))
	case ctx.Err() != nil:
		res.Status, res.Error = StatusInterrupted, fmt.Sprintf("account %s: %v", ap.Account, err)
	default:
		res.Status, res.Error = StatusFailed, fmt.Sprintf("account %s: %v", ap.Account, err)
		log.Debug("account failed", "error", err)
	}
	return res
}

// kept says which virtual MFA devices were deactivated but could not be
// deleted by the root session ("" when none).
func (e *executor) kept(ap *AccountPlan) string {
	var out []string
	for _, s := range ap.Steps {
		if st, ok := e.latest(ap.Account, s.Key); ok && st.Result == resultKept {
			out = append(out, s.Target+": "+keptDetail)
		}
	}
	return strings.Join(out, "; ")
}

// changes lists the plan's steps that this run did in the account.
func (e *executor) changes(ap *AccountPlan) []string {
	out := []string{}
	for _, s := range ap.Steps {
		if st, ok := e.latest(ap.Account, s.Key); ok && st.Result == resultOK {
			out = append(out, s.String())
		}
	}
	return out
}

// change runs the account's steps in one root session: snapshot, the
// plan's steps, verification; each recorded, none that is already done
// repeated.
func (e *executor) change(ctx context.Context, ap *AccountPlan) error {
	acct := ap.Account
	if e.doneBefore(acct, keyVerify) {
		return nil // finished in an earlier attempt of this run
	}
	task := TaskDelete
	if e.kind == KindAllowRecovery {
		task = TaskCreatePassword
	}
	s, reqID, err := e.c.assumeRoot(ctx, acct, task)
	result := resultOK
	if err != nil {
		result = resultFailed
	}
	if jerr := e.record(ctx, store.JournalStep{Account: acct, Step: keyAssumeRoot, Action: "sts:AssumeRoot",
		Target: taskPolicyPrefix + task, Result: result, RequestID: reqID, Error: errString(err)}); jerr != nil {
		return jerr
	}
	if err != nil {
		return err
	}
	iamc := e.c.memberIAM(s)

	// What exists now, unless an earlier attempt of this run recorded it.
	var snap *Credentials
	if !e.doneBefore(acct, keySnapshot) {
		if snap, err = e.snapshot(ctx, iamc, ap); err != nil {
			return err
		}
	}
	for _, st := range ap.Steps {
		if e.doneBefore(acct, st.Key) {
			continue
		}
		var o stepOutcome
		if snap != nil && absentIn(snap, st) {
			o = stepOutcome{result: resultAlready, detail: "not in the snapshot: nothing to do"}
		} else {
			o = runStep(ctx, iamc, task, st, e.c.opts)
		}
		if jerr := e.record(ctx, store.JournalStep{Account: acct, Step: st.Key, Action: "iam:" + string(st.Op),
			Target: st.Target, Result: o.result, RequestID: o.requestID, Error: errString(o.err),
			Detail: o.detail, Attempts: o.attempts}); jerr != nil {
			return jerr
		}
		if o.err != nil {
			return o.err // the rest waits for a resume
		}
	}
	if e.kind == KindAllowRecovery {
		return e.verifyRecovery(ctx, iamc, ap)
	}
	return e.verifyDeleted(ctx, iamc, ap)
}

// absentIn reports whether a step has nothing to act on according to a
// snapshot. A virtual MFA device deactivated earlier is unassigned and
// lists nowhere a root session can see, so its deletion is always tried.
func absentIn(snap *Credentials, st Step) bool {
	switch st.Op {
	case OpDeleteLoginProfile:
		return !snap.Password
	case OpCreateLoginProfile:
		return snap.Password // already present: nothing to create
	case OpDeleteAccessKey:
		return !slices.ContainsFunc(snap.AccessKeys, func(k AccessKey) bool { return k.ID == st.Target })
	case OpDeleteSigningCertificate:
		return !slices.ContainsFunc(snap.SigningCertificates, func(c Certificate) bool { return c.ID == st.Target })
	case OpDeactivateMFADevice:
		return !slices.ContainsFunc(snap.MFADevices, func(d MFADevice) bool { return d.Serial == st.Target })
	}
	return false
}

// snapshot records what the root user holds before anything changes, and
// refuses an account whose root user holds what the plan does not list
// (it changed since planned).
func (e *executor) snapshot(ctx context.Context, c *iam.Client, ap *AccountPlan) (*Credentials, error) {
	var (
		snap   *Credentials
		reqIDs []string
		err    error
		action string
	)
	if e.kind == KindAllowRecovery {
		action = "iam:GetLoginProfile"
		var present bool
		var id string
		present, id, err = loginProfile(ctx, c)
		reqIDs = []string{id}
		snap = &Credentials{Password: present}
	} else {
		action = "iam:GetLoginProfile,ListAccessKeys,ListSigningCertificates,ListMFADevices"
		snap, reqIDs, err = readCredentials(ctx, c, false)
		if err == nil {
			if extra := unplanned(snap, ap.Steps); len(extra) > 0 {
				err = fmt.Errorf("the root user holds %s, which the plan does not list (it changed since it was planned): nothing was deleted in this account; plan again", strings.Join(extra, ", "))
			}
		}
	}
	result := resultOK
	if err != nil {
		result = resultFailed
		err = fmt.Errorf("snapshot: %w", err)
	}
	detail := ""
	if snap != nil {
		detail = jsonString(snap)
	}
	if jerr := e.record(ctx, store.JournalStep{Account: ap.Account, Step: keySnapshot, Action: action, Target: "root",
		Result: result, RequestID: strings.Join(reqIDs, " "), Error: errString(err), Detail: detail}); jerr != nil {
		return nil, jerr
	}
	return snap, err
}

// verifyReads is how many times verification reads before it calls a
// credential a survivor: IAM is eventually consistent, and a deletion
// may take a moment to show.
const verifyReads = 3

// verifyDeleted reads the credentials again in the same
// IAMDeleteRootUserCredentials session, with the calls its policy allows
// (GetLoginProfile, ListAccessKeys, ListSigningCertificates,
// ListMFADevices; not GetAccountSummary, which it denies): anything left
// fails the account, and each surviving credential is recorded against
// its step so that a resume tries it again.
func (e *executor) verifyDeleted(ctx context.Context, c *iam.Client, ap *AccountPlan) error {
	acct := ap.Account
	const action = "iam:GetLoginProfile,ListAccessKeys,ListSigningCertificates,ListMFADevices"
	var (
		left      *Credentials
		byKey     map[string]string
		survivors []string
		reqIDs    []string
	)
	wait := e.c.opts.UnmodifiableBackoff
	for read := 1; ; read++ {
		var ids []string
		var err error
		left, ids, err = readCredentials(ctx, c, false)
		reqIDs = append(reqIDs, ids...)
		if err != nil {
			err = fmt.Errorf("verify: %w", err)
			if jerr := e.record(ctx, store.JournalStep{Account: acct, Step: keyVerify, Action: action,
				Target: "root", Result: resultFailed, RequestID: strings.Join(reqIDs, " "), Error: err.Error()}); jerr != nil {
				return jerr
			}
			return err
		}
		byKey, survivors = leftovers(left)
		if len(survivors) == 0 || read == verifyReads {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		wait *= 2
	}
	detail := jsonString(map[string]any{"left": left})
	if len(survivors) == 0 {
		return e.record(ctx, store.JournalStep{Account: acct, Step: keyVerify, Action: action,
			Target: "root", Result: resultOK, RequestID: strings.Join(reqIDs, " "), Detail: detail})
	}
	planned := map[string]Step{}
	for _, s := range ap.Steps {
		planned[s.Key] = s
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if s, ok := planned[k]; ok {
			if jerr := e.record(ctx, store.JournalStep{Account: acct, Step: k, Action: "iam:" + string(s.Op), Target: s.Target,
				Result: resultSurvived, Error: "still present after " + string(s.Op) + " succeeded"}); jerr != nil {
				return jerr
			}
		}
	}
	err := fmt.Errorf("VERIFICATION FAILED: still present after deletion: %s", strings.Join(survivors, ", "))
	if jerr := e.record(ctx, store.JournalStep{Account: acct, Step: keyVerify, Action: action,
		Target: "root", Result: resultFailed, RequestID: strings.Join(reqIDs, " "), Error: err.Error(), Detail: detail}); jerr != nil {
		return jerr
	}
	return err
}

// leftovers says what verification saw left: by the step that should have
// removed it, and as sentences.
func leftovers(left *Credentials) (map[string]string, []string) {
	byKey := remaining(left)
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var survivors []string
	for _, k := range keys {
		survivors = append(survivors, byKey[k])
	}
	return byKey, survivors
}

// verifyRecovery checks that the root user now has a login profile.
func (e *executor) verifyRecovery(ctx context.Context, c *iam.Client, ap *AccountPlan) error {
	present, id, err := loginProfile(ctx, c)
	if err == nil && !present {
		err = errors.New("VERIFICATION FAILED: the root user still has no login profile")
	}
	result := resultOK
	if err != nil {
		result = resultFailed
		err = fmt.Errorf("verify: %w", err)
	}
	if jerr := e.record(ctx, store.JournalStep{Account: ap.Account, Step: keyVerify, Action: "iam:GetLoginProfile",
		Target: "root", Result: result, RequestID: id, Error: errString(err)}); jerr != nil {
		return jerr
	}
	return err
}

// loginProfile reports whether the root user has a login profile.
func loginProfile(ctx context.Context, c *iam.Client) (bool, string, error) {
	out, err := c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{})
	if err == nil {
		return true, requestID(out.ResultMetadata), nil
	}
	var nse *iamtypes.NoSuchEntityException
	if errors.As(err, &nse) {
		return false, errRequestID(err), nil
	}
	return false, errRequestID(err), fmt.Errorf("get login profile: %w", err)
}
