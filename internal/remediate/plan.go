package remediate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Kind is what a plan changes.
type Kind string

// The kinds.
const (
	KindDeleteCredentials Kind = "delete-credentials"
	KindAllowRecovery     Kind = "allow-recovery"
)

// PlanVersion is the version of the plan document this package writes.
// Version 2 added the digest, the expiry and each account's email; plans
// of version 1 cannot be bound to what was reviewed and are refused.
const PlanVersion = 2

// Plan is what a run would do in each target account, and why. It is
// written to a file between planning and applying, so its JSON form is a
// contract: fields may be added, never changed.
type Plan struct {
	Version   int       `json:"version"`
	Kind      Kind      `json:"kind"`
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy"` // caller ARN
	// ExpiresAt is when the plan may no longer start a run.
	ExpiresAt         time.Time `json:"expiresAt"`
	Organization      string    `json:"organization"`
	ManagementAccount string    `json:"managementAccount"`
	Selection         Selection `json:"selection"`
	// Force lists the checks the planner was told to override.
	Force []string `json:"force,omitempty"`
	// Warnings are the consequences of applying, and what was not checked.
	Warnings []string      `json:"warnings"`
	Accounts []AccountPlan `json:"accounts"`
	// Digest seals everything above (sha256 over the plan, encoded by
	// Encode, with Digest empty): apply refuses a plan changed by hand.
	Digest string `json:"digest"`
}

// Selection is which accounts a plan was asked to cover.
type Selection struct {
	Accounts []string `json:"accounts,omitempty"`
	OUs      []string `json:"ous,omitempty"` // ids or paths, recursive
	All      bool     `json:"all,omitempty"`
	Exclude  []string `json:"exclude,omitempty"` // account or OU ids
}

// Empty reports whether the selection names nothing.
func (s Selection) Empty() bool { return !s.All && len(s.Accounts) == 0 && len(s.OUs) == 0 }

// Action is what a plan does in one account.
type Action string

// The actions. Only ActionDelete and ActionAllowRecovery change anything.
const (
	ActionDelete        Action = "delete-credentials"
	ActionAllowRecovery Action = "allow-recovery"
	ActionNone          Action = "none"   // nothing to change
	ActionSkip          Action = "skip"   // not a possible target (management account, suspended, ...)
	ActionRefuse        Action = "refuse" // a check refused it; --force CHECK overrides
	ActionError         Action = "error"  // the account could not be read
)

// Changes reports whether the action changes the account.
func (a Action) Changes() bool { return a == ActionDelete || a == ActionAllowRecovery }

// AccountPlan is one account's part of a plan.
type AccountPlan struct {
	Account string `json:"account"`
	Name    string `json:"name"`
	// Email is the account's email address when planned: with the name,
	// it binds the plan to the account reviewed.
	Email  string `json:"email"`
	OUPath string `json:"ouPath"`
	State  string `json:"state"`
	Action Action `json:"action"`
	Reason string `json:"reason"`
	// Current is what the root user held when planned.
	Current *Credentials  `json:"current,omitempty"`
	Steps   []Step        `json:"steps,omitempty"`
	Checks  []CheckResult `json:"checks,omitempty"`
	Error   string        `json:"error,omitempty"`
}

// Credentials are what a root user holds. Secrets are never read.
type Credentials struct {
	Password            bool          `json:"password"`
	AccessKeys          []AccessKey   `json:"accessKeys"`
	SigningCertificates []Certificate `json:"signingCertificates"`
	MFADevices          []MFADevice   `json:"mfaDevices"`
}

// Empty reports whether the root user holds nothing at all.
func (c *Credentials) Empty() bool {
	return !c.Password && len(c.AccessKeys) == 0 && len(c.SigningCertificates) == 0 && len(c.MFADevices) == 0
}

// AccessKey is a root access key.
type AccessKey struct {
	ID              string    `json:"id"`
	Status          string    `json:"status"`
	LastUsed        time.Time `json:"lastUsed,omitzero"`
	LastUsedService string    `json:"lastUsedService,omitempty"`
}

// Certificate is a root signing certificate.
type Certificate struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// MFADevice is a root MFA device; Kind is virtual, passkey or hardware
// (from its serial).
type MFADevice struct {
	Serial string `json:"serial"`
	Kind   string `json:"kind"`
}

// Op is an IAM operation a step calls.
type Op string

// The operations plans use.
const (
	OpDeleteLoginProfile       Op = "DeleteLoginProfile"
	OpDeleteAccessKey          Op = "DeleteAccessKey"
	OpDeleteSigningCertificate Op = "DeleteSigningCertificate"
	OpDeactivateMFADevice      Op = "DeactivateMFADevice"
	OpDeleteVirtualMFADevice   Op = "DeleteVirtualMFADevice"
	OpCreateLoginProfile       Op = "CreateLoginProfile"
)

// kindOps are the operations each kind of plan may contain.
var kindOps = map[Kind][]Op{
	KindDeleteCredentials: {OpDeleteLoginProfile, OpDeleteAccessKey, OpDeleteSigningCertificate, OpDeactivateMFADevice, OpDeleteVirtualMFADevice},
	KindAllowRecovery:     {OpCreateLoginProfile},
}

