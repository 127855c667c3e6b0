package awssim

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

var iamOps = map[string]handler{
	"GetAccountSummary":                            getAccountSummary,
	"GetLoginProfile":                              getLoginProfile,
	"CreateLoginProfile":                           createLoginProfile,
	"DeleteLoginProfile":                           deleteLoginProfile,
	"GetUser":                                      getUser,
	"ListAccessKeys":                               listAccessKeys,
	"GetAccessKeyLastUsed":                         getAccessKeyLastUsed,
	"DeleteAccessKey":                              deleteAccessKey,
	"ListMFADevices":                               listMFADevices,
	"ListVirtualMFADevices":                        listVirtualMFADevices,
	"DeactivateMFADevice":                          deactivateMFADevice,
	"DeleteVirtualMFADevice":                       deleteVirtualMFADevice,
	"ListSigningCertificates":                      listSigningCertificates,
	"DeleteSigningCertificate":                     deleteSigningCertificate,
	"GenerateCredentialReport":                     generateCredentialReport,
	"GetCredentialReport":                          getCredentialReport,
	"ListOrganizationsFeatures":                    listOrganizationsFeatures,
	"EnableOrganizationsRootCredentialsManagement": enableRootCredentialsManagement,
	"EnableOrganizationsRootSessions":              enableRootSessions,
}

// subject is the identity an IAM operation acts on: the root user or an
// IAM user.
type subject struct {
	account *Account
	user    *iamUser // nil for the root user
	creds   *Root
}

// name is the user name as IAM writes it: empty for the root user.
func (sub *subject) name() string {
	if sub.user == nil {
		return ""
	}
	return sub.user.name
}

// label names the subject in error messages.
func (sub *subject) label() string {
	if sub.user == nil {
		return "root"
	}
	return sub.user.name
}

// subject resolves the optional UserName parameter: without it, the caller
// (the root user for AssumeRoot sessions; role sessions must name a user).
func (c *call) subject() (*subject, *apiError) {
	s := c.s
	acct := s.accounts[c.p.account]
	name := c.param("UserName")
	if name == "" {
		switch c.p.kind {
		case kindRoot:
			return &subject{account: acct, creds: &acct.Root}, nil
		case kindUser:
			return &subject{account: acct, user: s.admin, creds: &s.admin.creds}, nil
		}
		return nil, validationError("Must specify userName when calling with non-User credentials")
	}
	if acct.ID == s.admin.account && name == s.admin.name {
		return &subject{account: acct, user: s.admin, creds: &s.admin.creds}, nil
	}
	return nil, noSuchEntity("The user with name %s cannot be found.", name)
}

// page applies IAM's Marker and MaxItems (default 100) to a list of n
// items.
func (c *call) page(n int) (start, end int, truncated bool, marker string, e *apiError) {
	limit, set, e := c.intParam("MaxItems", "maxItems")
	if e != nil {
		return 0, 0, false, "", e
	}
	if !set {
		limit = 100
	}
	if limit < 1 || limit > 1000 {
		return 0, 0, false, "", validationError("%s", constraintError(limit, "maxItems", "Member must have value between 1 and 1000"))
	}
	if m := c.param("Marker"); m != "" {
		start = decodeToken(c.op, m)
		if start < 0 || start > n {
			return 0, 0, false, "", validationError("Invalid Marker %s", m)
		}
	}
	end = min(n, start+limit)
	if end < n {
		return start, end, true, encodeToken(c.op, end), nil
	}
	return start, end, false, "", nil
}

func encodeToken(op string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(op + ":" + strconv.Itoa(offset)))
}

// decodeToken returns the offset in a token from encodeToken for op, or -1.
func decodeToken(op, token string) int {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return -1
	}
	rest, ok := strings.CutPrefix(string(b), op+":")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

type summaryEntry struct {
	Key   string `xml:"key"`
	Value int    `xml:"value"`
}

