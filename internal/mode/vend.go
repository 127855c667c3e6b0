package mode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/org"
	"github.com/rootguard/rootguard/internal/pace"
	"github.com/rootguard/rootguard/internal/rootsession"
)

// Errors of Prepare that say the request itself is wrong.
var (
	ErrOUNotFound = errors.New("no such OU")
	ErrEmailTaken = errors.New("email address already used by an account of the organization")
)

// CreateFailedError is a CreateAccount request that AWS refused after
// accepting it (DescribeCreateAccountStatus said FAILED).
type CreateFailedError struct {
	RequestID string
	Reason    string // CreateAccountFailureReason: EMAIL_ALREADY_EXISTS, ...
}

func (e *CreateFailedError) Error() string {
	return fmt.Sprintf("create account request %s failed: %s", e.RequestID, e.Reason)
}

// Vendor creates accounts that start secure. It needs the management
// account's credentials (CreateAccount and MoveAccount are the management
// account's alone).
type Vendor struct {
	// Region is where the root session that checks a new account opens
	// (default the configuration's).
	Region string
	cfg    aws.Config
	org    *organizations.Client
	iam    *iam.Client
	now    func() time.Time
	logger *slog.Logger
}

// NewVendor returns a Vendor for the configuration of the management
// account, loaded the SDK's standard way. logger may be nil.
func NewVendor(cfg aws.Config, logger *slog.Logger) *Vendor {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Vendor{cfg: cfg, org: org.NewOrganizations(cfg), iam: org.NewIAM(cfg), now: time.Now, logger: logger}
}

// createAccountRetries retries CreateAccount only when AWS refused it
// for the rate (pace.IsThrottle). After a server error, a timeout or a
// lost connection AWS may have accepted the request, and CreateAccount
// takes no idempotency token: a second request would start a second
// account creation (which then fails on the email, hiding the first).
func createAccountRetries(o *organizations.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = 10
		so.MaxBackoff = 5 * time.Second
		so.RateLimiter = ratelimit.None
		so.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			return aws.BoolTernary(pace.IsThrottle(err))
		})}
	})
}

// AccountRequest is an account to create.
type AccountRequest struct {
	Name  string
	Email string
	// OU is where the account goes: a path (Root/Workloads/Prod, or
	// Workloads/Prod), an ou- id, or the root.
	OU string
}

// CreatePlan is what Create will do, and what is known before it does.
type CreatePlan struct {
	Name   string   `json:"name"`
	Email  string   `json:"email"`
	OUID   string   `json:"ouId"`
	OUPath string   `json:"ouPath"`
	RootID string   `json:"rootId"`
	Steps  []string `json:"steps"`
	// RootDenySCPs are the root-deny SCPs that will apply to the account.
	RootDenySCPs    []audit.RootDenySCP `json:"rootDenyScps"`
	EnabledFeatures []string            `json:"enabledFeatures"`
	// Warnings say what will not be secure, known in advance.
	Warnings []string `json:"warnings"`

	chain []string // the OU's id and its ancestors'
}

