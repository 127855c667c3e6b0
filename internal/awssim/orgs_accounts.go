package awssim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"time"
	"unicode/utf8"
)

// Account vending: CreateAccount, DescribeCreateAccountStatus,
// ListCreateAccountStatus and MoveAccount.
//
// CreateAccount is asynchronous, as in AWS: it answers a request in state
// IN_PROGRESS, which SUCCEEDED or FAILED later, as DescribeCreateAccountStatus
// tells ([CreateAccountTiming] says when). A created account is ACTIVE,
// under the organization root, with the role the request named
// (OrganizationAccountAccessRole by default) and a root user without any
// credential, as AWS now creates member accounts. A request whose email is
// already an account's (or another request's in progress) FAILS with
// EMAIL_ALREADY_EXISTS; [Server.FailCreateAccount] injects other reasons.

// CreateAccountTiming says when a CreateAccount request completes: at the
// first DescribeCreateAccountStatus of it made Delay or more after it was
// requested (by the server's clock), or at its Describes-th describe,
// whichever comes first. Describes 0 leaves it to Delay alone.
type CreateAccountTiming struct {
	Delay     time.Duration
	Describes int
}

// DefaultCreateAccountTiming is the timing of a new server: the third
// describe, or two seconds.
var DefaultCreateAccountTiming = CreateAccountTiming{Delay: 2 * time.Second, Describes: 3}

// SetCreateAccountTiming changes when CreateAccount requests made from now
// on complete.
func (s *Server) SetCreateAccountTiming(t CreateAccountTiming) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vending().timing = t
}

// FailCreateAccount makes the next CreateAccount request for email fail
// with reason (a CreateAccountFailureReason such as
// ACCOUNT_LIMIT_EXCEEDED or INVALID_EMAIL) when it completes.
func (s *Server) FailCreateAccount(email, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vending().failures[email] = reason
}

// vendingState is the account-creation state of one server: the requests
// made, in order.
type vendingState struct {
	timing   CreateAccountTiming
	failures map[string]string // email -> injected failure reason
	requests []*createRequest
	byID     map[string]*createRequest
	seq      uint64
}

type createRequest struct {
	id, name, email, role string
	billing               string
	requested, completed  time.Time
	state                 string // IN_PROGRESS, SUCCEEDED, FAILED
	failure               string // the reason when it fails
	account               string // the new account's id once SUCCEEDED
	describes             int
	timing                CreateAccountTiming
}

// vending returns the server's vending state. The caller holds s.mu,
// which guards the state.
func (s *Server) vending() *vendingState {
	if s.vend == nil {
		s.vend = &vendingState{timing: DefaultCreateAccountTiming, failures: map[string]string{}, byID: map[string]*createRequest{}}
	}
	return s.vend
}

// vendingInput is what the vending operations read.
type vendingInput struct {
	AccountName            *string
	Email                  *string
	IamUserAccessToBilling *string
	RoleName               *string
	CreateAccountRequestId *string
	States                 []string
	AccountId              *string
	SourceParentId         *string
	DestinationParentId    *string
}

func (c *call) vendingInput() (*orgsInput, *vendingInput, *apiError) {
	page, e := c.orgsInput()
	if e != nil {
		return nil, nil, e
	}
	var in vendingInput
	if len(c.body) > 0 {
		if err := json.Unmarshal(c.body, &in); err != nil {
			return nil, nil, errf(http.StatusBadRequest, "SerializationException", "awssim: %v", err)
		}
	}
	return page, &in, nil
}

var (
	// The patterns of the Organizations API model.
	reVendEmail       = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`) })
	reVendAccountName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\x20-\x7e]+$`) })
	reVendRequestID   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^car-[a-z0-9]{8,32}$`) })
	reVendParentID    = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$`)
	})
	vendStates  = []string{"IN_PROGRESS", "SUCCEEDED", "FAILED"}
	vendBilling = []string{"ALLOW", "DENY"}
)

func vendRequired(name string, v *string) *apiError {
	if v == nil || *v == "" {
		return invalidInput("INPUT_REQUIRED", "You must specify a value for %s.", name)
	}
	return nil
}

func vendLength(name, v string, lo, hi int) *apiError {
	switch n := utf8.RuneCountInString(v); {
	case n < lo:
		return invalidInput("MIN_LENGTH_EXCEEDED", "You provided a value that does not meet the required minimum length: %s is shorter than %d.", name, lo)
	case n > hi:
		return invalidInput("MAX_LENGTH_EXCEEDED", "You provided a value that exceeds the maximum length: %s is longer than %d.", name, hi)
	}
	return nil
}

