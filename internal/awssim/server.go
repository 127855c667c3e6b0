package awssim

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Options tunes load and faults. The zero value answers every request at
// once and correctly.
type Options struct {
	// RateLimits caps requests per second per operation, keyed
	// "service:Operation" as in [Server.Counts] ("sts:AssumeRoot",
	// "iam:GetUser", "organizations:ListAccounts"). Each limit is a token
	// bucket holding one second's worth of requests (at least one).
	// Requests over the limit are answered Throttling (STS and IAM, HTTP
	// 400) or TooManyRequestsException (Organizations, HTTP 400), which the
	// SDK's standard retryer retries.
	RateLimits map[string]float64
	// Latency is added to every request before it is answered (or until
	// the client gives up).
	Latency time.Duration
	// FaultRate is the fraction of requests, from 0 to 1, answered with a
	// server error: InternalFailure (STS, IAM) or ServiceException
	// (Organizations), HTTP 500. Which requests fail is drawn from Seed,
	// so the same sequence of requests fails the same way every run.
	FaultRate float64
	// Seed seeds the fault draws and the credentials the server issues.
	Seed uint64
	// ReportDelay is how long a credential report takes to generate. While
	// it runs, GenerateCredentialReport answers STARTED then INPROGRESS
	// and GetCredentialReport ReportInProgress.
	ReportDelay time.Duration
	// PageSize is the page size of Organizations list operations when the
	// caller gives no MaxResults; 10 when zero. (IAM lists use AWS's
	// default of 100 items.)
	PageSize int
	// Now is the clock for everything AWS reports or checks: session
	// expiry, report generation, Expiration times. time.Now when nil. Rate
	// limits and latency always use the real clock.
	Now func() time.Time
	// Logger receives one debug record per request; nil logs nothing.
	Logger *slog.Logger
}

// Server answers STS, IAM and Organizations requests from a scenario's
// state. It is safe for concurrent use.
type Server struct {
	opts   Options
	now    func() time.Time
	logger *slog.Logger

	mu       sync.Mutex // guards everything below down to seq
	sc       *Scenario
	accounts map[string]*Account
	parent   map[string]string   // OU or account id -> parent id
	ous      map[string]*OU      // OU id -> OU
	children map[string][]string // parent id -> child OU ids, in order
	policies map[string]*scp
	attached map[string][]string // target id -> policy ids, in order
	admin    *iamUser
	sessions map[string]*principal
	reports  map[string]*credentialReport
	spare    map[string][]MFADevice     // account -> unassigned virtual MFA devices
	findings map[string]json.RawMessage // Security Hub findings imported, by product ARN + "/" + Id
	vend     *vendingState              // account creation (orgs_accounts.go)
	cfnState *cfnState                  // CloudFormation, made on first use
	seq      uint64

	trail trailLog // CloudTrail records of the calls served (cloudtrail.go)

	limitMu sync.Mutex
	buckets map[string]*bucket
	faults  *mrand.Rand

	countMu   sync.Mutex
	counts    map[string]int64
	throttled map[string]int64
}

// scp is a policy of the scenario with its parsed document.
type scp struct {
	*Policy
	doc *policyDoc
}

// iamUser is an IAM user: only the admin user of the management account
// exists.
type iamUser struct {
	name    string
	id      string
	account string
	created time.Time
	creds   Root
}

func (u *iamUser) arn() string { return "arn:aws:iam::" + u.account + ":user/" + u.name }

// AdminUserName is the IAM user in the management account whose
// credentials [Server.ManagementCredentials] returns.
const AdminUserName = "awssim-admin"