// Prepare checks the request against the organization — the OU exists,
// no account has the email, which root-deny SCPs will apply, whether
// centralized root access is on — and says what Create will do. It
// changes nothing.
func (v *Vendor) Prepare(ctx context.Context, req AccountRequest) (*CreatePlan, error) {
	o, err := org.Read(ctx, org.Clients{Org: v.org, IAM: v.iam}, org.All)
	if err != nil {
		return nil, fmt.Errorf("mode: %w", err)
	}
	ou, ok := o.FindOU(req.OU)
	if !ok {
		return nil, fmt.Errorf("mode: OU %q: %w", req.OU, ErrOUNotFound)
	}
	ouID, ouPath := ou.ID, ou.Path
	p := &CreatePlan{Name: req.Name, Email: req.Email, OUID: ouID, OUPath: ouPath, RootID: o.RootID,
		RootDenySCPs: []audit.RootDenySCP{}, EnabledFeatures: []string{}, Warnings: []string{}, chain: o.Chain(ouID)}
	for _, a := range o.Accounts {
		if strings.EqualFold(a.Email, req.Email) {
			return nil, fmt.Errorf("mode: %s is the root email of account %s: %w", req.Email, a.ID, ErrEmailTaken)
		}
	}
	if !o.SCPsRead() {
		return nil, fmt.Errorf("mode: %s", strings.Join(o.Problems, "; "))
	}
	p.RootDenySCPs = append(p.RootDenySCPs, byPath(o, o.RootDenySCPs(p.chain...))...)
	featuresRead := true
	for _, pr := range o.Problems {
		p.Warnings = append(p.Warnings, "centralized root access unknown: "+pr)
		featuresRead = false
	}
	p.EnabledFeatures = append(p.EnabledFeatures, o.EnabledFeatures...)
	p.Warnings = append(p.Warnings, planWarnings(p, featuresRead)...)

	p.Steps = []string{
		fmt.Sprintf("CreateAccount %q <%s> with IamUserAccessToBilling=ALLOW (IAM roles can see billing: activating it later needs the root user)", req.Name, req.Email),
		"wait while DescribeCreateAccountStatus says IN_PROGRESS",
	}
	if ouID == o.RootID {
		p.Steps = append(p.Steps, "leave the account under the root "+o.RootID)
	} else {
		p.Steps = append(p.Steps, fmt.Sprintf("MoveAccount from the root %s to %s (%s)", o.RootID, ouPath, ouID))
	}
	p.Steps = append(p.Steps,
		"open an IAMAuditRootUserCredentials root session on the account and confirm its root user has no password, access key, signing certificate or MFA device",
		"confirm a root-deny SCP applies to the account and exempts root sessions (aws:AssumedRoot)")
	return p, nil
}

// planWarnings are what will not be secure, known before anything changes.
func planWarnings(p *CreatePlan, featuresRead bool) []string {
	var out []string
	if len(p.RootDenySCPs) == 0 {
		out = append(out, fmt.Sprintf("no root-deny SCP applies to %s: if the new account's root password is ever recovered, nothing denies its use; attach one that exempts aws:AssumedRoot", p.OUPath))
	}
	for _, s := range p.RootDenySCPs {
		if !s.ExemptsRootSessions {
			out = append(out, fmt.Sprintf("SCP %s (%s, on %s) denies root sessions too: the check after creation, and every centralized root task in this OU, will fail; exempt aws:AssumedRoot", s.ID, s.Name, s.Target))
		}
	}
	for _, f := range []string{"RootCredentialsManagement", "RootSessions"} {
		if !featuresRead || slices.Contains(p.EnabledFeatures, f) {
			continue
		}
		switch f {
		case "RootCredentialsManagement":
			out = append(out, "RootCredentialsManagement is not enabled: AWS creates the account's root user without a password, but whoever holds its email can recover one, and its root credentials cannot be deleted centrally (rootguard org enable)")
		case "RootSessions":
			out = append(out, "RootSessions is not enabled: the new account cannot be checked with a root session (rootguard org enable)")
		}
	}
	return out
}

// rootDenySCPs reads the SCPs again (the account is new) and lists those
// that deny the root user among those attached to the targets.
func (v *Vendor) rootDenySCPs(ctx context.Context, targets []string) ([]audit.RootDenySCP, error) {
	o, err := org.Read(ctx, org.Clients{Org: v.org, IAM: v.iam}, org.SCPs)
	if err != nil {
		return nil, fmt.Errorf("mode: %w", err)
	}
	if !o.SCPsRead() {
		return nil, fmt.Errorf("mode: %s", strings.Join(o.Problems, "; "))
	}
	return append([]audit.RootDenySCP{}, byPath(o, o.RootDenySCPs(targets...))...), nil
}

// byPath names the OUs SCPs are attached to by their paths, as plans and
// checks show OUs.
func byPath(o *org.Organization, scps []audit.RootDenySCP) []audit.RootDenySCP {
	for i, s := range scps {
		if ou := o.OUs[s.TargetID]; ou != nil {
			scps[i].Target = ou.Path + " (" + ou.ID + ")"
		}
	}
	return scps
}

// CreateOptions tune Create.
type CreateOptions struct {
	// Poll is how often the request's status is read (default 5 s).
	Poll time.Duration
	// Progress, if set, is told each status read: the state and how long
	// the request has run.
	Progress func(state string, elapsed time.Duration)
}

