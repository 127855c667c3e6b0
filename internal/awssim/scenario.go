package awssim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// Scenario is the state of a simulated AWS Organization: its accounts, the
// organizational unit tree, the root user of every account and the service
// control policies. It is read from YAML by [ParseScenario] and
// [LoadScenario], made by [GenerateScenario] and written by
// [Scenario.Marshal].
//
// An example (testdata/scenario.yaml is a complete, commented one):
//
//	organization:
//	  id: o-exampleorg1
//	  rootId: r-ex12
//	  managementAccount: "111111111111"
//	  features: [RootCredentialsManagement, RootSessions]
//	  trustedAccess: [iam.amazonaws.com]
//	  delegatedAdministrators:
//	    - {account: "222222222222", servicePrincipal: iam.amazonaws.com}
//	  ous:
//	    - id: ou-ex12-workload
//	      name: Workloads
//	      ous:
//	        - {id: ou-ex12-prodprod, name: Prod}
//	accounts:
//	  - id: "111111111111"
//	    name: management
//	    email: aws-management@example.com
//	    joined: 2020-01-01T00:00:00Z
//	    root:
//	      password: {present: true, lastUsed: 2025-06-01T08:00:00Z}
//	      mfa:
//	        - {serial: GAHT12345678, kind: hardware, enableDate: 2020-01-02T00:00:00Z}
//	  - id: "333333333333"
//	    name: prod
//	    email: aws-prod@example.com
//	    ou: ou-ex12-prodprod
//	    state: SUSPENDED
//	    root:
//	      accessKeys:
//	        - {id: AKIAEXAMPLEROOT00001, status: Active, created: 2021-03-01T00:00:00Z}
//	policies:
//	  - id: p-denyroot1
//	    name: DenyRootUser
//	    content: '{"Version": "2012-10-17", "Statement": [...]}'  # a JSON policy document
//	    targets: [ou-ex12-workload]
//
// Defaults filled in by parsing (and by [New]): an account's state is
// ACTIVE; its ou is the organization root; joinedMethod is INVITED for the
// management account and CREATED for the others; created (when the account
// and its root user were made) is its joined time; every member account has
// the role OrganizationAccountAccessRole unless roles is given (roles: []
// means none). An account whose root has no password, keys, MFA devices or
// certificates is one whose root credentials were deleted centrally.
//
// An account may hold S3 buckets and SQS queues, with their resource
// policies (a bucket's region and a queue's default to us-east-1):
//
//	accounts:
//	  - id: "333333333333"
//	    # ...
//	    buckets:
//	      - name: prod-archive
//	        region: eu-west-1
//	        versioning: Enabled
//	        mfaDelete: Enabled
//	        policy: '{"Version": "2012-10-17", "Statement": [...]}'
//	    queues:
//	      - {name: orders, policy: '{"Version": "2012-10-17", "Statement": [...]}'}
//
// An empty organization id describes a standalone account that is in no
// organization: then there must be exactly one account, the management
// account field names it, and OUs, policies, features and delegated
// administrators must be empty.
type Scenario struct {
	Organization Organization `yaml:"organization"`
	Accounts     []Account    `yaml:"accounts"`
	Policies     []Policy     `yaml:"policies,omitempty"`
	// Trail is the organization trail (cloudtrail_api.go); the zero value
	// is a logging, multi-Region organization trail.
	Trail Trail `yaml:"trail,omitempty"`
	// Regions are the opt-in Regions enabled in every account, besides
	// those enabled by default (account:ListRegions, account.go).
	Regions []string `yaml:"regions,omitempty"`
}

