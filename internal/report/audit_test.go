package report

import (
	"bytes"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/awssim"
)

// exampleAudit audits the simulator's example organization at a fixed time.
func exampleAudit(t *testing.T) *audit.Report {
	t.Helper()
	sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	srv := awssim.New(sc, awssim.Options{ReportDelay: time.Millisecond})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	akid, secret := srv.ManagementCredentials()
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")}
	now := time.Date(2025, 11, 29, 0, 0, 0, 0, time.UTC)
	rep, err := audit.Run(t.Context(), cfg, audit.Options{Workers: 2, Now: func() time.Time { return now }, ReportPoll: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// requestIDs vary from run to run; golden files hold a placeholder.
var requestIDs = regexp.MustCompile(`RequestID: [0-9a-f-]{36}`)

func TestAuditGolden(t *testing.T) {
	rep := exampleAudit(t)
	render := map[string]func(*bytes.Buffer) error{
		"audit.table": func(b *bytes.Buffer) error { return Audit(b, rep, Options{Format: Table, Pretty: true}) },
		"audit.tsv":   func(b *bytes.Buffer) error { return Audit(b, rep, Options{Format: Table}) },
		"audit.jsonl": func(b *bytes.Buffer) error { return Audit(b, rep, Options{Format: JSON}) },
		"audit.csv":   func(b *bytes.Buffer) error { return Audit(b, rep, Options{Format: CSV}) },
		"audit.asff.json": func(b *bytes.Buffer) error {
			return WriteASFF(b, ASFF(rep, "us-east-1"))
		},
		"audit-summary.txt": func(b *bytes.Buffer) error { AuditSummary(b, rep); return nil },
		"changes.table": func(b *bytes.Buffer) error {
			prev := exampleAudit(t)
			prev.Accounts = prev.Accounts[1:] // an account joined since
			return Changes(b, audit.Diff(prev, rep), Options{Format: Table, Pretty: true})
		},
	}
	for name, fn := range render {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := fn(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, name, requestIDs.ReplaceAll(b.Bytes(), []byte("RequestID: <id>")))
		})
	}
}

func TestASFF(t *testing.T) {
	rep := exampleAudit(t)
	fs := ASFF(rep, "ap-northeast-1")
	want := len(rep.OrgControls)
	for _, a := range rep.Accounts {
		want += len(a.Controls)
	}
	if len(fs) != want {
		t.Fatalf("%d findings for %d outcomes", len(fs), want)
	}
	seen := map[string]bool{}
	for _, f := range fs {
		if seen[f.ID] {
			t.Errorf("duplicate finding id %s", f.ID)
		}
		seen[f.ID] = true
		if f.SchemaVersion != "2018-10-08" || f.ProductArn != "arn:aws:securityhub:ap-northeast-1:111111111111:product/111111111111/default" ||
			len(f.Resources) != 1 || f.Resources[0].Type != "AwsAccount" {
			t.Errorf("finding %s = %+v", f.ID, f)
		}
		if (f.Compliance.Status == "FAILED") != (f.Workflow.Status == "NEW") {
			t.Errorf("finding %s: compliance %s with workflow %s", f.ID, f.Compliance.Status, f.Workflow.Status)
		}
	}
	if !seen["rootguard/333333333333/IAM.4"] {
		t.Error("no IAM.4 finding for the account with root access keys")
	}
}