// Check is one thing confirmed about the new account.
type Check struct {
	ID     string `json:"id"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Check ids.
const (
	CheckRootCredentials = "root-credentials" // RG.ROOT.1, read in a root session
	CheckRootDenySCP     = "root-deny-scp"    // a root-deny SCP applies and exempts root sessions
	CheckOU              = "ou"               // the account is in its OU
	CheckRootAccess      = "root-access"      // centralized root access is enabled
)

// CreateResult is what Create did and found.
type CreateResult struct {
	RequestID string              `json:"requestId"`
	Account   string              `json:"account"`
	Name      string              `json:"name"`
	Email     string              `json:"email"`
	OUPath    string              `json:"ouPath"`
	Done      []string            `json:"done"`
	Root      *audit.Root         `json:"root,omitempty"`
	Controls  []audit.Control     `json:"controls,omitempty"`
	SCPs      []audit.RootDenySCP `json:"rootDenyScps"`
	Checks    []Check             `json:"checks"`
	// Secure is true when every check passed.
	Secure bool `json:"secure"`
}

// Create carries out a plan: CreateAccount, wait, MoveAccount, then read
// the new root user in a root session and check it. The result holds
// what was done even when an error stops it (an account created but not
// moved keeps its id in the result).
func (v *Vendor) Create(ctx context.Context, p *CreatePlan, opts CreateOptions) (*CreateResult, error) {
	if opts.Poll <= 0 {
		opts.Poll = 5 * time.Second
	}
	res := &CreateResult{Name: p.Name, Email: p.Email, OUPath: p.OUPath, Done: []string{}, SCPs: []audit.RootDenySCP{}, Checks: []Check{}}
	out, err := v.org.CreateAccount(ctx, &organizations.CreateAccountInput{
		AccountName: aws.String(p.Name), Email: aws.String(p.Email),
		IamUserAccessToBilling: orgtypes.IAMUserAccessToBillingAllow,
	}, createAccountRetries)
	if err != nil {
		if !pace.IsThrottle(err) && ctx.Err() == nil {
			return res, fmt.Errorf("mode: create account: %w; AWS may have accepted the request before this error, so it was not sent again: see aws organizations list-create-account-status before asking again (a second request for %s fails with EMAIL_ALREADY_EXISTS if the first created the account)", err, p.Email)
		}
		return res, fmt.Errorf("mode: create account: %w", err)
	}
	res.RequestID = aws.ToString(out.CreateAccountStatus.Id)
	res.Done = append(res.Done, "CreateAccount: request "+res.RequestID)
	v.logger.Info("account requested", "request", res.RequestID)

	st, err := v.wait(ctx, out.CreateAccountStatus, opts)
	if err != nil {
		return res, err
	}
	res.Account = aws.ToString(st.AccountId)
	res.Done = append(res.Done, "account "+res.Account+" created")
	v.logger.Info("account created", "account", res.Account)

	parent, err := v.parent(ctx, res.Account)
	if err != nil {
		return res, err
	}
	if parent != p.OUID {
		if _, err := v.org.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(res.Account),
			SourceParentId: aws.String(parent), DestinationParentId: aws.String(p.OUID)}); err != nil {
			return res, fmt.Errorf("mode: account %s: move from %s to %s: %w", res.Account, parent, p.OUID, err)
		}
		res.Done = append(res.Done, fmt.Sprintf("MoveAccount %s -> %s", parent, p.OUPath))
	}
	v.check(ctx, p, res, opts.Poll)
	return res, nil
}

// wait reads the request's status until it leaves IN_PROGRESS.
func (v *Vendor) wait(ctx context.Context, st *orgtypes.CreateAccountStatus, opts CreateOptions) (*orgtypes.CreateAccountStatus, error) {
	start := v.now()
	id := aws.ToString(st.Id)
	t := time.NewTicker(opts.Poll)
	defer t.Stop()
	for {
		if opts.Progress != nil {
			opts.Progress(string(st.State), v.now().Sub(start))
		}
		switch st.State {
		case orgtypes.CreateAccountStateSucceeded:
			return st, nil
		case orgtypes.CreateAccountStateFailed:
			return nil, &CreateFailedError{RequestID: id, Reason: string(st.FailureReason)}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("mode: create account request %s still %s (it goes on at AWS: aws organizations describe-create-account-status --create-account-request-id %s): %w", id, st.State, id, ctx.Err())
		case <-t.C:
		}
		out, err := v.org.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("mode: create account request %s: describe status: %w", id, err)
		}
		st = out.CreateAccountStatus
	}
}

func (v *Vendor) parent(ctx context.Context, account string) (string, error) {
	out, err := v.org.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(account)})
	if err != nil {
		return "", fmt.Errorf("mode: account %s: list parents: %w", account, err)
	}
	if len(out.Parents) == 0 {
		return "", fmt.Errorf("mode: account %s: no parent", account)
	}
	return aws.ToString(out.Parents[0].Id), nil
}

// check confirms the new account is secure: in its OU, under a root-deny
// SCP that exempts root sessions, its root user without any credential.
func (v *Vendor) check(ctx context.Context, p *CreatePlan, res *CreateResult, poll time.Duration) {
	add := func(id string, ok bool, format string, args ...any) {
		res.Checks = append(res.Checks, Check{ID: id, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}
	if parent, err := v.parent(ctx, res.Account); err != nil {
		add(CheckOU, false, "%v", err)
	} else {
		if parent == p.OUID {
			add(CheckOU, true, "in %s (%s)", p.OUPath, p.OUID)
		} else {
			add(CheckOU, false, "in %s, not %s (%s)", parent, p.OUPath, p.OUID)
		}
	}

	acct := &audit.Account{ID: res.Account, Name: p.Name, Email: p.Email, OUPath: p.OUPath, State: "ACTIVE", Method: audit.MethodAssumeRoot}
	attempts := 5
	if scps, err := v.rootDenySCPs(ctx, append([]string{res.Account}, p.chain...)); err != nil {
		add(CheckRootDenySCP, false, "%v", err)
	} else {
		res.SCPs, acct.RootDenySCPs = scps, scps
		blocking := audit.BlockingSCPs(acct)
		switch {
		case len(scps) == 0:
			add(CheckRootDenySCP, false, "no root-deny SCP applies to the account or %s", p.OUPath)
		case len(blocking) > 0:
			attempts = 1 // the root session is denied: no use waiting
			add(CheckRootDenySCP, false, "root-deny SCP(s) without the aws:AssumedRoot exemption block root sessions: %s", strings.Join(blocking, ", "))
		default:
			var ids []string
			for _, s := range scps {
				ids = append(ids, s.ID+" on "+s.Target)
			}
			add(CheckRootDenySCP, true, "%s, exempting root sessions", strings.Join(ids, ", "))
		}
	}

	root, err := v.readRoot(ctx, res.Account, attempts, poll)
	if err != nil {
		add(CheckRootCredentials, false, "root user not read: %v", err)
		acct.Error = err.Error()
	} else {
		acct.Root = root
		res.Root = root
		if !root.HasCredentials() && len(root.MFADevices) == 0 {
			add(CheckRootCredentials, true, "no root password, access key, signing certificate or MFA device")
		} else {
			add(CheckRootCredentials, false, "root user has credentials: password %t, %d access key(s), %d signing certificate(s), %d MFA device(s)",
				root.Password, len(root.AccessKeys), len(root.SigningCertificates), len(root.MFADevices))
		}
	}
	acct.Controls = audit.Evaluate(acct, v.now())
	res.Controls = acct.Controls

	var missing []string
	for _, f := range []string{"RootCredentialsManagement", "RootSessions"} {
		if !slices.Contains(p.EnabledFeatures, f) {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		add(CheckRootAccess, false, "not enabled: %s (rootguard org enable)", strings.Join(missing, ", "))
	} else {
		add(CheckRootAccess, true, "RootCredentialsManagement and RootSessions enabled")
	}
	res.Secure = !slices.ContainsFunc(res.Checks, func(c Check) bool { return !c.OK })
}

// readRoot reads the new account's root user in an audit root session
// (internal/rootsession). A new account may refuse root sessions for a
// moment: AssumeRoot is tried up to attempts times, poll apart.
func (v *Vendor) readRoot(ctx context.Context, account string, attempts int, poll time.Duration) (*audit.Root, error) {
	opener, err := rootsession.New(v.cfg, rootsession.Options{Region: v.Region, Logger: v.logger})
	if err != nil {
		return nil, err
	}
	var s *rootsession.Session
	for attempt := 1; ; attempt++ {
		s, err = opener.Open(ctx, account, rootsession.Audit)
		if err == nil || attempt >= attempts || ctx.Err() != nil {
			break
		}
		v.logger.Debug("root session refused; retrying", "account", account, "attempt", attempt, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(poll):
		}
	}
	if err != nil {
		return nil, err
	}
	return audit.ReadRoot(ctx, iam.NewFromConfig(s.Config()))
}
