package awssim

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Services, as named in the SigV4 credential scope.
const (
	svcSTS  = "sts"
	svcIAM  = "iam"
	svcOrgs = "organizations"
	// svcSecurityHub speaks restJson1; only finding import is simulated.
	svcSecurityHub = "securityhub"
)

// Query-protocol API versions and XML namespaces.
var (
	queryVersion = map[string]string{svcSTS: "2011-06-15", svcIAM: "2010-05-08", svcCFN: "2010-05-15"}
	queryNS      = map[string]string{
		svcSTS: "https://sts.amazonaws.com/doc/2011-06-15/",
		svcIAM: "https://iam.amazonaws.com/doc/2010-05-08/",
		svcCFN: "http://cloudformation.amazonaws.com/doc/2010-05-15/",
	}
)

const orgsTargetPrefix = "AWSOrganizationsV20161128."

// apiError is an error answer in any protocol.
type apiError struct {
	status int
	code   string
	msg    string
	// reason is InvalidInputException.Reason (Organizations).
	reason string
	// fields are further elements of an S3 <Error> (BucketName, Region).
	fields map[string]string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// Query-protocol errors shared by STS and IAM.
func accessDenied(format string, args ...any) *apiError {
	return errf(http.StatusForbidden, "AccessDenied", format, args...)
}

func validationError(format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, "ValidationError", format, args...)
}

func noSuchEntity(format string, args ...any) *apiError {
	return errf(http.StatusNotFound, "NoSuchEntity", format, args...)
}

// constraintError is AWS's message for a parameter outside its range.
func constraintError(value any, param, constraint string) string {
	return fmt.Sprintf("1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, param, constraint)
}

// xmlTime is an XML timestamp in AWS's ISO 8601 form.
type xmlTime time.Time

func (t xmlTime) MarshalText() ([]byte, error) {
	return []byte(time.Time(t).UTC().Format("2006-01-02T15:04:05Z")), nil
}

func xtime(t time.Time) *xmlTime {
	if t.IsZero() {
		return nil
	}
	x := xmlTime(t)
	return &x
}

// xmlList is a wrapped XML list: <Name><member>...</member></Name>. It is
// written even when empty, as AWS does.
type xmlList[T any] struct {
	Member []T `xml:"member"`
}

// writeQuery writes a query-protocol success response. A nil result
// writes no <OpResult> element, as AWS does for operations without output.
func writeQuery(w http.ResponseWriter, svc, op, reqID string, result any) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `<%sResponse xmlns="%s">`, op, queryNS[svc])
	if result != nil {
		enc := xml.NewEncoder(&buf)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: op + "Result"}}); err != nil {
			writeQueryError(w, svc, reqID, errf(http.StatusInternalServerError, "InternalFailure", "awssim: encode %s: %v", op, err))
			return
		}
		if err := enc.Flush(); err != nil {
			writeQueryError(w, svc, reqID, errf(http.StatusInternalServerError, "InternalFailure", "awssim: encode %s: %v", op, err))
			return
		}
	}
	fmt.Fprintf(&buf, `<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, reqID, op)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// writeQueryError writes <ErrorResponse> with Type Sender (4xx) or
// Receiver (5xx).
func writeQueryError(w http.ResponseWriter, svc, reqID string, e *apiError) {
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	ns := queryNS[svc]
	if ns == "" {
		ns = queryNS[svcSTS]
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>`, ns, typ)
	_ = xml.EscapeText(&buf, []byte(e.code))
	buf.WriteString(`</Code><Message>`)
	_ = xml.EscapeText(&buf, []byte(e.msg))
	fmt.Fprintf(&buf, `</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, reqID)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(e.status)
	_, _ = w.Write(buf.Bytes())
}

// epochTime is a JSON timestamp in epoch seconds, the awsJson default.
type epochTime time.Time

func (t epochTime) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)), nil
}

func etime(t time.Time) *epochTime {
	if t.IsZero() {
		return nil
	}
	e := epochTime(t)
	return &e
}

func writeJSON(w http.ResponseWriter, result any) {
	b := []byte("{}")
	if result != nil {
		var err error
		if b, err = json.Marshal(result); err != nil {
			writeJSONError(w, errf(http.StatusInternalServerError, "ServiceException", "awssim: encode: %v", err))
			return
		}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// writeJSONError writes {"__type": code, "Message": msg} (Organizations'
// error members are capitalised in its model) and X-Amzn-ErrorType.
func writeJSONError(w http.ResponseWriter, e *apiError) {
	body := map[string]string{"__type": e.code, "Message": e.msg}
	if e.reason != "" {
		body["Reason"] = e.reason
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}