type getAccountSummaryResult struct {
	SummaryMap struct {
		Entry []summaryEntry `xml:"entry"`
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func getAccountSummary(c *call) (any, *apiError) {
	s := c.s
	a := s.accounts[c.p.account]
	users, inUse := 0, len(a.Root.MFA)
	if a.ID == s.admin.account {
		users = 1
		inUse += len(s.admin.creds.MFA)
	}
	r := a.Root
	entries := []summaryEntry{
		{"Users", users}, {"UsersQuota", 5000},
		{"Groups", 0}, {"GroupsQuota", 300},
		{"ServerCertificates", 0}, {"ServerCertificatesQuota", 20},
		{"UserPolicySizeQuota", 2048}, {"GroupPolicySizeQuota", 5120},
		{"GroupsPerUserQuota", 10}, {"SigningCertificatesPerUserQuota", 2},
		{"AccessKeysPerUserQuota", 2},
		{"MFADevices", inUse + len(s.spare[a.ID])}, {"MFADevicesInUse", inUse},
		{"AccountMFAEnabled", b2i(len(r.MFA) > 0)},
		{"AccountAccessKeysPresent", b2i(len(r.AccessKeys) > 0)},
		{"AccountPasswordPresent", b2i(r.Password.Present)},
		{"AccountSigningCertificatesPresent", b2i(len(r.SigningCertificates) > 0)},
		{"AttachedPoliciesPerGroupQuota", 10}, {"AttachedPoliciesPerRoleQuota", 10},
		{"AttachedPoliciesPerUserQuota", 10},
		{"Policies", 0}, {"PoliciesQuota", 1500}, {"PolicySizeQuota", 6144},
		{"PolicyVersionsInUse", len(a.Roles) + users}, {"PolicyVersionsInUseQuota", 10000},
		{"VersionsPerPolicyQuota", 5}, {"GlobalEndpointTokenVersion", 1},
		{"Roles", len(a.Roles)}, {"RolesQuota", 1000}, {"RolePolicySizeQuota", 10240},
		{"InstanceProfiles", 0}, {"InstanceProfilesQuota", 1000},
		{"Providers", 0}, {"AssumeRolePolicySizeQuota", 2048},
	}
	var out getAccountSummaryResult
	out.SummaryMap.Entry = entries
	return out, nil
}

type loginProfileXML struct {
	UserName              string `xml:"UserName,omitempty"`
	CreateDate            xmlTime
	PasswordResetRequired bool
}

type loginProfileResult struct {
	LoginProfile loginProfileXML
}

func getLoginProfile(c *call) (any, *apiError) {
	sub, e := c.subject()
	if e != nil {
		return nil, e
	}
	pw := sub.creds.Password
	if !pw.Present {
		return nil, noSuchEntity("Login Profile for User %s cannot be found.", sub.label())
	}
	return loginProfileResult{LoginProfile: loginProfileXML{UserName: sub.name(), CreateDate: xmlTime(pw.Created)}}, nil
}

// createLoginProfile: with an AssumeRoot session (IAMCreateRootUserPassword)
// it gives the root user a login profile without a password, so that the
// root user can recover one; the Password parameter must then be omitted.
func createLoginProfile(c *call) (any, *apiError) {
	sub, e := c.subject()
	if e != nil {
		return nil, e
	}
	password := c.param("Password")
	switch {
	case sub.user == nil && password != "":
		return nil, validationError("Password must be omitted when the request is made with an AssumeRoot session.")
	case sub.user != nil && password == "":
		return nil, validationError("Password is required.")
	}
	if sub.creds.Password.Present {
		return nil, errf(http.StatusConflict, "EntityAlreadyExists", "Login Profile for user %s already exists.", sub.label())
	}
	reset := strings.EqualFold(c.param("PasswordResetRequired"), "true")
	sub.creds.Password = Password{Present: true, Created: c.now}
	return loginProfileResult{LoginProfile: loginProfileXML{UserName: sub.name(), CreateDate: xmlTime(c.now), PasswordResetRequired: reset}}, nil
}

func deleteLoginProfile(c *call) (any, *apiError) {
	sub, e := c.subject()
	if e != nil {
		return nil, e
	}
	if !sub.creds.Password.Present {
		return nil, noSuchEntity("Login Profile for User %s cannot be found.", sub.label())
	}
	sub.creds.Password = Password{LastUsed: sub.creds.Password.LastUsed}
	return nil, nil
}

type userXML struct {
	Path             string `xml:"Path,omitempty"`
	UserName         string `xml:"UserName,omitempty"`
	UserId           string
	Arn              string
	CreateDate       xmlTime
	PasswordLastUsed *xmlTime `xml:"PasswordLastUsed,omitempty"`
}

type getUserResult struct {
	User userXML
}

// getUser: for the root user AWS gives no Path or UserName, the account id
// as UserId and arn:aws:iam::<account>:root.
func getUser(c *call) (any, *apiError) {
	sub, e := c.subject()
	if e != nil {
		return nil, e
	}
	var u userXML
	if sub.user == nil {
		u = userXML{UserId: sub.account.ID, Arn: "arn:aws:iam::" + sub.account.ID + ":root", CreateDate: xmlTime(sub.account.Created)}
	} else {
		u = userXML{Path: "/", UserName: sub.user.name, UserId: sub.user.id, Arn: sub.user.arn(), CreateDate: xmlTime(sub.user.created)}
	}
	u.PasswordLastUsed = xtime(sub.creds.Password.LastUsed)
	return getUserResult{User: u}, nil
}

type accessKeyXML struct {
	UserName    string `xml:"UserName,omitempty"`
	AccessKeyId string
	Status      string
	CreateDate  xmlTime
}

type listAccessKeysResult struct {
	AccessKeyMetadata xmlList[accessKeyXML]
	IsTruncated       bool
	Marker            string `xml:"Marker,omitempty"`
}

func listAccessKeys(c *call) (any, *apiError) {
	sub, e := c.subject()
	if e != nil {
		return nil, e
	}
	keys := sub.creds.AccessKeys
	start, end, more, marker, e := c.page(len(keys))
	if e != nil {
		return nil, e
	}
	out := listAccessKeysResult{IsTruncated: more, Marker: marker}
	out.AccessKeyMetadata.Member = []accessKeyXML{}
	for _, k := range keys[start:end] {
		out.AccessKeyMetadata.Member = append(out.AccessKeyMetadata.Member,
			accessKeyXML{UserName: sub.name(), AccessKeyId: k.ID, Status: k.Status, CreateDate: xmlTime(k.Created)})
	}
	return out, nil
}

type getAccessKeyLastUsedResult struct {
	UserName          string `xml:"UserName,omitempty"`
	AccessKeyLastUsed struct {
		LastUsedDate *xmlTime `xml:"LastUsedDate,omitempty"`
		ServiceName  string
		Region       string
	}
}

// getAccessKeyLastUsed finds a key of the caller's account. A key that
// was never used has no LastUsedDate and N/A as service and region.
func getAccessKeyLastUsed(c *call) (any, *apiError) {
	s := c.s
	id := c.param("AccessKeyId")
	a := s.accounts[c.p.account]
	owners := []*subject{{account: a, creds: &a.Root}}
	if a.ID == s.admin.account {
		owners = append(owners, &subject{account: a, user: s.admin, creds: &s.admin.creds})
	}
	for _, sub := range owners {
		for _, k := range sub.creds.AccessKeys {
			if k.ID != id {
				continue
			}
			var out getAccessKeyLastUsedResult
			out.UserName = sub.name()
			out.AccessKeyLastUsed.ServiceName = "N/A"
			out.AccessKeyLastUsed.Region = "N/A"
			if !k.LastUsed.IsZero() {
				out.AccessKeyLastUsed.LastUsedDate = xtime(k.LastUsed)
				out.AccessKeyLastUsed.ServiceName = k.LastUsedService
				out.AccessKeyLastUsed.Region = k.LastUsedRegion
			}
			return out, nil
		}
	}
	return nil, accessDenied("User: %s is not authorized to perform: iam:GetAccessKeyLastUsed on resource: access key %s", c.p.arn(), id)
}

func deleteAccessKey(c *call) (any, *apiError) {
	sub, e := c.subject()
	if e != nil {
		return nil, e
	}
	id := c.param("AccessKeyId")
	i := slices.IndexFunc(sub.creds.AccessKeys, func(k AccessKey) bool { return k.ID == id })
	if i < 0 {
		return nil, noSuchEntity("The Access Key with id %s cannot be found.", id)
	}
	sub.creds.AccessKeys = slices.Delete(sub.creds.AccessKeys, i, i+1)
	return nil, nil
}

type mfaDeviceXML struct {
	UserName     string `xml:"UserName,omitempty"`
	SerialNumber string
	EnableDate   xmlTime
}

type listMFADevicesResult struct {
	MFADevices  xmlList[mfaDeviceXML]
	IsTruncated bool
	Marker      string `xml:"Marker,omitempty"`
}

func listMFADevices(c *call) (any, *apiError) {
	sub, e := c.subject()
	if e != nil {
		return nil, e
	}
	devs := sub.creds.MFA
	start, end, more, marker, e := c.page(len(devs))
	if e != nil {
		return nil, e
	}
	out := listMFADevicesResult{IsTruncated: more, Marker: marker}
	out.MFADevices.Member = []mfaDeviceXML{}
	for _, d := range devs[start:end] {
		out.MFADevices.Member = append(out.MFADevices.Member,
			mfaDeviceXML{UserName: sub.name(), SerialNumber: d.Serial, EnableDate: xmlTime(d.EnableDate)})
	}
	return out, nil
}

// deactivateMFADevice removes a device from its user; a virtual device
// stays in the account, unassigned, until DeleteVirtualMFADevice.
func deactivateMFADevice(c *call) (any, *apiError) {
	sub, e := c.subject()
	if e != nil {
		return nil, e
	}
	serial := c.param("SerialNumber")
	i := slices.IndexFunc(sub.creds.MFA, func(d MFADevice) bool { return d.Serial == serial })
	if i < 0 {
		return nil, noSuchEntity("MFA Device with serial number %s does not exist.", serial)
	}
	d := sub.creds.MFA[i]
	sub.creds.MFA = slices.Delete(sub.creds.MFA, i, i+1)
	if d.Kind == MFAVirtual {
		c.s.spare[sub.account.ID] = append(c.s.spare[sub.account.ID], d)
	}
	return nil, nil
}

func deleteVirtualMFADevice(c *call) (any, *apiError) {
	s := c.s
	serial := c.param("SerialNumber")
	acct := c.p.account
	assigned := slices.ContainsFunc(s.accounts[acct].Root.MFA, func(d MFADevice) bool { return d.Serial == serial })
	if acct == s.admin.account {
		assigned = assigned || slices.ContainsFunc(s.admin.creds.MFA, func(d MFADevice) bool { return d.Serial == serial })
	}
	if assigned {
		return nil, errf(http.StatusConflict, "DeleteConflict", "MFA Device is still in use.")
	}
	spare := s.spare[acct]
	i := slices.IndexFunc(spare, func(d MFADevice) bool { return d.Serial == serial })
	if i < 0 {
		return nil, noSuchEntity("VirtualMFADevice with serial number %s doesn't exist.", serial)
	}
	s.spare[acct] = slices.Delete(spare, i, i+1)
	return nil, nil
}

type certificateXML struct {
	UserName        string `xml:"UserName,omitempty"`
	CertificateId   string
	CertificateBody string
	Status          string
	UploadDate      xmlTime
}

type listSigningCertificatesResult struct {
	Certificates xmlList[certificateXML]
	IsTruncated  bool
	Marker       string `xml:"Marker,omitempty"`
}

func listSigningCertificates(c *call) (any, *apiError) {
	sub, e := c.subject()
	if e != nil {
		return nil, e
	}
	certs := sub.creds.SigningCertificates
	start, end, more, marker, e := c.page(len(certs))
	if e != nil {
		return nil, e
	}
	out := listSigningCertificatesResult{IsTruncated: more, Marker: marker}
	out.Certificates.Member = []certificateXML{}
	for _, cert := range certs[start:end] {
		uploaded := cert.Uploaded
		if uploaded.IsZero() {
			uploaded = sub.account.Created
		}
		out.Certificates.Member = append(out.Certificates.Member, certificateXML{
			UserName: sub.name(), CertificateId: cert.ID, CertificateBody: certificateBody(cert.ID),
			Status: cert.Status, UploadDate: xmlTime(uploaded),
		})
	}
	return out, nil
}

// certificateBody is a stand-in PEM body (not a parseable certificate).
func certificateBody(id string) string {
	body := base64.StdEncoding.EncodeToString([]byte("awssim signing certificate " + id + " " + stableID(40, "cert", id)))
	return "-----BEGIN CERTIFICATE-----\n" + body + "\n-----END CERTIFICATE-----\n"
}

func deleteSigningCertificate(c *call) (any, *apiError) {
	sub, e := c.subject()
	if e != nil {
		return nil, e
	}
	id := c.param("CertificateId")
	i := slices.IndexFunc(sub.creds.SigningCertificates, func(cert SigningCertificate) bool { return cert.ID == id })
	if i < 0 {
		return nil, noSuchEntity("The Certificate with id %s cannot be found.", id)
	}
	sub.creds.SigningCertificates = slices.Delete(sub.creds.SigningCertificates, i, i+1)
	return nil, nil
}

type organizationsFeaturesResult struct {
	OrganizationId  string
	EnabledFeatures xmlList[string]
}

// rootAccessCheck applies the preconditions of the centralized root access
// operations of IAM; managementOnly says whether only the management account
// may call (the Enable operations) or its IAM delegated administrator too.
func (c *call) rootAccessCheck(managementOnly bool) *apiError {
	s := c.s
	org := s.sc.Organization
	if org.ID == "" {
		return errf(http.StatusBadRequest, "OrganizationNotFoundException", "The request was rejected because no organization is associated with your account.")
	}
	if c.p.account != org.ManagementAccount {
		if managementOnly {
			return errf(http.StatusBadRequest, "CallerIsNotManagementAccountException", "The request was rejected because the account making the request is not the management account for the organization.")
		}
		if !s.delegatedAdmin(c.p.account, iamServicePrincipal) {
			return errf(http.StatusBadRequest, "AccountNotManagementOrDelegatedAdministratorException", "The request was rejected because the account making the request is not the management account or delegated administrator account for centralized root access.")
		}
	}
	if org.featureSet() != "ALL" {
		// IAM API Reference, EnableOrganizationsRootCredentialsManagement
		// and the other centralized root access operations; status from
		// the SDK model's httpError.
		return errf(http.StatusBadRequest, "OrganizationNotInAllFeaturesModeException", "The request was rejected because your organization does not have All features enabled.")
	}
	if !slices.Contains(org.TrustedAccess, iamServicePrincipal) {
		return errf(http.StatusBadRequest, "ServiceAccessNotEnabledException", "The request was rejected because trusted access is not enabled for IAM in AWS Organizations.")
	}
	return nil
}

func (c *call) featuresResult() organizationsFeaturesResult {
	org := c.s.sc.Organization
	out := organizationsFeaturesResult{OrganizationId: org.ID}
	out.EnabledFeatures.Member = []string{}
	for _, f := range []string{FeatureRootCredentialsManagement, FeatureRootSessions} {
		if slices.Contains(org.Features, f) {
			out.EnabledFeatures.Member = append(out.EnabledFeatures.Member, f)
		}
	}
	return out
}

func listOrganizationsFeatures(c *call) (any, *apiError) {
	if e := c.rootAccessCheck(false); e != nil {
		return nil, e
	}
	return c.featuresResult(), nil
}

func enableFeature(c *call, feature string) (any, *apiError) {
	if e := c.rootAccessCheck(true); e != nil {
		return nil, e
	}
	org := &c.s.sc.Organization
	if !slices.Contains(org.Features, feature) {
		org.Features = append(org.Features, feature)
	}
	return c.featuresResult(), nil
}

func enableRootCredentialsManagement(c *call) (any, *apiError) {
	return enableFeature(c, FeatureRootCredentialsManagement)
}

func enableRootSessions(c *call) (any, *apiError) {
	return enableFeature(c, FeatureRootSessions)
}