// Organization describes the organization itself.
type Organization struct {
	// ID is the organization id, o- followed by 10 to 32 lower-case letters
	// or digits.
	ID string `yaml:"id"`
	// RootID is the id of the organization root, r- followed by 4 to 32
	// lower-case letters or digits.
	RootID string `yaml:"rootId"`
	// ManagementAccount is the id of the management account, which must be
	// listed in Accounts.
	ManagementAccount string `yaml:"managementAccount"`
	// FeatureSet is the organization's feature set: ALL (the default) or
	// CONSOLIDATED_BILLING (organizations.types.OrganizationFeatureSet).
	// IAM's centralized root access needs all features: in a
	// CONSOLIDATED_BILLING organization its operations answer
	// OrganizationNotInAllFeaturesModeException.
	FeatureSet string `yaml:"featureSet,omitempty"`
	// Features are the enabled centralized root access features of IAM:
	// RootCredentialsManagement and RootSessions. They need trusted access
	// for iam.amazonaws.com.
	Features []string `yaml:"features,omitempty"`
	// TrustedAccess lists the service principals with trusted access to the
	// organization (iam.amazonaws.com, sso.amazonaws.com, ...).
	TrustedAccess []string `yaml:"trustedAccess,omitempty"`
	// DelegatedAdministrators are member accounts registered as delegated
	// administrator for a service. For iam.amazonaws.com the account may
	// call sts:AssumeRoot like the management account.
	DelegatedAdministrators []DelegatedAdministrator `yaml:"delegatedAdministrators,omitempty"`
	// OUs are the organizational units directly under the root, each with
	// its own children.
	OUs []OU `yaml:"ous,omitempty"`
}

// DelegatedAdministrator registers Account as delegated administrator for
// ServicePrincipal since Since (the management account's joined time when
// zero).
type DelegatedAdministrator struct {
	Account          string    `yaml:"account"`
	ServicePrincipal string    `yaml:"servicePrincipal"`
	Since            time.Time `yaml:"since,omitempty"`
}

// OU is an organizational unit and the units nested in it. Its id is
// ou-<4 to 32 root-id characters>-<8 to 32 lower-case letters or digits>.
type OU struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	OUs  []OU   `yaml:"ous,omitempty"`
}

// Account is an account of the organization.
type Account struct {
	// ID is the 12-digit account id.
	ID    string `yaml:"id"`
	Name  string `yaml:"name"`
	Email string `yaml:"email"`
	// OU is the id of the parent: an OU id, or the root id (the default).
	OU string `yaml:"ou,omitempty"`
	// State is ACTIVE (default), PENDING_ACTIVATION, SUSPENDED,
	// PENDING_CLOSURE or CLOSED. Organizations reports the legacy Status
	// beside it (CLOSED accounts have Status SUSPENDED). Only ACTIVE
	// accounts can be entered with AssumeRole or AssumeRoot.
	State string `yaml:"state,omitempty"`
	// Joined is when the account joined the organization.
	Joined time.Time `yaml:"joined"`
	// JoinedMethod is INVITED or CREATED.
	JoinedMethod string `yaml:"joinedMethod,omitempty"`
	// Created is when the account and its root user were created (the
	// root's user_creation_time in the credential report).
	Created time.Time `yaml:"created,omitempty"`
	// Roles lists the IAM roles that the management account can assume in
	// this account with sts:AssumeRole.
	Roles []string `yaml:"roles"`
	// Root is the account's root user.
	Root Root `yaml:"root"`
	// Buckets are the account's S3 buckets, with their policies and
	// versioning (see s3.go).
	Buckets []S3Bucket `yaml:"buckets,omitempty"`
	// Queues are the account's SQS queues, with their policies (see
	// sqs.go).
	Queues []SQSQueue `yaml:"queues,omitempty"`
}

// Root is the credentials of an account's root user.
type Root struct {
	Password            Password             `yaml:"password,omitempty"`
	MFA                 []MFADevice          `yaml:"mfa,omitempty"`
	AccessKeys          []AccessKey          `yaml:"accessKeys,omitempty"`
	SigningCertificates []SigningCertificate `yaml:"signingCertificates,omitempty"`
}

// Password is the root user's console password (its login profile).
type Password struct {
	Present bool `yaml:"present,omitempty"`
	// Created is when the password was set (the account's created time when
	// zero).
	Created time.Time `yaml:"created,omitempty"`
	// LastUsed is the last console sign-in with it; zero if never.
	LastUsed time.Time `yaml:"lastUsed,omitempty"`
}

// MFA device kinds.
const (
	MFAVirtual  = "virtual"  // serial arn:aws:iam::<account>:mfa/<name>
	MFAHardware = "hardware" // a vendor serial such as GAHT12345678
	MFAPasskey  = "passkey"  // passkey or security key: arn:aws:iam::<account>:u2f/root-user/<id>
)

