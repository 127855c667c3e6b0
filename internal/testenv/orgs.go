package testenv

import (
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/rootguard/rootguard/internal/awssim"
)

// Organizations is internal/awssim serving a scenario on 127.0.0.1.
type Organizations struct {
	// URL is the endpoint (AWS_ENDPOINT_URL_ORGANIZATIONS).
	URL string
	// Config is an SDK configuration signed with the management
	// account's credentials.
	Config aws.Config
	// AccessKeyID and SecretAccessKey are those credentials.
	AccessKeyID, SecretAccessKey string
	Server                       *awssim.Server
}

// StartOrganizations serves sc, or internal/awssim/testdata/scenario.yaml
// when sc is nil.
func StartOrganizations(t testing.TB, sc *awssim.Scenario, opts awssim.Options) *Organizations {
	t.Helper()
	if sc == nil {
		var err error
		sc, err = awssim.LoadScenario(filepath.Join(ModuleRoot(t), "internal", "awssim", "testdata", "scenario.yaml"))
		if err != nil {
			t.Fatal(err)
		}
	}
	srv := awssim.New(sc, opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	akid, secret := srv.ManagementCredentials()
	return &Organizations{
		URL: hs.URL,
		Config: aws.Config{
			Region:       Region,
			Credentials:  credentials.NewStaticCredentialsProvider(akid, secret, ""),
			BaseEndpoint: aws.String(hs.URL),
		},
		AccessKeyID: akid, SecretAccessKey: secret, Server: srv,
	}
}