// New returns a server holding a copy of sc (with defaults applied). It
// panics if the scenario does not pass [Scenario.Validate]: scenarios come
// from [ParseScenario], [GenerateScenario] or test code.
func New(sc *Scenario, opts Options) *Server {
	st := sc.clone()
	st.applyDefaults()
	if err := st.Validate(); err != nil {
		panic(fmt.Sprintf("awssim: New: invalid scenario: %v", err))
	}
	s := &Server{
		opts:      opts,
		now:       opts.Now,
		logger:    opts.Logger,
		sc:        st,
		accounts:  map[string]*Account{},
		parent:    map[string]string{},
		ous:       map[string]*OU{},
		children:  map[string][]string{},
		policies:  map[string]*scp{},
		attached:  map[string][]string{},
		sessions:  map[string]*principal{},
		reports:   map[string]*credentialReport{},
		spare:     map[string][]MFADevice{},
		findings:  map[string]json.RawMessage{},
		buckets:   map[string]*bucket{},
		faults:    mrand.New(mrand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		counts:    map[string]int64{},
		throttled: map[string]int64{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	var walk func(parent string, ous []OU)
	walk = func(parent string, ous []OU) {
		for i := range ous {
			ou := &ous[i]
			s.ous[ou.ID] = ou
			s.parent[ou.ID] = parent
			s.children[parent] = append(s.children[parent], ou.ID)
			walk(ou.ID, ou.OUs)
		}
	}
	walk(st.Organization.RootID, st.Organization.OUs)
	for i := range st.Accounts {
		a := &st.Accounts[i]
		s.accounts[a.ID] = a
		s.parent[a.ID] = a.OU
	}
	for i := range st.Policies {
		p := &st.Policies[i]
		doc, _ := parsePolicy(p.Content) // checked by Validate
		s.policies[p.ID] = &scp{Policy: p, doc: doc}
		for _, t := range p.Targets {
			s.attached[t] = append(s.attached[t], p.ID)
		}
	}
	mgmt := s.accounts[st.Organization.ManagementAccount]
	seed := fmt.Sprint(opts.Seed)
	s.admin = &iamUser{
		name:    AdminUserName,
		id:      "AIDA" + stableID(17, "user", mgmt.ID, AdminUserName),
		account: mgmt.ID,
		created: mgmt.Created,
		creds: Root{AccessKeys: []AccessKey{{
			ID:      "AKIA" + stableID(16, "admin-key", mgmt.ID, seed),
			Status:  "Active",
			Created: mgmt.Created,
		}}},
	}
	return s
}

// ManagementCredentials returns the static access key of the awssim-admin
// IAM user in the management account, which may do everything (and is the
// only principal that can call Organizations besides sessions in the
// management account).
func (s *Server) ManagementCredentials() (akid, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	akid = "AKIA" + stableID(16, "admin-key", s.admin.account, fmt.Sprint(s.opts.Seed))
	return akid, secretFor(akid)
}

// Counts returns how many requests each operation has received, keyed
// "service:Operation" (e.g. "sts:AssumeRoot"), including throttled,
// faulted and refused ones.
func (s *Server) Counts() map[string]int64 {
	s.countMu.Lock()
	defer s.countMu.Unlock()
	c := make(map[string]int64, len(s.counts))
	for k, v := range s.counts {
		c[k] = v
	}
	return c
}

// Throttled returns how many requests of each operation were answered
// with a throttling error (a subset of [Server.Counts]).
func (s *Server) Throttled() map[string]int64 {
	s.countMu.Lock()
	defer s.countMu.Unlock()
	return maps.Clone(s.throttled)
}

// Start serves on addr, which must be a loopback address
// ("127.0.0.1:0" when empty; a missing host means 127.0.0.1). It returns
// the base URL to give the SDK as BaseEndpoint and a function that shuts
// the listener down.
func (s *Server) Start(addr string) (string, func(context.Context) error, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", nil, fmt.Errorf("awssim: start: %w", err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", nil, fmt.Errorf("awssim: start: %s is not a loopback address", host)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return "", nil, fmt.Errorf("awssim: start: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("awssim: serve", "err", err)
		}
	}()
	stop := func(ctx context.Context) error {
		// Shutdown waits for requests in flight; a connection a client
		// opened but never used counts as busy for 5 s, so when ctx ends
		// first the rest are closed.
		err := srv.Shutdown(ctx)
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return srv.Close()
		}
		return err
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// call is one request being answered.
type call struct {
	s    *Server
	svc  string
	op   string
	form url.Values // STS and IAM parameters
	body []byte     // Organizations JSON input
	p    *principal
	now  time.Time
	// region is the region the request was signed for.
	region string
}

type handler func(c *call) (any, *apiError)

func (s *Server) handler(svc, op string) handler {
	switch svc {
	case svcSTS:
		return stsOps[op]
	case svcIAM:
		return iamOps[op]
	case svcOrgs:
		return orgsOps[op]
	case svcSecurityHub:
		return securityHubOps[op]
	case svcCFN:
		return cfnOps[op]
	case svcS3:
		return s3Ops[op]
	case svcSQS:
		return sqsOps[op]
	case svcCloudTrail:
		return cloudTrailOps[op]
	case svcAccount:
		return accountOps[op]
	}
	return nil
}

// ServeHTTP answers one STS, IAM or Organizations request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	akid, svc, authOK := parseAuthorization(r.Header.Get("Authorization"))
	region := signedRegion(r.Header.Get("Authorization"))
	jsonProto := svc == svcOrgs || svc == svcSecurityHub || svc == svcCloudTrail || svc == svcAccount || (svc == "" && r.Header.Get("X-Amz-Target") != "")
	var op string
	fail := func(e *apiError) {
		s.logger.Debug("awssim: request", "service", svc, "op", op, "error", e.code, "status", e.status)
		if observe != nil {
			observe(svc, op, e)
		}
		switch {
		case svc == svcS3:
			writeS3Error(w, e)
		case svc == svcSQS:
			writeSQSError(w, e)
		case jsonProto:
			writeJSONError(w, e)
		default:
			writeQueryError(w, svc, reqID, e)
		}
	}
	if !authOK {
		if jsonProto {
			fail(errf(http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"))
		} else {
			fail(errf(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token"))
		}
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		fail(errf(http.StatusBadRequest, "RequestAbortedException", "awssim: read body: %v", err))
		return
	}
	var form url.Values
	switch svc {
	case svcSTS, svcIAM, svcCFN:
		form, err = url.ParseQuery(string(body))
		if err != nil {
			fail(errf(http.StatusNotFound, "MalformedQueryString", "awssim: %v", err))
			return
		}
		for k, v := range r.URL.Query() {
			form[k] = append(form[k], v...)
		}
		op = form.Get("Action")
		if op == "" {
			fail(errf(http.StatusBadRequest, "MissingAction", "Missing Action"))
			return
		}
		if v := form.Get("Version"); v != queryVersion[svc] {
			fail(errf(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", op, v))
			return
		}
	case svcOrgs:
		var ok bool
		op, ok = strings.CutPrefix(r.Header.Get("X-Amz-Target"), orgsTargetPrefix)
		if !ok {
			fail(errf(http.StatusNotFound, "UnknownOperationException", "awssim: X-Amz-Target %q is not an Organizations operation", r.Header.Get("X-Amz-Target")))
			return
		}
	case svcSecurityHub:
		op = securityHubRoute(r.Method, r.URL.Path)
	case svcAccount:
		op = accountRoute(r.Method, r.URL.Path)
	case svcCloudTrail:
		var ok bool
		if op, ok = strings.CutPrefix(r.Header.Get("X-Amz-Target"), cloudTrailTargetPrefix); !ok {
			fail(errf(http.StatusNotFound, "UnknownOperationException", "awssim: X-Amz-Target %q is not a CloudTrail operation", r.Header.Get("X-Amz-Target")))
			return
		}
	case svcS3:
		op, form = s3Route(r)
	case svcSQS:
		var ok bool
		if op, ok = strings.CutPrefix(r.Header.Get("X-Amz-Target"), sqsTargetPrefix); !ok {
			fail(errf(http.StatusBadRequest, "InvalidAction", "awssim: X-Amz-Target %q is not an SQS operation", r.Header.Get("X-Amz-Target")))
			return
		}
	default:
		fail(errf(http.StatusBadRequest, "UnrecognizedService", "awssim: service %q (from the credential scope) is not simulated", svc))
		return
	}
	key := svc + ":" + op
	s.countMu.Lock()
	s.counts[key]++
	s.countMu.Unlock()

	if d := s.opts.Latency; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if e := s.limit(key, jsonProto); e != nil {
		fail(e)
		return
	}
	if svc == svcSTS && op == "AssumeRoot" && globalSTS(region, r.Host) {
		// "The STS global endpoint is not supported for AssumeRoot. You
		// must send this request to a Regional STS endpoint." (STS API
		// Reference, AssumeRoot; testdata/regions.md). The code is as reported
		// from real calls, the status a guess (doc.go).
		fail(errf(http.StatusBadRequest, "InvalidAction", "Unknown Operation"))
		return
	}
	h := s.handler(svc, op)
	if h == nil {
		// A root session's task policy is evaluated first: an action it
		// denies is AccessDenied whether or not awssim simulates it.
		s.mu.Lock()
		c := &call{s: s, svc: svc, op: op, form: form, body: body, now: s.now(), region: region}
		var denied *apiError
		if p, e := s.authenticate(svc, akid, r.Header.Get("X-Amz-Security-Token"), c.now); e == nil && p.kind == kindRoot {
			c.p = p
			denied = s.checkTaskPolicy(c, c.iamAction())
		}
		s.mu.Unlock()
		if denied != nil {
			fail(denied)
			return
		}
		if jsonProto {
			fail(errf(http.StatusNotFound, "UnknownOperationException", "awssim: operation %s is not simulated", op))
		} else {
			fail(errf(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", op, queryVersion[svc]))
		}
		return
	}

	s.mu.Lock()
	c := &call{s: s, svc: svc, op: op, form: form, body: body, now: s.now(), region: region}
	var result any
	p, e := s.authenticate(svc, akid, r.Header.Get("X-Amz-Security-Token"), c.now)
	if e == nil {
		c.p = p
		e = s.authorize(c)
	}
	if e == nil {
		result, e = h(c)
	}
	s.mu.Unlock()
	s.recordCall(c, r, reqID, result, e)

	if e != nil {
		fail(e)
		return
	}
	s.logger.Debug("awssim: request", "service", svc, "op", op, "account", p.account)
	if observe != nil {
		observe(svc, op, nil)
	}
	switch {
	case svc == svcS3:
		writeS3(w, result)
	case svc == svcSQS:
		writeSQS(w, result)
	case jsonProto:
		writeJSON(w, result)
	default:
		writeQuery(w, svc, op, reqID, result)
	}
}

// jsonService reports whether a service speaks a JSON protocol whose
// common errors are the JSON ones (UnrecognizedClientException,
// ExpiredTokenException). SQS maps its codes itself (sqsErrors).
func jsonService(svc string) bool {
	return svc == svcOrgs || svc == svcSecurityHub || svc == svcCloudTrail
}

// observe, when set (by the SDK conformance test), sees every answer the
// server writes: the service and operation, and the error or nil.
var observe func(svc, op string, e *apiError)

// parseAuthorization extracts the access key id and service from a SigV4
// Authorization header:
// AWS4-HMAC-SHA256 Credential=AKID/20261129/us-east-1/sts/aws4_request, ...
func parseAuthorization(h string) (akid, service string, ok bool) {
	_, rest, found := strings.Cut(h, "Credential=")
	if !found {
		return "", "", false
	}
	cred, _, _ := strings.Cut(rest, ",")
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[0] == "" {
		return "", "", false
	}
	return parts[0], parts[3], true
}

// globalSTS reports whether an STS request reached the global endpoint:
// signed for the SDK's pseudo-Region aws-global (what the SDK signs with
// when its Region is aws-global and AWS_ENDPOINT_URL names the endpoint),
// with no Region, or sent to the global host.
func globalSTS(region, host string) bool {
	return region == "" || region == "aws-global" || strings.EqualFold(host, "sts.amazonaws.com")
}

// requestedRegion is aws:RequestedRegion of a call: the Region it was
// signed for, except for the global services AWS serves from a single
// endpoint in us-east-1 ("IAM ... popular AWS global services with a
// single endpoint that is physically located in the us-east-1 Region",
// IAM User Guide, "AWS: Denies access to AWS based on the requested
// Region"; Organizations is listed there too), and STS's global endpoint.
func (c *call) requestedRegion() string {
	switch {
	case c.svc == svcIAM || c.svc == svcOrgs:
		return "us-east-1"
	case c.svc == svcSTS && globalSTS(c.region, ""):
		return "us-east-1"
	}
	return c.region
}

// signedRegion is the region of a SigV4 credential scope, or "".
func signedRegion(h string) string {
	_, rest, _ := strings.Cut(h, "Credential=")
	cred, _, _ := strings.Cut(rest, ",")
	if parts := strings.Split(strings.TrimSpace(cred), "/"); len(parts) == 5 {
		return parts[2]
	}
	return ""
}

// limit applies the rate limit and the fault rate to one request.
func (s *Server) limit(key string, jsonProto bool) *apiError {
	orgs := strings.HasPrefix(key, svcOrgs+":")
	s.limitMu.Lock()
	defer s.limitMu.Unlock()
	if rate, ok := s.opts.RateLimits[key]; ok {
		b := s.buckets[key]
		now := time.Now()
		if b == nil {
			b = &bucket{rate: rate, tokens: math.Max(1, rate), last: now}
			s.buckets[key] = b
		}
		if !b.take(now) {
			s.countMu.Lock()
			s.throttled[key]++
			s.countMu.Unlock()
			switch {
			case orgs:
				return errf(http.StatusTooManyRequests, "TooManyRequestsException", "Rate exceeded")
			case jsonProto:
				return errf(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
			}
			return errf(http.StatusBadRequest, "Throttling", "Rate exceeded")
		}
	}
	if s.opts.FaultRate > 0 && s.faults.Float64() < s.opts.FaultRate {
		if orgs {
			return errf(http.StatusInternalServerError, "ServiceException", "AWS Organizations can't complete your request because of an internal service error. Try again later.")
		}
		return errf(http.StatusInternalServerError, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.")
	}
	return nil
}

// bucket is a token bucket of rate tokens per second holding at most one
// second's worth (at least one token).
type bucket struct {
	rate   float64
	tokens float64
	last   time.Time
}

func (b *bucket) take(now time.Time) bool {
	b.tokens = math.Min(math.Max(1, b.rate), b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// principalKind is what kind of identity signed a request.
type principalKind int

const (
	kindUser principalKind = iota // the admin IAM user
	kindRole                      // an AssumeRole session
	kindRoot                      // an AssumeRoot session
)

// principal is the identity behind an access key.
type principal struct {
	kind       principalKind
	account    string
	name       string // user or role name
	session    string // role session name
	taskPolicy string // root sessions: the task policy's short name
	akid       string
	secret     string
	token      string
	expires    time.Time
}

// arn is the identity's ARN as GetCallerIdentity and error messages give
// it.
func (p *principal) arn() string {
	switch p.kind {
	case kindRole:
		return "arn:aws:sts::" + p.account + ":assumed-role/" + p.name + "/" + p.session
	case kindRoot:
		return "arn:aws:iam::" + p.account + ":root"
	}
	return "arn:aws:iam::" + p.account + ":user/" + p.name
}

// principalARN is the aws:PrincipalArn condition key: the role, not the
// session, for role sessions.
func (p *principal) principalARN() string {
	if p.kind == kindRole {
		return "arn:aws:iam::" + p.account + ":role/" + p.name
	}
	return p.arn()
}

func (p *principal) userID() string {
	switch p.kind {
	case kindRole:
		return roleID(p.account, p.name) + ":" + p.session
	case kindRoot:
		return p.account
	}
	return "AIDA" + stableID(17, "user", p.account, p.name)
}

func roleID(account, role string) string { return "AROA" + stableID(17, "role", account, role) }

// authenticate maps an access key to its principal.
func (s *Server) authenticate(svc, akid, token string, now time.Time) (*principal, *apiError) {
	invalid := func() *apiError {
		if jsonService(svc) {
			return errf(http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.")
		}
		return errf(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	for _, k := range s.admin.creds.AccessKeys {
		if k.ID == akid {
			if k.Status != "Active" {
				return nil, invalid()
			}
			return &principal{kind: kindUser, account: s.admin.account, name: s.admin.name, akid: akid}, nil
		}
	}
	p := s.sessions[akid]
	if p == nil || p.token != token {
		return nil, invalid()
	}
	if !now.Before(p.expires) {
		if jsonService(svc) {
			return nil, errf(http.StatusForbidden, "ExpiredTokenException", "The security token included in the request is expired")
		}
		return nil, errf(http.StatusForbidden, "ExpiredToken", "The security token included in the request is expired")
	}
	return p, nil
}

// authorize applies identity policies (root sessions are limited to what
// their task policy does not deny; users and role sessions may do
// everything), the SCPs, and
// the policy of the S3 bucket or SQS queue acted on.
func (s *Server) authorize(c *call) *apiError {
	p := c.p
	action := c.iamAction()
	if c.svc == svcSTS && c.op == "GetCallerIdentity" {
		return nil // needs no permission
	}
	if p.kind == kindRoot {
		if e := s.checkTaskPolicy(c, action); e != nil {
			return e
		}
	}
	if c.svc == svcOrgs || c.svc == svcSecurityHub {
		return nil
	}
	if e := s.checkSCPs(c, action); e != nil {
		return e
	}
	return s.checkResourcePolicy(c, action)
}

// checkSCPs evaluates the service control policies that apply to a
// principal in a member account.
func (s *Server) checkSCPs(c *call, action string) *apiError {
	p := c.p
	if s.sc.Organization.ID == "" || p.account == s.sc.Organization.ManagementAccount {
		return nil
	}
	resource := p.principalARN()
	switch {
	case c.svc == svcS3 && c.param("Bucket") != "":
		resource = "arn:aws:s3:::" + c.param("Bucket")
	case c.op == "AssumeRole":
		resource = c.param("RoleArn")
	case c.op == "AssumeRoot":
		if t := c.param("TargetPrincipal"); reAccountID().MatchString(t) {
			resource = "arn:aws:iam::" + t + ":root"
		} else {
			resource = t
		}
	case c.param("UserName") != "":
		resource = "arn:aws:iam::" + p.account + ":user/" + c.param("UserName")
	}
	rc := requestContext{
		action:   action,
		resource: resource,
		keys: map[string]string{
			"aws:principalarn":     p.principalARN(),
			"aws:principalaccount": p.account,
			"aws:principalorgid":   s.sc.Organization.ID,
			"aws:requestedregion":  c.requestedRegion(),
		},
	}
	if p.kind == kindRoot {
		rc.keys["aws:assumedroot"] = "true"
	}
	for id := p.account; id != ""; id = s.parent[id] {
		for _, pid := range s.attached[id] {
			if _, denied := s.policies[pid].doc.denies(rc); denied {
				return accessDenied("User: %s is not authorized to perform: %s on resource: %s with an explicit deny in a service control policy",
					p.arn(), action, resource)
			}
		}
	}
	return nil
}

// issue creates and remembers session credentials.
func (s *Server) issue(p *principal, d time.Duration, now time.Time) *principal {
	s.seq++
	seed := fmt.Sprint(s.opts.Seed)
	n := fmt.Sprint(s.seq)
	p.akid = "ASIA" + stableID(16, "session", seed, n)
	p.secret = secretFor(p.akid)
	sum := sha256.Sum256([]byte("token/" + seed + "/" + n))
	sum2 := sha256.Sum256(sum[:])
	p.token = "IQoJb3JpZ2luX2VjE" + base64.StdEncoding.EncodeToString(append(sum[:], sum2[:]...))
	p.expires = now.Add(d)
	s.sessions[p.akid] = p
	return p
}

// stableID derives an AWS-looking id of n upper-case letters and digits
// from its parts.
func stableID(n int, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "/")))
	id := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:])
	return id[:n]
}

func secretFor(akid string) string {
	sum := sha256.Sum256([]byte("secret/" + akid))
	return base64.StdEncoding.EncodeToString(sum[:])[:40]
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, (hi>>16)&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}