// createAccount starts a CreateAccount request.
func createAccount(c *call) (any, *apiError) {
	_, in, e := c.vendingInput()
	if e != nil {
		return nil, e
	}
	for _, check := range []func() *apiError{
		func() *apiError { return vendRequired("Email", in.Email) },
		func() *apiError { return vendLength("Email", *in.Email, 6, 64) },
		func() *apiError {
			if !reVendEmail().MatchString(*in.Email) {
				return invalidInput("INVALID_PATTERN", "You specified a value with an invalid pattern: Email %q.", *in.Email)
			}
			return nil
		},
		func() *apiError { return vendRequired("AccountName", in.AccountName) },
		func() *apiError { return vendLength("AccountName", *in.AccountName, 1, 50) },
		func() *apiError {
			if !reVendAccountName().MatchString(*in.AccountName) {
				return invalidInput("INVALID_PATTERN", "You specified a value with an invalid pattern: AccountName %q.", *in.AccountName)
			}
			return nil
		},
		func() *apiError {
			if in.IamUserAccessToBilling != nil && !slices.Contains(vendBilling, *in.IamUserAccessToBilling) {
				return invalidInput("INVALID_ENUM", "You specified an invalid value: IamUserAccessToBilling %q (want ALLOW or DENY).", *in.IamUserAccessToBilling)
			}
			return nil
		},
		func() *apiError {
			if in.RoleName != nil && !reName().MatchString(*in.RoleName) {
				return invalidInput("INVALID_ROLE_NAME", "You provided a role name that isn't valid: %q.", *in.RoleName)
			}
			return nil
		},
	} {
		if e := check(); e != nil {
			return nil, e
		}
	}
	s := c.s
	v := s.vending()
	v.seq++
	sum := sha256.Sum256([]byte(fmt.Sprintf("car/%d/%s/%d", s.opts.Seed, s.sc.Organization.ID, v.seq)))
	r := &createRequest{
		id: "car-" + hex.EncodeToString(sum[:16]), name: *in.AccountName, email: *in.Email,
		role: DefaultRole, billing: "ALLOW", requested: c.now, state: "IN_PROGRESS", timing: v.timing,
	}
	if in.RoleName != nil {
		r.role = *in.RoleName
	}
	if in.IamUserAccessToBilling != nil {
		r.billing = *in.IamUserAccessToBilling
	}
	// The outcome is decided now and told later, as AWS does.
	switch {
	case v.failures[r.email] != "":
		r.failure = v.failures[r.email]
		delete(v.failures, r.email)
	case s.emailTaken(r.email):
		r.failure = "EMAIL_ALREADY_EXISTS"
	}
	v.requests = append(v.requests, r)
	v.byID[r.id] = r
	return map[string]any{"CreateAccountStatus": r.status()}, nil
}

// emailTaken reports whether an account, or a request in progress, has
// the email.
func (s *Server) emailTaken(email string) bool {
	for _, a := range s.sc.Accounts {
		if a.Email == email {
			return true
		}
	}
	for _, r := range s.vending().requests {
		if r.email == email && r.state == "IN_PROGRESS" && r.failure == "" {
			return true
		}
	}
	return false
}

// complete finishes a request whose time has come.
func (s *Server) complete(r *createRequest, now time.Time) {
	if r.state != "IN_PROGRESS" {
		return
	}
	due := (r.timing.Describes > 0 && r.describes >= r.timing.Describes) ||
		(r.timing.Delay > 0 || r.timing.Describes == 0) && !now.Before(r.requested.Add(r.timing.Delay))
	if !due {
		return
	}
	r.completed = now
	if r.failure != "" {
		r.state = "FAILED"
		s.recordCreateAccountResult(r)
		return
	}
	r.state = "SUCCEEDED"
	r.account = s.newAccountID(r.id)
	defer s.recordCreateAccountResult(r)
	s.sc.Accounts = append(s.sc.Accounts, Account{
		ID: r.account, Name: r.name, Email: r.email, OU: s.sc.Organization.RootID,
		State: "ACTIVE", Joined: now, JoinedMethod: "CREATED", Created: now,
		Roles: []string{r.role},
	})
	// The slice may have moved: point the index at its elements again.
	for i := range s.sc.Accounts {
		a := &s.sc.Accounts[i]
		s.accounts[a.ID] = a
	}
	s.parent[r.account] = s.sc.Organization.RootID
}

// newAccountID derives a 12-digit id no account has.
func (s *Server) newAccountID(seed string) string {
	for i := 0; ; i++ {
		sum := sha256.Sum256([]byte(fmt.Sprintf("account/%s/%d", seed, i)))
		id := fmt.Sprintf("%012d", binary.BigEndian.Uint64(sum[:8])%1_000_000_000_000)
		if s.accounts[id] == nil && id[0] != '0' {
			return id
		}
	}
}

