package awssim

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"sync"
)

// IAMFaults serves a [Server] and injects IAM answers that [Options]
// cannot produce, for tests of code that changes root credentials:
//
//   - EntityTemporarilyUnmodifiable (HTTP 409), which IAM gives for an
//     entity changed moments before, for the next n calls of an
//     operation in an account ([IAMFaults.Unmodifiable]);
//   - a credential whose deletion is acknowledged but never happens, so
//     that only verifying afterwards can tell ([IAMFaults.Sticky]);
//   - an outage of one operation, answered InternalFailure (HTTP 500)
//     until lifted, to exhaust a client's retries ([IAMFaults.Outage]).
//
// Injected answers are counted in [Server.Counts] like any other. They
// are given before authorization: a test injects them only where the
// caller would be allowed. Everything else goes to the Server unchanged.
type IAMFaults struct {
	s *Server

	mu           sync.Mutex
	unmodifiable map[[2]string]int // {account, operation} -> answers left
	sticky       map[string]bool   // credential ids
	outage       map[string]bool   // operations
}

// NewIAMFaults returns a handler that serves s with no fault injected.
func NewIAMFaults(s *Server) *IAMFaults {
	return &IAMFaults{s: s, unmodifiable: map[[2]string]int{}, sticky: map[string]bool{}, outage: map[string]bool{}}
}

// Unmodifiable makes the next n calls of the IAM operation op (for example
// "DeleteLoginProfile") made by principals in account answer
// EntityTemporarilyUnmodifiable.
func (f *IAMFaults) Unmodifiable(account, op string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unmodifiable[[2]string{account, op}] = n
}

// Sticky makes every deletion of the credential with this id (an access
// key id, a signing certificate id, or an MFA serial for
// DeactivateMFADevice and DeleteVirtualMFADevice) answer success and
// change nothing.
func (f *IAMFaults) Sticky(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sticky[id] = true
}

// Outage makes every call of the IAM operation op answer InternalFailure
// while on is true.
func (f *IAMFaults) Outage(op string, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.outage[op] = on
}

// deleteParams names, per deleting operation, the parameter that holds
// the credential's id.
var deleteParams = map[string]string{
	"DeleteAccessKey":          "AccessKeyId",
	"DeleteSigningCertificate": "CertificateId",
	"DeactivateMFADevice":      "SerialNumber",
	"DeleteVirtualMFADevice":   "SerialNumber",
}

// ServeHTTP answers injected faults and passes everything else to the
// Server.
func (f *IAMFaults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	akid, svc, ok := parseAuthorization(r.Header.Get("Authorization"))
	if !ok || svc != svcIAM {
		f.s.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "awssim: read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, err := url.ParseQuery(string(body))
	if err != nil {
		f.s.ServeHTTP(w, r)
		return
	}
	op := form.Get("Action")
	account := f.s.accountOf(akid)

	var inject *apiError
	acknowledge := false
	f.mu.Lock()
	key := [2]string{account, op}
	switch {
	case f.outage[op]:
		inject = errf(http.StatusInternalServerError, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.")
	case f.unmodifiable[key] > 0:
		f.unmodifiable[key]--
		inject = errf(http.StatusConflict, "EntityTemporarilyUnmodifiable", "The request was rejected because it referenced an entity that is temporarily unmodifiable, such as a user name that was deleted and then recreated. Retry the request later.")
	case deleteParams[op] != "" && f.sticky[form.Get(deleteParams[op])]:
		acknowledge = true
	}
	f.mu.Unlock()
	if inject == nil && !acknowledge {
		f.s.ServeHTTP(w, r)
		return
	}
	f.s.countMu.Lock()
	f.s.counts[svcIAM+":"+op]++
	f.s.countMu.Unlock()
	reqID := newRequestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	if inject != nil {
		writeQueryError(w, svcIAM, reqID, inject)
		return
	}
	writeQuery(w, svcIAM, op, reqID, nil)
}

// accountOf returns the account of the principal behind an access key,
// or "" when the key is unknown.
func (s *Server) accountOf(akid string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.admin.creds.AccessKeys {
		if k.ID == akid {
			return s.admin.account
		}
	}
	if p := s.sessions[akid]; p != nil {
		return p.account
	}
	return ""
}
