package sandbox

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/rootguard/rootguard/internal/testenv"
)

// TestSNS: goaws answers the SDK's SNS client with topics of the account
// given, and a second server in the same process is refused.
func TestSNS(t *testing.T) {
	s, err := StartSNS("111111111111", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.WithoutCancel(t.Context()))
	if _, err := StartSNS("111111111111", "us-east-1"); !errors.Is(err, ErrSNSRunning) {
		t.Errorf("second SNS server: %v, want ErrSNSRunning", err)
	}
	c := sns.NewFromConfig(testenv.Config(s.URL))
	out, err := c.CreateTopic(t.Context(), &sns.CreateTopicInput{Name: aws.String("alerts")})
	if err != nil || aws.ToString(out.TopicArn) != "arn:aws:sns:us-east-1:111111111111:alerts" {
		t.Fatalf("CreateTopic: %v, %v", aws.ToString(out.TopicArn), err)
	}
	if _, err := c.Publish(t.Context(), &sns.PublishInput{TopicArn: out.TopicArn, Message: aws.String("x")}); err != nil {
		t.Errorf("Publish: %v", err)
	}
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
