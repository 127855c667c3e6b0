package awssim

// S3, in the REST-XML protocol with path-style addressing
// (http://HOST/BUCKET?policy: give the SDK client UsePathStyle with the
// server's URL): the calls an S3UnlockBucketPolicy root session may make,
// and the bucket versioning read.
//
//	s3: ListBuckets, GetBucketPolicy, PutBucketPolicy, DeleteBucketPolicy,
//	    GetBucketVersioning
//
// Buckets belong to the scenario's accounts ([Account.Buckets]); their
// names are unique across the scenario, as in S3's global namespace. Only
// principals of the bucket's own account reach a bucket (another
// account's bucket is AccessDenied: no cross-account grants are
// modelled). Every bucket call must be signed for the bucket's region, as
// S3's regional endpoints require: otherwise it is answered
// AuthorizationHeaderMalformed naming the expected region (and
// x-amz-bucket-region). ListBuckets answers from any region with the
// caller's buckets in name order; with any parameter (max-buckets,
// continuation-token, prefix, bucket-region) it pages (10,000 by default)
// and gives each bucket's BucketRegion, as S3 does.
//
// Who may do what: root sessions only what their task policy allows
// (S3UnlockBucketPolicy: s3:GetBucketPolicy, s3:PutBucketPolicy,
// s3:DeleteBucketPolicy and s3:ListAllMyBuckets; no root-task policy
// allows s3:GetBucketVersioning), then the SCPs, then the bucket policy
// (see s3_policy.go): a policy that denies every principal locks out
// every role and user of the account, but not the root user's policy
// calls.

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	svcS3       = "s3"
	s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"
	// defaultRegion is where buckets and queues are when the scenario
	// does not say.
	defaultRegion = "us-east-1"
	// maxBucketPolicy is S3's limit on a bucket policy's size.
	maxBucketPolicy = 20 * 1024
)

// S3Bucket is a general purpose S3 bucket of an account.
type S3Bucket struct {
	// Name is 3 to 63 lower-case letters, digits, dots and hyphens,
	// unique across the scenario.
	Name string `yaml:"name"`
	// Region is the bucket's region (us-east-1 when empty).
	Region string `yaml:"region,omitempty"`
	// Created is the bucket's creation date (the account's created time
	// when zero).
	Created time.Time `yaml:"created,omitempty"`
	// Policy is the bucket policy, a JSON document (empty: none). Every
	// statement needs a Principal, and its resources must be the bucket
	// (arn:aws:s3:::NAME) or its objects (arn:aws:s3:::NAME/...).
	Policy string `yaml:"policy,omitempty"`
	// Versioning is empty (never enabled), Enabled or Suspended.
	Versioning string `yaml:"versioning,omitempty"`
	// MFADelete is empty (never configured), Enabled or Disabled. Setting
	// it needs Versioning.
	MFADelete string `yaml:"mfaDelete,omitempty"`
}

var (
	reBucketName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`) })
	reRegion     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`) })
)

// applyBucketDefaults fills in a bucket's region and creation date.
func (a *Account) applyBucketDefaults() {
	for i := range a.Buckets {
		b := &a.Buckets[i]
		if b.Region == "" {
			b.Region = defaultRegion
		}
		if b.Created.IsZero() {
			b.Created = a.Created
		}
	}
}

