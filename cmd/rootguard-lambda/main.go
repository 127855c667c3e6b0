// Command rootguard-lambda is rootguard's AWS Lambda function, one binary
// with four handlers chosen by the event:
//
//   - the real-time pipeline: EventBridge delivers root-user activity
//     (CloudTrail events, GuardDuty findings) and a scheduled
//     {"rootguard":"flush"}; internal/alert turns them into SNS alerts.
//     Configuration from the environment (alert.ConfigFromEnv).
//   - the scheduled audit: EventBridge Scheduler sends
//     {"rootguard":"audit"}; internal/monitor audits the organization with
//     the CLI's code, keeps the run in S3, pages regressions and keeps
//     Security Hub current. Configuration from the environment
//     (monitor.ConfigFromEnv).
//   - new accounts: with ACCOUNT_EVENTS=true the function handles the
//     events that create, move or bring in an account (Organizations,
//     Control Tower); internal/newaccount audits the account, decides its
//     mode from rootguard.yaml and, for a strict OU with enforce: true,
//     deletes its root credentials. Configuration from the environment
//     (newaccount.ConfigFromEnv).
//   - the weekly digest: a second schedule sends {"rootguard":"digest"}
//     to the audit function; internal/monitor reads the week's runs from
//     the history and publishes one message on the state and its trend.
//
// One binary, so one build and one code object serve all three functions; the
// deployment runs the audit as a second function from the same code (its
// own role, 15-minute timeout and memory), so a long audit never delays an
// alert, and new accounts as a third (the only role that may delete root
// credentials).
// AWS access comes from the SDK's standard configuration.
//
// Build for Lambda's provided.al2023 runtime on Graviton:
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap ./cmd/rootguard-lambda
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/monitor"
	"github.com/rootguard/rootguard/internal/newaccount"
)

func main() {
	logger := lambdacontext.NewLogger()
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		logger.Error("rootguard-lambda: init: load AWS configuration", "err", err)
		os.Exit(1)
	}
	h, err := newHandler(os.Getenv, awsCfg, logger)
	if err != nil {
		logger.Error("rootguard-lambda: init", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// newHandler configures the handlers the environment sets up: new
// accounts when ACCOUNT_EVENTS is true, the audit when HISTORY is set,
// the alerts otherwise when TABLE_NAME is (or HISTORY is not).
// S3_USE_PATH_STYLE=true addresses the history and configuration buckets
// by path, for S3-compatible servers.
func newHandler(getenv func(string) string, awsCfg aws.Config, logger *slog.Logger) (func(context.Context, json.RawMessage) (any, error), error) {
	var accounts *newaccount.Config
	if getenv("ACCOUNT_EVENTS") == "true" {
		cfg, err := newaccount.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		accounts = &cfg
	}
	var alerts *alert.Handler
	if accounts == nil && (getenv("TABLE_NAME") != "" || getenv("HISTORY") == "") {
		cfg, err := alert.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		alerts = alert.NewFromAWS(cfg, awsCfg, logger)
	}
	var audit *monitor.Config
	if getenv("HISTORY") != "" {
		cfg, err := monitor.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		audit = &cfg
	}
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = getenv("S3_USE_PATH_STYLE") == "true" })
	snsc := sns.NewFromConfig(awsCfg)
	deps := monitor.Deps{AWS: awsCfg, S3: s3c, SNS: snsc, SecurityHub: securityhub.NewFromConfig(awsCfg), Logger: logger}
	var dbc *dynamodb.Client
	if accounts != nil {
		dbc = dynamodb.NewFromConfig(awsCfg)
	}
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		if accounts != nil {
			if !newaccount.IsAccountEvent(payload) {
				return nil, fmt.Errorf("rootguard-lambda: not an account lifecycle event, and this function (ACCOUNT_EVENTS=true) handles only those")
			}
			d := newaccount.Deps{AWS: awsCfg, DB: dbc, S3: s3c, SNS: snsc, Logger: logger}
			if lc, ok := lambdacontext.FromContext(ctx); ok {
				d.Owner = lc.AwsRequestID
			}
			return newaccount.Handle(ctx, *accounts, d, payload)
		}
		if monitor.IsDigestEvent(payload) {
			if audit == nil {
				return nil, fmt.Errorf("rootguard-lambda: a digest event, and HISTORY is not set: this function does not run the scheduled audit")
			}
			return monitor.Digest(ctx, *audit, deps, time.Now())
		}
		if monitor.IsAuditEvent(payload) {
			if audit == nil {
				return nil, fmt.Errorf("rootguard-lambda: an audit event, and HISTORY is not set: this function does not run the scheduled audit")
			}
			return monitor.Run(ctx, *audit, deps)
		}
		if alerts == nil {
			return nil, fmt.Errorf("rootguard-lambda: an alert event, and TABLE_NAME is not set: this function runs only the scheduled audit")
		}
		return alerts.Handle(ctx, payload)
	}, nil
}
