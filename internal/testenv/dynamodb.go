package testenv

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// DynamoDB is a dynalite server on 127.0.0.1, empty and in memory.
type DynamoDB struct {
	// URL is the endpoint (AWS_ENDPOINT_URL_DYNAMODB).
	URL string
	// Config is an SDK configuration for it: region, static test
	// credentials and the endpoint.
	Config aws.Config
	// Client is a DynamoDB client of Config.
	Client *dynamodb.Client
}

// StartDynamoDB starts dynalite from tools/node_modules for the test. It
// skips the test (or fails it in CI) when Node.js or dynalite is not
// installed.
func StartDynamoDB(t testing.TB) *DynamoDB {
	t.Helper()
	bin := filepath.Join(ModuleRoot(t), "tools", "node_modules", ".bin", "dynalite")
	if _, err := os.Stat(bin); err != nil {
		Missing(t, "dynalite is not installed: run `npm ci --prefix tools` (%v)", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		Missing(t, "node is not on PATH: dynalite needs Node.js")
	}
	for attempt := 0; ; attempt++ {
		port := FreePort(t)
		cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
		_, err := start(t, "dynalite", cmd, port, 20*time.Second)
		if errors.Is(err, errExited) && attempt < 2 {
			continue // the port was taken in the meantime
		}
		if err != nil {
			t.Fatalf("testenv: start dynalite: %v", err)
		}
		url := "http://127.0.0.1:" + strconv.Itoa(port)
		cfg := Config(url)
		return &DynamoDB{URL: url, Config: cfg, Client: dynamodb.NewFromConfig(cfg)}
	}
}

// Config is an SDK configuration for a local server at url: the region,
// static test credentials and the endpoint.
func Config(url string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIATESTENV000000000", "testenv-secret", ""),
		BaseEndpoint: aws.String(url),
	}
}