// validateBuckets checks an account's buckets; names maps bucket names
// already seen to where.
func validateBuckets(a *Account, p string, names map[string]string, bad func(string, ...any)) {
	for i, b := range a.Buckets {
		bp := fmt.Sprintf("%s.buckets[%d]", p, i)
		if !reBucketName().MatchString(b.Name) || strings.Contains(b.Name, "..") {
			bad("%s.name %q: want 3 to 63 lower-case letters, digits, dots and hyphens", bp, b.Name)
		}
		if other, ok := names[b.Name]; ok {
			bad("%s.name %q: duplicate of %s (bucket names are global)", bp, b.Name, other)
		}
		names[b.Name] = bp
		if b.Region != "" && !reRegion().MatchString(b.Region) {
			bad("%s.region %q: not a region", bp, b.Region)
		}
		if b.Policy != "" {
			if e := checkBucketPolicy(b.Name, b.Policy); e != nil {
				bad("%s.policy: %s", bp, e.msg)
			}
		}
		if !slices.Contains([]string{"", "Enabled", "Suspended"}, b.Versioning) {
			bad("%s.versioning %q: want Enabled or Suspended (or nothing)", bp, b.Versioning)
		}
		switch {
		case !slices.Contains([]string{"", "Enabled", "Disabled"}, b.MFADelete):
			bad("%s.mfaDelete %q: want Enabled or Disabled (or nothing)", bp, b.MFADelete)
		case b.MFADelete != "" && b.Versioning == "":
			bad("%s.mfaDelete: MFA Delete is configured with versioning: set versioning", bp)
		}
	}
}

// checkBucketPolicy validates a bucket policy as PutBucketPolicy does.
func checkBucketPolicy(bucket, content string) *apiError {
	malformed := func(format string, args ...any) *apiError {
		return errf(http.StatusBadRequest, "MalformedPolicy", format, args...)
	}
	if len(content) > maxBucketPolicy {
		return malformed("Policy exceeds the maximum allowed document size.")
	}
	rp, err := parseResourcePolicy(content)
	if err != nil {
		return malformed("%s", strings.ToUpper(err.Error()[:1])+err.Error()[1:])
	}
	arn := "arn:aws:s3:::" + bucket
	for _, r := range rp.resources() {
		if r != arn && !strings.HasPrefix(r, arn+"/") {
			return malformed("Policy has invalid resource")
		}
	}
	return nil
}

var s3Ops = map[string]handler{
	"ListBuckets":         s3ListBuckets,
	"GetBucketPolicy":     s3GetBucketPolicy,
	"PutBucketPolicy":     s3PutBucketPolicy,
	"DeleteBucketPolicy":  s3DeleteBucketPolicy,
	"GetBucketVersioning": s3GetBucketVersioning,
	"ListObjectsV2":       s3ListObjectsV2, // cloudtrail_bucket.go
	"GetObject":           s3GetObject,
}

// s3Route names the operation of a path-style request and gathers its
// parameters: the query string, and Bucket from the path.
func s3Route(r *http.Request) (string, url.Values) {
	form := r.URL.Query()
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if bucket == "" {
		if r.Method == http.MethodGet {
			return "ListBuckets", form
		}
		return r.Method + " /", form
	}
	form.Set("Bucket", bucket)
	if key != "" {
		if r.Method == http.MethodGet {
			form.Set("Key", key)
			return "GetObject", form
		}
		return r.Method + " object", form
	}
	switch {
	case form.Has("policy"):
		switch r.Method {
		case http.MethodGet:
			return "GetBucketPolicy", form
		case http.MethodPut:
			return "PutBucketPolicy", form
		case http.MethodDelete:
			return "DeleteBucketPolicy", form
		}
	case form.Has("versioning") && r.Method == http.MethodGet:
		return "GetBucketVersioning", form
	case form.Get("list-type") == "2" && r.Method == http.MethodGet:
		return "ListObjectsV2", form
	}
	return r.Method + " bucket", form
}

// iamAction is the IAM action that authorizes a call: its service and
// operation, except where S3 names them differently.
func (c *call) iamAction() string {
	if c.svc == svcS3 {
		switch c.op {
		case "ListBuckets":
			return "s3:ListAllMyBuckets"
		case "GET object":
			return "s3:GetObject"
		case "PUT object":
			return "s3:PutObject"
		case "DELETE object":
			return "s3:DeleteObject"
		}
	}
	if c.svc == svcS3 && c.op == "ListObjectsV2" {
		return "s3:ListBucket"
	}
	return c.svc + ":" + c.op
}

