package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/rootguard/rootguard/internal/testenv"
)

// TestSNS: rootguard-sns, found as the sandbox finds it (built with go
// tool in this checkout), serves the SDK's SNS client with topics of the
// account given, and is gone after Close.
func TestSNS(t *testing.T) {
	bin, err := FindSNSServer(t.Context(), "", ".")
	if err != nil {
		t.Fatal(err)
	}
	s, err := StartSNS(t.Context(), bin, "111111111111", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	c := sns.NewFromConfig(testenv.Config(s.URL))
	out, err := c.CreateTopic(t.Context(), &sns.CreateTopicInput{Name: aws.String("alerts")})
	if err != nil || aws.ToString(out.TopicArn) != "arn:aws:sns:us-east-1:111111111111:alerts" {
		t.Fatalf("CreateTopic: %v, %v", aws.ToString(out.TopicArn), err)
	}
	if _, err := c.Publish(t.Context(), &sns.PublishInput{TopicArn: out.TopicArn, Message: aws.String("x")}); err != nil {
		t.Errorf("Publish: %v", err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Error(err)
	}
	port, _ := strconv.Atoi(strings.TrimPrefix(s.URL, "http://127.0.0.1:"))
	if s.cmd.ProcessState == nil || listening(port) {
		t.Error("rootguard-sns still runs after Close")
	}
}

// TestFindSNSServer: the rootguard-sns beside the running binary comes
// first; outside a rootguard checkout, with none on PATH, the error is
// ErrNoSNSServer; a program that does not print its URL is refused.
func TestFindSNSServer(t *testing.T) {
	dir := t.TempDir()
	beside := filepath.Join(dir, SNSServerName)
	if err := os.WriteFile(beside, []byte("#!/bin/sh\necho not a URL\nsleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := FindSNSServer(t.Context(), filepath.Join(dir, "rootguard"), dir)
	if err != nil || got != beside {
		t.Errorf("beside rootguard: %q, %v; want %q", got, err, beside)
	}
	if _, err := StartSNS(t.Context(), beside, "111111111111", "us-east-1"); err == nil || !strings.Contains(err.Error(), "not a URL") {
		t.Errorf("a server that prints no URL: %v", err)
	}
	if _, err := StartSNS(t.Context(), filepath.Join(dir, "missing"), "111111111111", "us-east-1"); err == nil {
		t.Error("a missing rootguard-sns started")
	}

	t.Setenv("PATH", filepath.Dir(goBinary(t)))
	outside := t.TempDir()
	if _, err := FindSNSServer(t.Context(), filepath.Join(outside, "rootguard"), outside); !errors.Is(err, ErrNoSNSServer) {
		t.Errorf("outside a checkout: %v, want ErrNoSNSServer", err)
	}
}

func goBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err) // go test runs with go on PATH
	}
	return p
}

// TestFindDynalite: dynalite is found in a parent directory; without it
// the error is ErrNoDynalite.
func TestFindDynalite(t *testing.T) {
	if _, err := FindDynalite(t.TempDir()); !errors.Is(err, ErrNoDynalite) {
		t.Errorf("empty directory: %v, want ErrNoDynalite", err)
	}
	root := testenv.ModuleRoot(t)
	bin, err := FindDynalite(filepath.Join(root, "internal", "sandbox"))
	if err != nil {
		testenv.Missing(t, "%v: run `npm ci --prefix tools`", err)
	}
	if bin != filepath.Join(root, DynaliteRel) {
		t.Errorf("found %s", bin)
	}
}

// TestDynamoDB: dynalite starts, answers the SDK's client, and is gone
// after Close.
func TestDynamoDB(t *testing.T) {
	bin, err := FindDynalite(".")
	if err != nil {
		testenv.Missing(t, "%v: run `npm ci --prefix tools`", err)
	}
	d, err := StartDynamoDB(t.Context(), bin)
	if err != nil {
		t.Fatal(err)
	}
	c := dynamodb.NewFromConfig(testenv.Config(d.URL))
	if _, err := c.ListTables(t.Context(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("ListTables: %v", err)
	}
	d.Close()
	port, _ := strconv.Atoi(strings.TrimPrefix(d.URL, "http://127.0.0.1:"))
	if d.cmd.ProcessState == nil || listening(port) {
		t.Error("dynalite still runs after Close")
	}
	if _, err := StartDynamoDB(t.Context(), filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing dynalite started")
	}
}
