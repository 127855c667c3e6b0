package rootsession

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/rootguard/rootguard/internal/awssim"
)

func TestCredentialsNeverPrintSecrets(t *testing.T) {
	c, err := NewCredentials(&ststypes.Credentials{AccessKeyId: aws.String("ASIAEXAMPLE"), SecretAccessKey: aws.String("very-secret"), SessionToken: aws.String("token-value")})
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "credentials", c, "session", &Session{Account: "111111111111", Task: Audit, Credentials: c})
	for _, s := range []string{c.String(), c.GoString(), c.LogValue().String(), logged.String()} {
		if strings.Contains(s, "very-secret") || strings.Contains(s, "token-value") {
			t.Errorf("secret printed: %s", s)
		}
		if !strings.Contains(s, "ASIAEXAMPLE") {
			t.Errorf("access key id missing: %s", s)
		}
	}
}

func TestTasks(t *testing.T) {
	for _, task := range Tasks() {
		got, ok := TaskOf(task.ARN())
		if !ok || got != task {
			t.Errorf("TaskOf(%s) = %s, %v", task.ARN(), got, ok)
		}
	}
	if _, ok := TaskOf(ARNPrefix + "IAMEverything"); ok {
		t.Error("an unknown task policy was taken for a root-task policy")
	}
}

func TestNewRefusesTheGlobalEndpoint(t *testing.T) {
	for _, region := range []string{"", "aws-global"} {
		if _, err := New(aws.Config{Region: region}, Options{}); err != ErrGlobalEndpoint {
			t.Errorf("region %q: err = %v, want ErrGlobalEndpoint", region, err)
		}
	}
	o, err := New(aws.Config{Region: "aws-global"}, Options{Region: "eu-west-1"})
	if err != nil || o.Region() != "eu-west-1" {
		t.Errorf("--region eu-west-1 over aws-global: %v, %v", o, err)
	}
}

// TestOpen opens a session through the real STS client against awssim and
// acts with it as the member's root user.
func TestOpen(t *testing.T) {
	sc, err := awssim.LoadScenario(filepath.Join("..", "awssim", "testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	srv := awssim.New(sc, awssim.Options{})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	akid, secret := srv.ManagementCredentials()
	cfg := aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")}
	o, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := o.Open(t.Context(), "333333333333", Audit)
	if err != nil {
		t.Fatal(err)
	}
	if s.RequestID == "" || s.Account != "333333333333" || s.Task != Audit || s.Expires.IsZero() || s.Config().Region != "eu-west-1" {
		t.Errorf("session = %+v", s)
	}
	keys, err := iam.NewFromConfig(s.Config()).ListAccessKeys(t.Context(), &iam.ListAccessKeysInput{})
	if err != nil || len(keys.AccessKeyMetadata) != 2 {
		t.Fatalf("list access keys as root of 333333333333: %v, %v", keys, err)
	}
	_, err = o.Open(t.Context(), "111111111111", Audit)
	var oe *Error
	if !errors.As(err, &oe) || oe.Account != "111111111111" || oe.RequestID == "" {
		t.Errorf("AssumeRoot into the management account: %v", err)
	}
}