// findBucket returns a bucket and its account, or nils.
func (s *Server) findBucket(name string) (*Account, *S3Bucket) {
	if name == "" {
		return nil, nil
	}
	for j := range s.sc.Accounts {
		a := &s.sc.Accounts[j]
		for i := range a.Buckets {
			if a.Buckets[i].Name == name {
				return a, &a.Buckets[i]
			}
		}
	}
	return nil, nil
}

// bucket returns the bucket a call names, checking that it exists and that
// the request was signed for its region.
func (c *call) bucket() (*S3Bucket, *apiError) {
	name := c.param("Bucket")
	_, b := c.s.findBucket(name)
	if b == nil {
		e := errf(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		e.fields = map[string]string{"BucketName": name}
		return nil, e
	}
	if c.region != b.Region {
		e := errf(http.StatusBadRequest, "AuthorizationHeaderMalformed", "The authorization header is malformed; the region '%s' is wrong; expecting '%s'", c.region, b.Region)
		e.fields = map[string]string{"Region": b.Region}
		return nil, e
	}
	return b, nil
}

type s3Owner struct {
	ID string
}

type s3BucketEntry struct {
	Name         string
	CreationDate xmlTime
	BucketRegion string `xml:",omitempty"`
}

type s3ListBucketsResult struct {
	XMLName           xml.Name `xml:"ListAllMyBucketsResult"`
	Xmlns             string   `xml:"xmlns,attr"`
	Owner             s3Owner
	Buckets           []s3BucketEntry `xml:"Buckets>Bucket"`
	ContinuationToken string          `xml:",omitempty"`
	Prefix            string          `xml:",omitempty"`
}

// canonicalUserID is an account's S3 canonical user id (64 hex digits).
func canonicalUserID(account string) string {
	sum := sha256.Sum256([]byte("canonical-user/" + account))
	return hex.EncodeToString(sum[:])
}

// s3ListBuckets lists the caller's buckets.
func s3ListBuckets(c *call) (any, *apiError) {
	q := c.form
	paged := q.Has("max-buckets") || q.Has("continuation-token") || q.Has("prefix") || q.Has("bucket-region")
	size := 10000
	if v := q.Get("max-buckets"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return nil, errf(http.StatusBadRequest, "InvalidArgument", "Argument max-buckets must be an integer between 1 and 10000.")
		}
		size = n
	}
	after := ""
	if t := q.Get("continuation-token"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil {
			return nil, errf(http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect")
		}
		after = string(b)
	}
	prefix, region := q.Get("prefix"), q.Get("bucket-region")
	var all []S3Bucket
	for _, b := range c.s.accounts[c.p.account].Buckets {
		if strings.HasPrefix(b.Name, prefix) && (region == "" || b.Region == region) && b.Name > after {
			all = append(all, b)
		}
	}
	slices.SortFunc(all, func(x, y S3Bucket) int { return strings.Compare(x.Name, y.Name) })
	out := s3ListBucketsResult{Xmlns: s3Namespace, Owner: s3Owner{ID: canonicalUserID(c.p.account)}, Buckets: []s3BucketEntry{}, Prefix: prefix}
	if paged && len(all) > size {
		all = all[:size]
		out.ContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(all[size-1].Name))
	}
	for _, b := range all {
		e := s3BucketEntry{Name: b.Name, CreationDate: xmlTime(b.Created)}
		if paged {
			e.BucketRegion = b.Region
		}
		out.Buckets = append(out.Buckets, e)
	}
	return xmlResponse(out)
}

func s3GetBucketPolicy(c *call) (any, *apiError) {
	b, e := c.bucket()
	if e != nil {
		return nil, e
	}
	if b.Policy == "" {
		e := errf(http.StatusNotFound, "NoSuchBucketPolicy", "The bucket policy does not exist")
		e.fields = map[string]string{"BucketName": b.Name}
		return nil, e
	}
	return &restResponse{status: http.StatusOK, contentType: "application/json", body: []byte(b.Policy)}, nil
}

