package remediate

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestAnalyzePolicy(t *testing.T) {
	const bucket = "arn:aws:s3:::prod-locked"
	const queue = "arn:aws:sqs:us-east-1:333333333333:orders"
	stmt := func(s string) string { return `{"Version":"2012-10-17","Statement":[` + s + `]}` }
	for _, tt := range []struct {
		name, service, arn, doc string
		locked                  bool
		statements              []string
		why                     string
	}{
		// Hits.
		{"s3:* to *", ServiceS3, bucket, stmt(`{"Sid":"DenyAll","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::prod-locked","arn:aws:s3:::prod-locked/*"]}`),
			true, []string{"DenyAll"}, `"DenyAll" denies s3:* to every principal, without a condition: s3:PutBucketPolicy and s3:DeleteBucketPolicy refused`},
		{"* to AWS *", ServiceS3, bucket, stmt(`{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"*","Resource":"arn:aws:s3:::prod-locked"}`),
			true, []string{"statement 0"}, `"statement 0" denies *`},
		{"AWS list holding *, a single statement object, upper case", ServiceS3, bucket,
			`{"Statement":{"Effect":"Deny","Principal":{"AWS":["arn:aws:iam::1:root","*"]},"Action":["S3:GetObject","S3:*"],"Resource":"arn:aws:s3:::*"}}`,
			true, []string{"statement 0"}, ""},
		{"empty condition", ServiceS3, bucket, stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{}}`), true, nil, ""},
		{"NotAction that spares only reads", ServiceS3, bucket, stmt(`{"Effect":"Deny","Principal":"*","NotAction":"s3:GetObject","Resource":"arn:aws:s3:::prod-locked"}`),
			true, nil, "everything but s3:GetObject"},
		{"two statements together", ServiceS3, bucket, stmt(`{"Sid":"A","Effect":"Deny","Principal":"*","Action":"s3:PutBucketPolicy","Resource":"arn:aws:s3:::prod-locked"},` +
			`{"Sid":"B","Effect":"Deny","Principal":"*","Action":"s3:Delete*","Resource":"arn:aws:s3:::prod-locked"}`), true, []string{"A", "B"}, ""},
		{"NotResource elsewhere", ServiceS3, bucket, stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","NotResource":"arn:aws:s3:::other"}`), true, nil, ""},
		{"sqs:* to *", ServiceSQS, queue, stmt(`{"Effect":"Deny","Principal":"*","Action":"SQS:*","Resource":"arn:aws:sqs:us-east-1:333333333333:orders"}`),
			true, nil, "sqs:SetQueueAttributes refused"},
		{"sqs: SetQueueAttributes alone is enough", ServiceSQS, queue, stmt(`{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"sqs:SetQueueAttributes","Resource":"*"}`), true, nil, ""},

		// Misses.
		{"a named principal", ServiceS3, bucket, stmt(`{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::333333333333:role/App"},"Action":"s3:*","Resource":"arn:aws:s3:::prod-locked"}`), false, nil, ""},
		{"a service principal", ServiceS3, bucket, stmt(`{"Effect":"Deny","Principal":{"Service":"*"},"Action":"s3:*","Resource":"arn:aws:s3:::prod-locked"}`), false, nil, ""},
		{"NotPrincipal spares an admin", ServiceS3, bucket, stmt(`{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::333333333333:role/Admin"},"Action":"s3:*","Resource":"arn:aws:s3:::prod-locked"}`), false, nil, ""},
		{"TLS-only condition", ServiceS3, bucket, stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::prod-locked","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`), false, nil, ""},
		{"everyone but a role (condition)", ServiceS3, bucket, stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::prod-locked","Condition":{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::333333333333:role/Admin"}}}`), false, nil, ""},
		{"objects only", ServiceS3, bucket, stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::prod-locked/*"}`), false, nil, ""},
		{"reads only", ServiceS3, bucket, stmt(`{"Effect":"Deny","Principal":"*","Action":["s3:GetObject","s3:GetBucketPolicy"],"Resource":"arn:aws:s3:::prod-locked"}`), false, nil, ""},
		{"delete denied but put allowed", ServiceS3, bucket, stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:DeleteBucketPolicy","Resource":"arn:aws:s3:::prod-locked"}`), false, nil, ""},
		{"allow everything to everyone", ServiceS3, bucket, stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::prod-locked"}`), false, nil, ""},
		{"another bucket", ServiceS3, bucket, stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::prod-locked-2"}`), false, nil, ""},
		{"sqs: sending only", ServiceSQS, queue, stmt(`{"Effect":"Deny","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:333333333333:orders"}`), false, nil, ""},
		{"s3:* does not lock a queue", ServiceSQS, queue, stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}`), false, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AnalyzePolicy(tt.service, tt.arn, tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			if got.Locked != tt.locked {
				t.Fatalf("locked = %v (%s), want %v", got.Locked, got.Why, tt.locked)
			}
			if tt.statements != nil && !slices.Equal(got.Statements, tt.statements) {
				t.Errorf("statements = %v, want %v", got.Statements, tt.statements)
			}
			if tt.locked && (!strings.Contains(got.Why, tt.why) || !strings.Contains(got.Why, "only the root user")) {
				t.Errorf("why = %q, want %q", got.Why, tt.why)
			}
			if !tt.locked && (got.Why != "" || len(got.Statements) > 0) {
				t.Errorf("a miss explains itself: %+v", got)
			}
		})
	}
	for _, bad := range []string{`not json`, `{"Statement": 3}`, `{}`} {
		if _, err := AnalyzePolicy(ServiceS3, bucket, bad); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
	if _, err := AnalyzePolicy("sns", bucket, stmt(`{}`)); err == nil {
		t.Error("unknown service accepted")
	}
}

func FuzzAnalyzePolicy(f *testing.F) {
	f.Add(`{"Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}}`)
	f.Add(`{"Statement":[{"Effect":"Deny","Principal":{"AWS":["*"]},"NotAction":"s3:Get*","NotResource":"x"}]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		l, err := AnalyzePolicy(ServiceS3, "arn:aws:s3:::b", doc)
		if err == nil && l.Locked != (l.Why != "") {
			t.Errorf("locked %v with why %q", l.Locked, l.Why)
		}
	})
}