// Step is one call in one account.
type Step struct {
	// Key names the step within its account, stable across resumes:
	// Op:Target.
	Key    string `json:"key"`
	Op     Op     `json:"op"`
	Target string `json:"target"` // a key id, certificate id, MFA serial, or "root"
}

func newStep(op Op, target string) Step {
	return Step{Key: string(op) + ":" + target, Op: op, Target: target}
}

// String is the step as people read it: "DeleteAccessKey AKIA...".
func (s Step) String() string {
	if s.Target == "root" {
		return string(s.Op)
	}
	return string(s.Op) + " " + s.Target
}

// Encode seals the plan with its digest and writes it as indented JSON,
// the form Digest (of the document) is taken of.
func (p *Plan) Encode() ([]byte, error) {
	d, err := p.contentDigest()
	if err != nil {
		return nil, err
	}
	p.Digest = d
	return p.encode()
}

func (p *Plan) encode() ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("remediate: encode plan: %w", err)
	}
	return append(b, '\n'), nil
}

// Digest identifies a plan document: applying the same document again
// finds the runs that did not finish.
func Digest(doc []byte) string {
	sum := sha256.Sum256(doc)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// reAccount is the form of an account id. It and unlock's patterns are
// compiled on first use, not at package load, where every rootguard
// command, `rootguard scan` included, paid for them.
var reAccount = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{12}$`) })

// ErrInvalidPlan is returned, wrapped, for a plan document that cannot be
// applied.
var ErrInvalidPlan = errors.New("invalid plan")

// DecodePlan reads and validates a plan document. Unknown fields are
// errors: a plan is applied only as it was written.
func DecodePlan(doc []byte) (*Plan, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("remediate: %w: %v", ErrInvalidPlan, err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := p.checkDigest(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks that a plan can be applied: a known version and kind,
// account ids, never the management account among the changes, steps
// that belong to the plan's kind, each once.
func (p *Plan) Validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if p.Version != PlanVersion {
		bad("version %d: this rootguard reads version %d", p.Version, PlanVersion)
	}
	ops, ok := kindOps[p.Kind]
	if !ok {
		bad("kind %q: want %s or %s", p.Kind, KindDeleteCredentials, KindAllowRecovery)
	}
	seen := map[string]bool{}
	for i, a := range p.Accounts {
		where := fmt.Sprintf("accounts[%d] (%s)", i, a.Account)
		if !reAccount().MatchString(a.Account) {
			bad("%s: not a 12-digit account id", where)
		}
		if seen[a.Account] {
			bad("%s: listed twice", where)
		}
		seen[a.Account] = true
		switch a.Action {
		case ActionDelete, ActionAllowRecovery:
			if (a.Action == ActionDelete) != (p.Kind == KindDeleteCredentials) {
				bad("%s: action %s in a %s plan", where, a.Action, p.Kind)
			}
			if a.Account == p.ManagementAccount {
				bad("%s: the management account is never a target", where)
			}
			if len(a.Steps) == 0 {
				bad("%s: action %s without steps", where, a.Action)
			}
		case ActionNone, ActionSkip, ActionRefuse, ActionError:
			if len(a.Steps) > 0 {
				bad("%s: action %s with steps", where, a.Action)
			}
		default:
			bad("%s: unknown action %q", where, a.Action)
		}
		keys := map[string]bool{}
		for j, s := range a.Steps {
			if !slices.Contains(ops, s.Op) {
				bad("%s: steps[%d]: %s does not belong in a %s plan", where, j, s.Op, p.Kind)
			}
			if s.Target == "" || s.Key != string(s.Op)+":"+s.Target {
				bad("%s: steps[%d]: key %q must be %s:%s", where, j, s.Key, s.Op, s.Target)
			}
			if keys[s.Key] {
				bad("%s: steps[%d]: %s twice", where, j, s.Key)
			}
			keys[s.Key] = true
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("remediate: %w: %s", ErrInvalidPlan, strings.Join(errs, "; "))
	}
	return nil
}

// Tally counts a plan's accounts by action.
func (p *Plan) Tally() map[Action]int {
	t := map[Action]int{}
	for _, a := range p.Accounts {
		t[a.Action]++
	}
	return t
}

// describe summarises credentials: "password, 2 access keys (1 active),
// 2 MFA devices (passkey, virtual)".
func describe(c *Credentials) string {
	if c == nil {
		return ""
	}
	var parts []string
	if c.Password {
		parts = append(parts, "password")
	}
	if n := len(c.AccessKeys); n > 0 {
		active := 0
		for _, k := range c.AccessKeys {
			if k.Status == "Active" {
				active++
			}
		}
		parts = append(parts, fmt.Sprintf("%d access key%s (%d active)", n, plural(n), active))
	}
	if n := len(c.SigningCertificates); n > 0 {
		parts = append(parts, fmt.Sprintf("%d signing certificate%s", n, plural(n)))
	}
	if n := len(c.MFADevices); n > 0 {
		var kinds []string
		for _, d := range c.MFADevices {
			kinds = append(kinds, d.Kind)
		}
		parts = append(parts, fmt.Sprintf("%d MFA device%s (%s)", n, plural(n), strings.Join(kinds, ", ")))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
