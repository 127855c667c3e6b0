package audit

import (
	"strings"
	"testing"
)

// FuzzParseCredentialReport: the credential report is CSV from IAM,
// decoded from base64 the API returns. Whatever its bytes, parsing does
// not panic, and a root user it reads has only credentials it saw: at most
// two access keys and two certificates, each with a status.
func FuzzParseCredentialReport(f *testing.F) {
	f.Add([]byte(reportHeader + "<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,2026-11-01T10:00:00+00:00,not_supported,not_supported,true,true,2025-01-01T00:00:00+00:00,2026-11-20T00:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"))
	f.Add([]byte(reportHeader + "<root_account>,arn,x,true,no_information,N/A,N/A,false,false,N/A,N/A,N/A,N/A,true,bad-time,not-a-time,N/A,N/A,true,N/A,true,N/A\n"))
	f.Add([]byte(reportHeader + "alice,arn:aws:iam::1:user/alice\n"))
	f.Add([]byte("user,mfa_active,access_key_1_active,password_last_used\n<root_account>\n"))
	f.Add([]byte("\"unterminated\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseCredentialReport(b)
		if err != nil {
			if r != nil {
				t.Fatalf("a root and an error: %v", err)
			}
			return
		}
		if r == nil {
			t.Fatal("no root and no error")
		}
		if !strings.Contains(string(b), "<root_account>") {
			t.Fatalf("a root read from a report without <root_account>: %+v", r)
		}
		if len(r.AccessKeys) > 2 || len(r.SigningCertificates) > 2 {
			t.Fatalf("more credentials than the report has columns for: %+v", r)
		}
		for _, k := range r.AccessKeys {
			if k.Status == "" {
				t.Fatalf("access key without a status: %+v", r)
			}
		}
	})
}