// MFADevice is an MFA device assigned to the root user.
type MFADevice struct {
	Serial     string    `yaml:"serial"`
	Kind       string    `yaml:"kind"`
	EnableDate time.Time `yaml:"enableDate"`
}

// AccessKey is a root access key.
type AccessKey struct {
	// ID is AKIA followed by 16 upper-case letters or digits.
	ID string `yaml:"id"`
	// Status is Active or Inactive.
	Status  string    `yaml:"status"`
	Created time.Time `yaml:"created"`
	// LastUsed is zero if the key was never used; then LastUsedService and
	// LastUsedRegion are empty too.
	LastUsed        time.Time `yaml:"lastUsed,omitempty"`
	LastUsedService string    `yaml:"lastUsedService,omitempty"`
	LastUsedRegion  string    `yaml:"lastUsedRegion,omitempty"`
}

// SigningCertificate is a root X.509 signing certificate.
type SigningCertificate struct {
	ID string `yaml:"id"`
	// Status is Active or Inactive.
	Status   string    `yaml:"status"`
	Uploaded time.Time `yaml:"uploaded,omitempty"`
}

// Policy is a service control policy. Content is the policy document; the
// server evaluates its Deny statements (Action/NotAction, Resource and the
// condition operators String*, Arn*, Bool and Null on aws:PrincipalArn,
// aws:PrincipalAccount and aws:AssumedRoot) for IAM and STS calls made by
// principals in member accounts under a target. Allow statements are taken
// as granted; the AWS managed FullAWSAccess policy (p-FullAWSAccess) is
// attached to every target implicitly.
type Policy struct {
	// ID is p- followed by 8 to 128 lower-case letters, digits or
	// underscores.
	ID          string `yaml:"id"`
	Name        string `yaml:"name"`
	Description string `yaml:"description,omitempty"`
	Content     string `yaml:"content"`
	// Targets are the root, OU and account ids the policy is attached to.
	Targets []string `yaml:"targets"`
}

// Centralized root access features of IAM.
const (
	FeatureRootCredentialsManagement = "RootCredentialsManagement"
	FeatureRootSessions              = "RootSessions"
)

// DefaultRole is the role Organizations creates in accounts it creates.
const DefaultRole = "OrganizationAccountAccessRole"

const iamServicePrincipal = "iam.amazonaws.com"

// LoadScenario reads and validates a YAML scenario file.
func LoadScenario(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("awssim: load scenario: %w", err)
	}
	sc, err := ParseScenario(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sc, nil
}

// ParseScenario decodes a YAML scenario, fills in defaults and validates it.
// Unknown fields are errors.
func ParseScenario(b []byte) (*Scenario, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var sc Scenario
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("awssim: parse scenario: %w", err)
	}
	sc.applyDefaults()
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	return &sc, nil
}

// Marshal encodes the scenario as YAML that [ParseScenario] reads back.
func (s *Scenario) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("awssim: marshal scenario: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("awssim: marshal scenario: %w", err)
	}
	return buf.Bytes(), nil
}

// applyDefaults fills in the documented defaults.
func (s *Scenario) applyDefaults() {
	for i := range s.Accounts {
		a := &s.Accounts[i]
		mgmt := a.ID == s.Organization.ManagementAccount
		if a.State == "" {
			a.State = "ACTIVE"
		}
		if a.OU == "" && s.Organization.ID != "" {
			a.OU = s.Organization.RootID
		}
		if a.JoinedMethod == "" {
			a.JoinedMethod = "CREATED"
			if mgmt {
				a.JoinedMethod = "INVITED"
			}
		}
		if a.Created.IsZero() {
			a.Created = a.Joined
		}
		if a.Roles == nil {
			a.Roles = []string{}
			if !mgmt {
				a.Roles = []string{DefaultRole}
			}
		}
		if a.Root.Password.Present && a.Root.Password.Created.IsZero() {
			a.Root.Password.Created = a.Created
		}
		a.applyBucketDefaults()
		a.applyQueueDefaults()
	}
}

