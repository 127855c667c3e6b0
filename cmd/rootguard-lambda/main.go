// Command rootguard-lambda is the real-time pipeline's AWS Lambda function:
// EventBridge delivers root-user activity (CloudTrail events, GuardDuty
// findings) and a scheduled {"rootguard":"flush"}; internal/alert turns
// them into SNS alerts. Configuration comes from the environment (see
// alert.ConfigFromEnv), AWS access from the SDK's standard configuration.
//
// Build for Lambda's provided.al2023 runtime on Graviton:
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap ./cmd/rootguard-lambda
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/rootguard/rootguard/internal/alert"
)

func main() {
	logger := lambdacontext.NewLogger()
	cfg, err := alert.ConfigFromEnv(os.Getenv)
	if err != nil {
		logger.Error("rootguard-lambda: init", "err", err)
		os.Exit(1)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		logger.Error("rootguard-lambda: init: load AWS configuration", "err", err)
		os.Exit(1)
	}
	lambda.Start(alert.NewFromAWS(cfg, awsCfg, logger).Handle)
}