type createAccountStatusJSON struct {
	Id                 string
	AccountName        string
	State              string
	RequestedTimestamp *epochTime
	CompletedTimestamp *epochTime `json:",omitempty"`
	AccountId          string     `json:",omitempty"`
	FailureReason      string     `json:",omitempty"`
}

func (r *createRequest) status() createAccountStatusJSON {
	st := createAccountStatusJSON{
		Id: r.id, AccountName: r.name, State: r.state,
		RequestedTimestamp: etime(r.requested), CompletedTimestamp: etime(r.completed), AccountId: r.account,
	}
	if r.state == "FAILED" {
		st.FailureReason = r.failure
	}
	return st
}

func describeCreateAccountStatus(c *call) (any, *apiError) {
	_, in, e := c.vendingInput()
	if e != nil {
		return nil, e
	}
	if e := vendRequired("CreateAccountRequestId", in.CreateAccountRequestId); e != nil {
		return nil, e
	}
	if !reVendRequestID().MatchString(*in.CreateAccountRequestId) {
		return nil, invalidInput("INVALID_PATTERN", "You specified a value with an invalid pattern: CreateAccountRequestId %q.", *in.CreateAccountRequestId)
	}
	r := c.s.vending().byID[*in.CreateAccountRequestId]
	if r == nil {
		return nil, errf(http.StatusNotFound, "CreateAccountStatusNotFoundException", "We can't find a create account request with the CreateAccountRequestId that you specified.")
	}
	r.describes++
	c.s.complete(r, c.now)
	return map[string]any{"CreateAccountStatus": r.status()}, nil
}

// listCreateAccountStatus lists the requests, oldest first, optionally
// only those in the given states. Listing completes the requests whose
// delay has passed; it does not count as describing them.
func listCreateAccountStatus(c *call) (any, *apiError) {
	page, in, e := c.vendingInput()
	if e != nil {
		return nil, e
	}
	for _, st := range in.States {
		if !slices.Contains(vendStates, st) {
			return nil, invalidInput("INVALID_ENUM", "You specified an invalid value: States %q.", st)
		}
	}
	var rs []*createRequest
	for _, r := range c.s.vending().requests {
		c.s.complete(r, c.now)
		if len(in.States) == 0 || slices.Contains(in.States, r.state) {
			rs = append(rs, r)
		}
	}
	start, end, next, e := c.orgsPage(page, len(rs))
	if e != nil {
		return nil, e
	}
	out := []createAccountStatusJSON{}
	for _, r := range rs[start:end] {
		out = append(out, r.status())
	}
	return listResult("CreateAccountStatuses", out, next), nil
}

// moveAccount moves an account from its parent (which the caller must
// name) to another root or OU.
func moveAccount(c *call) (any, *apiError) {
	_, in, e := c.vendingInput()
	if e != nil {
		return nil, e
	}
	for _, f := range []struct {
		name string
		v    *string
		re   *regexp.Regexp
	}{{"AccountId", in.AccountId, reAccountID()}, {"SourceParentId", in.SourceParentId, reVendParentID()}, {"DestinationParentId", in.DestinationParentId, reVendParentID()}} {
		if e := vendRequired(f.name, f.v); e != nil {
			return nil, e
		}
		if !f.re.MatchString(*f.v) {
			return nil, invalidInput("INVALID_PATTERN", "You specified a value with an invalid pattern: %s %q.", f.name, *f.v)
		}
	}
	s := c.s
	id, src, dst := *in.AccountId, *in.SourceParentId, *in.DestinationParentId
	a := s.accounts[id]
	switch {
	case a == nil:
		return nil, errf(http.StatusNotFound, "AccountNotFoundException", "You specified an account that doesn't exist.")
	case !s.isParent(src):
		return nil, errf(http.StatusNotFound, "SourceParentNotFoundException", "We can't find a source root or OU with the ParentId that you specified.")
	case !s.isParent(dst):
		return nil, errf(http.StatusNotFound, "DestinationParentNotFoundException", "We can't find the destination container (a root or OU) with the ParentId that you specified.")
	case a.OU != src:
		return nil, errf(http.StatusNotFound, "AccountNotFoundException", "We can't find an AWS account with the AccountId that you specified in the source parent %s.", src)
	case src == dst:
		return nil, errf(http.StatusConflict, "DuplicateAccountException", "That account is already present in the specified destination.")
	}
	a.OU = dst
	s.parent[id] = dst
	return map[string]any{}, nil
}