// The package's patterns are compiled on first use (sync.OnceValue), not at
// package load: awssim is linked into rootguard for the sandbox, and
// compiling them there cost every command, `rootguard scan` included, some
// 5 ms of start-up (GODEBUG=inittrace=1). TestPatterns compiles them all.
var (
	reOrgID     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^o-[a-z0-9]{10,32}$`) })
	reRootID    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^r-[0-9a-z]{4,32}$`) })
	reOUID      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`) })
	reAccountID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{12}$`) })
	rePolicyID  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^p-[0-9a-zA-Z_]{8,128}$`) })
	reKeyID     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^AKIA[A-Z0-9]{16}$`) })
	reCertID    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z0-9]{24,128}$`) })
	reHardware  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9=,.@:/-]{9,256}$`) })
	reName      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@-]{1,64}$`) })
)

var accountStates = []string{"PENDING_ACTIVATION", "ACTIVE", "SUSPENDED", "PENDING_CLOSURE", "CLOSED"}

// Validate checks ids and their formats, that every reference (OU parents,
// policy targets, delegated administrators, the management account)
// resolves, and the AWS limits on root credentials (two access keys, two
// signing certificates, eight MFA devices). It reports every problem found,
// joined.
func (s *Scenario) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("awssim: scenario: "+format, args...))
	}
	org := s.Organization
	standalone := org.ID == ""
	targets := map[string]bool{}
	if standalone {
		if len(s.Accounts) != 1 {
			bad("standalone account (no organization id): want exactly 1 account, have %d", len(s.Accounts))
		}
		if org.RootID != "" || len(org.OUs) > 0 || len(s.Policies) > 0 || len(org.Features) > 0 ||
			len(org.DelegatedAdministrators) > 0 || len(org.TrustedAccess) > 0 {
			bad("standalone account (no organization id): rootId, ous, policies, features, trustedAccess and delegatedAdministrators must be empty")
		}
	} else {
		if !reOrgID().MatchString(org.ID) {
			bad("organization.id %q: want o- and 10 to 32 lower-case letters or digits", org.ID)
		}
		if !reRootID().MatchString(org.RootID) {
			bad("organization.rootId %q: want r- and 4 to 32 lower-case letters or digits", org.RootID)
		}
		targets[org.RootID] = true
	}
	var walk func(path string, ous []OU)
	walk = func(path string, ous []OU) {
		for i, ou := range ous {
			p := fmt.Sprintf("%s[%d]", path, i)
			if !reOUID().MatchString(ou.ID) {
				bad("%s.id %q: want ou-<root part>-<8 to 32 letters or digits>", p, ou.ID)
			}
			if targets[ou.ID] {
				bad("%s.id %q: duplicate id", p, ou.ID)
			}
			targets[ou.ID] = true
			if ou.Name == "" {
				bad("%s.name: empty", p)
			}
			walk(p+".ous", ou.OUs)
		}
	}
	walk("organization.ous", org.OUs)
	ous := make(map[string]bool, len(targets))
	for k := range targets {
		ous[k] = true
	}

	keys := map[string]string{}
	buckets := map[string]string{}
	accounts := map[string]*Account{}
	for i := range s.Accounts {
		a := &s.Accounts[i]
		p := fmt.Sprintf("accounts[%d]", i)
		if !reAccountID().MatchString(a.ID) {
			bad("%s.id %q: want 12 digits", p, a.ID)
		}
		if accounts[a.ID] != nil {
			bad("%s.id %q: duplicate account", p, a.ID)
		}
		accounts[a.ID] = a
		targets[a.ID] = true
		if a.Name == "" {
			bad("%s.name: empty", p)
		}
		if !strings.Contains(a.Email, "@") {
			bad("%s.email %q: not an email address", p, a.Email)
		}
		if standalone {
			if a.OU != "" {
				bad("%s.ou %q: a standalone account has no OU", p, a.OU)
			}
		} else if !ous[a.OU] {
			bad("%s.ou %q: no such OU or root", p, a.OU)
		}
		if !slices.Contains(accountStates, a.State) {
			bad("%s.state %q: want one of %s", p, a.State, strings.Join(accountStates, ", "))
		}
		if a.JoinedMethod != "INVITED" && a.JoinedMethod != "CREATED" {
			bad("%s.joinedMethod %q: want INVITED or CREATED", p, a.JoinedMethod)
		}
		if a.Joined.IsZero() {
			bad("%s.joined: missing", p)
		}
		for j, r := range a.Roles {
			if !reName().MatchString(r) {
				bad("%s.roles[%d] %q: not a role name", p, j, r)
			}
		}
		s.validateRoot(a, p+".root", keys, bad)
		validateBuckets(a, p, buckets, bad)
		validateQueues(a, p, bad)
	}
	mgmt := accounts[org.ManagementAccount]
	if mgmt == nil {
		bad("organization.managementAccount %q: not among the accounts", org.ManagementAccount)
	}
	for i, f := range org.Features {
		if f != FeatureRootCredentialsManagement && f != FeatureRootSessions {
			bad("organization.features[%d] %q: want %s or %s", i, f, FeatureRootCredentialsManagement, FeatureRootSessions)
		}
	}
	switch org.FeatureSet {
	case "", "ALL":
	case "CONSOLIDATED_BILLING":
		if len(org.Features) > 0 {
			bad("organization.features: centralized root access needs featureSet ALL")
		}
	default:
		bad("organization.featureSet %q: want ALL or CONSOLIDATED_BILLING", org.FeatureSet)
	}
	if len(org.Features) > 0 && !slices.Contains(org.TrustedAccess, iamServicePrincipal) {
		bad("organization.features: centralized root access needs trustedAccess for %s", iamServicePrincipal)
	}
	for i, sp := range org.TrustedAccess {
		if !strings.HasSuffix(sp, ".amazonaws.com") {
			bad("organization.trustedAccess[%d] %q: not a service principal", i, sp)
		}
	}
	for i, d := range org.DelegatedAdministrators {
		p := fmt.Sprintf("organization.delegatedAdministrators[%d]", i)
		switch {
		case accounts[d.Account] == nil:
			bad("%s.account %q: not among the accounts", p, d.Account)
		case d.Account == org.ManagementAccount:
			bad("%s.account %q: the management account cannot be a delegated administrator", p, d.Account)
		}
		if !strings.HasSuffix(d.ServicePrincipal, ".amazonaws.com") {
			bad("%s.servicePrincipal %q: not a service principal", p, d.ServicePrincipal)
		}
	}
	policies := map[string]bool{}
	for i, pol := range s.Policies {
		p := fmt.Sprintf("policies[%d]", i)
		if !rePolicyID().MatchString(pol.ID) || pol.ID == fullAWSAccessID {
			bad("%s.id %q: want p- and 8 to 128 letters, digits or underscores (not p-FullAWSAccess)", p, pol.ID)
		}
		if policies[pol.ID] {
			bad("%s.id %q: duplicate policy", p, pol.ID)
		}
		policies[pol.ID] = true
		if pol.Name == "" {
			bad("%s.name: empty", p)
		}
		if _, err := parsePolicy(pol.Content); err != nil {
			bad("%s.content: %v", p, err)
		}
		for j, t := range pol.Targets {
			if !targets[t] {
				bad("%s.targets[%d] %q: no such root, OU or account", p, j, t)
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Scenario) validateRoot(a *Account, p string, keys map[string]string, bad func(string, ...any)) {
	r := a.Root
	if len(r.AccessKeys) > 2 {
		bad("%s.accessKeys: %d keys, AWS allows 2", p, len(r.AccessKeys))
	}
	for i, k := range r.AccessKeys {
		kp := fmt.Sprintf("%s.accessKeys[%d]", p, i)
		if !reKeyID().MatchString(k.ID) {
			bad("%s.id %q: want AKIA and 16 upper-case letters or digits", kp, k.ID)
		}
		if other, ok := keys[k.ID]; ok {
			bad("%s.id %q: duplicate of %s", kp, k.ID, other)
		}
		keys[k.ID] = kp
		if k.Status != "Active" && k.Status != "Inactive" {
			bad("%s.status %q: want Active or Inactive", kp, k.Status)
		}
		if k.Created.IsZero() {
			bad("%s.created: missing", kp)
		}
		if k.LastUsed.IsZero() && (k.LastUsedService != "" || k.LastUsedRegion != "") {
			bad("%s: lastUsedService or lastUsedRegion without lastUsed", kp)
		}
	}
	if len(r.SigningCertificates) > 2 {
		bad("%s.signingCertificates: %d certificates, AWS allows 2", p, len(r.SigningCertificates))
	}
	certs := map[string]bool{}
	for i, c := range r.SigningCertificates {
		cp := fmt.Sprintf("%s.signingCertificates[%d]", p, i)
		if !reCertID().MatchString(c.ID) {
			bad("%s.id %q: want 24 to 128 upper-case letters or digits", cp, c.ID)
		}
		if certs[c.ID] {
			bad("%s.id %q: duplicate", cp, c.ID)
		}
		certs[c.ID] = true
		if c.Status != "Active" && c.Status != "Inactive" {
			bad("%s.status %q: want Active or Inactive", cp, c.Status)
		}
	}
	if len(r.MFA) > 8 {
		bad("%s.mfa: %d devices, AWS allows 8", p, len(r.MFA))
	}
	serials := map[string]bool{}
	for i, m := range r.MFA {
		mp := fmt.Sprintf("%s.mfa[%d]", p, i)
		if serials[m.Serial] {
			bad("%s.serial %q: duplicate", mp, m.Serial)
		}
		serials[m.Serial] = true
		switch m.Kind {
		case MFAVirtual:
			prefix := "arn:aws:iam::" + a.ID + ":mfa/"
			if !strings.HasPrefix(m.Serial, prefix) || len(m.Serial) == len(prefix) {
				bad("%s.serial %q: a virtual device's serial is %s<name>", mp, m.Serial, prefix)
			}
		case MFAPasskey:
			prefix := "arn:aws:iam::" + a.ID + ":u2f/"
			if !strings.HasPrefix(m.Serial, prefix) || len(m.Serial) == len(prefix) {
				bad("%s.serial %q: a passkey's serial is %sroot-user/<id>", mp, m.Serial, prefix)
			}
		case MFAHardware:
			if strings.HasPrefix(m.Serial, "arn:") || !reHardware().MatchString(m.Serial) {
				bad("%s.serial %q: a hardware device's serial is the vendor's (e.g. GAHT12345678)", mp, m.Serial)
			}
		default:
			bad("%s.kind %q: want virtual, hardware or passkey", mp, m.Kind)
		}
		if m.EnableDate.IsZero() {
			bad("%s.enableDate: missing", mp)
		}
	}
	if !r.Password.LastUsed.IsZero() && !r.Password.Present {
		bad("%s.password: lastUsed without present: true", p)
	}
}

// clone returns a deep copy.
func (s *Scenario) clone() *Scenario {
	c := *s
	c.Regions = slices.Clone(s.Regions)
	c.Organization.Features = slices.Clone(s.Organization.Features)
	c.Organization.TrustedAccess = slices.Clone(s.Organization.TrustedAccess)
	c.Organization.DelegatedAdministrators = slices.Clone(s.Organization.DelegatedAdministrators)
	c.Organization.OUs = cloneOUs(s.Organization.OUs)
	c.Accounts = make([]Account, len(s.Accounts))
	for i, a := range s.Accounts {
		a.Roles = slices.Clone(a.Roles)
		a.Root.MFA = slices.Clone(a.Root.MFA)
		a.Root.AccessKeys = slices.Clone(a.Root.AccessKeys)
		a.Root.SigningCertificates = slices.Clone(a.Root.SigningCertificates)
		a.Buckets = slices.Clone(a.Buckets)
		a.Queues = slices.Clone(a.Queues)
		c.Accounts[i] = a
	}
	c.Policies = make([]Policy, len(s.Policies))
	for i, p := range s.Policies {
		p.Targets = slices.Clone(p.Targets)
		c.Policies[i] = p
	}
	return &c
}

func cloneOUs(ous []OU) []OU {
	if ous == nil {
		return nil
	}
	c := make([]OU, len(ous))
	for i, ou := range ous {
		ou.OUs = cloneOUs(ou.OUs)
		c[i] = ou
	}
	return c
}