func s3PutBucketPolicy(c *call) (any, *apiError) {
	b, e := c.bucket()
	if e != nil {
		return nil, e
	}
	if e := checkBucketPolicy(b.Name, string(c.body)); e != nil {
		return nil, e
	}
	b.Policy = string(c.body)
	return &restResponse{status: http.StatusNoContent}, nil
}

func s3DeleteBucketPolicy(c *call) (any, *apiError) {
	b, e := c.bucket()
	if e != nil {
		return nil, e
	}
	b.Policy = ""
	return &restResponse{status: http.StatusNoContent}, nil
}

type s3VersioningConfiguration struct {
	XMLName   xml.Name `xml:"VersioningConfiguration"`
	Xmlns     string   `xml:"xmlns,attr"`
	Status    string   `xml:",omitempty"`
	MfaDelete string   `xml:",omitempty"`
}

func s3GetBucketVersioning(c *call) (any, *apiError) {
	b, e := c.bucket()
	if e != nil {
		return nil, e
	}
	return xmlResponse(s3VersioningConfiguration{Xmlns: s3Namespace, Status: b.Versioning, MfaDelete: b.MFADelete})
}

// restResponse is the answer of a REST operation: a status and a body
// written as it is.
type restResponse struct {
	status      int
	contentType string
	body        []byte
}

func xmlResponse(v any) (any, *apiError) {
	b, err := xml.Marshal(v)
	if err != nil {
		return nil, errf(http.StatusInternalServerError, "InternalError", "awssim: encode: %v", err)
	}
	return &restResponse{status: http.StatusOK, contentType: "application/xml", body: append([]byte(xml.Header), b...)}, nil
}

// writeS3 writes an S3 answer with S3's request id headers.
func writeS3(w http.ResponseWriter, result any) {
	rr, _ := result.(*restResponse)
	if rr == nil {
		rr = &restResponse{status: http.StatusOK}
	}
	s3RequestHeaders(w)
	if rr.contentType != "" {
		w.Header().Set("Content-Type", rr.contentType)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(rr.body)))
	w.WriteHeader(rr.status)
	_, _ = w.Write(rr.body)
}

func s3RequestHeaders(w http.ResponseWriter) {
	id := w.Header().Get("x-amzn-RequestId")
	w.Header().Set("x-amz-request-id", id)
	sum := sha256.Sum256([]byte("host/" + id))
	w.Header().Set("x-amz-id-2", base64.StdEncoding.EncodeToString(sum[:]))
}

// s3ErrorCodes renames the codes the server's shared code uses to S3's.
var s3ErrorCodes = map[string]struct {
	code   string
	status int
}{
	"InvalidClientTokenId":       {"InvalidAccessKeyId", http.StatusForbidden},
	"MissingAuthenticationToken": {"AccessDenied", http.StatusForbidden},
	"Throttling":                 {"SlowDown", http.StatusServiceUnavailable},
	"InternalFailure":            {"InternalError", http.StatusInternalServerError},
	"InvalidAction":              {"NotImplemented", http.StatusNotImplemented},
	"MalformedInput":             {"IncompleteBody", http.StatusBadRequest},
}

// writeS3Error writes S3's <Error> document.
func writeS3Error(w http.ResponseWriter, e *apiError) {
	code, status := e.code, e.status
	if m, ok := s3ErrorCodes[code]; ok {
		code, status = m.code, m.status
	}
	s3RequestHeaders(w)
	var buf strings.Builder
	buf.WriteString(xml.Header + "<Error>")
	elem := func(name, v string) {
		buf.WriteString("<" + name + ">")
		_ = xml.EscapeText(&buf, []byte(v))
		buf.WriteString("</" + name + ">")
	}
	elem("Code", code)
	elem("Message", e.msg)
	names := make([]string, 0, len(e.fields))
	for k := range e.fields {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		elem(k, e.fields[k])
	}
	elem("RequestId", w.Header().Get("x-amz-request-id"))
	elem("HostId", w.Header().Get("x-amz-id-2"))
	buf.WriteString("</Error>")
	if r := e.fields["Region"]; r != "" {
		w.Header().Set("x-amz-bucket-region", r)
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}
