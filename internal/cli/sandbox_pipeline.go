package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/sandbox"
)

// What the sandbox creates for the real-time pipeline's commands
// (approval, alert test), named in the environment it prints.
const (
	sandboxTable        = "rootguard"
	sandboxAlertTopic   = "rootguard-alerts"
	sandboxChatbotTopic = "rootguard-chatbot"
	// sandboxApproverRole is a role in the management account whose
	// session the sandbox opens for a second principal: approval approve
	// refuses the requester.
	sandboxApproverRole    = "RootGuardApprover"
	sandboxApproverSession = "approver"
)

// addApproverRole lets the management account's administrator enter
// sandboxApproverRole.
func addApproverRole(sc *awssim.Scenario) {
	for i := range sc.Accounts {
		a := &sc.Accounts[i]
		if a.ID == sc.Organization.ManagementAccount {
			for _, r := range a.Roles {
				if r == sandboxApproverRole {
					return
				}
			}
			a.Roles = append(a.Roles, sandboxApproverRole)
			return
		}
	}
}

// sandboxAWSConfig is an SDK configuration for a server of the sandbox,
// signed as its administrator.
func sandboxAWSConfig(url, akid, secret string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(akid, secret, ""),
		BaseEndpoint: aws.String(url),
	}
}

// startPipeline serves SNS (goaws, with the alert topics) and, where
// dynalite is installed, DynamoDB (with the approvals table) beside
// awssim at awsURL, opens the approver's session, and adds what a client
// needs to env. Where dynalite cannot start it says so in one line and
// goes on. The returned function stops what was started.
func startPipeline(ctx context.Context, o *sandboxOptions, mgmt, awsURL, akid, secret string, env map[string]string) (func(context.Context) error, error) {
	var stops []func(context.Context) error
	stopAll := func(ctx context.Context) error {
		var errs []error
		for i := len(stops) - 1; i >= 0; i-- {
			errs = append(errs, stops[i](ctx))
		}
		return errors.Join(errs...)
	}
	fail := func(err error) (func(context.Context) error, error) {
		_ = stopAll(context.WithoutCancel(ctx))
		return nil, err
	}

	if o.sns {
		s, err := startSNS(ctx, o, mgmt)
		switch {
		case errors.Is(err, sandbox.ErrNoSNSServer) && ctx.Err() == nil:
			fmt.Fprintf(o.io.Err, "rootguard: sandbox: no SNS, so `rootguard alert test` and `rootguard approval` cannot run against it (%v): install it beside rootguard with `go install ./cmd/rootguard-sns`, start the sandbox in the rootguard checkout, or give --sns-server PATH\n", err)
		case err != nil:
			return fail(err)
		default:
			stops = append(stops, s.Close)
			c := sns.NewFromConfig(sandboxAWSConfig(s.URL, akid, secret))
			for key, name := range map[string]string{"TOPIC_ARN": sandboxAlertTopic, "CHATBOT_TOPIC_ARN": sandboxChatbotTopic} {
				t, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
				if err != nil {
					return fail(fmt.Errorf("sandbox: SNS: create topic %s: %w", name, err))
				}
				env[key] = aws.ToString(t.TopicArn)
			}
			env["AWS_ENDPOINT_URL_SNS"] = s.URL
		}
	}

	if o.dynamodb {
		db, err := startDynalite(ctx, o)
		if err != nil {
			if ctx.Err() != nil {
				return fail(err)
			}
			fmt.Fprintf(o.io.Err, "rootguard: sandbox: no DynamoDB, so `rootguard approval` cannot run against it (%v): run `npm ci --prefix tools` in the rootguard checkout and start the sandbox from there, or give --dynalite PATH\n", err)
			return stopAll, nil
		}
		stops = append(stops, func(context.Context) error { db.Close(); return nil })
		if err := alert.CreateTable(ctx, dynamodb.NewFromConfig(sandboxAWSConfig(db.URL, akid, secret)), sandboxTable); err != nil {
			return fail(fmt.Errorf("sandbox: DynamoDB: %w", err))
		}
		env["AWS_ENDPOINT_URL_DYNAMODB"] = db.URL
		env["ROOTGUARD_TABLE"] = sandboxTable

		out, err := sts.NewFromConfig(sandboxAWSConfig(awsURL, akid, secret)).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn:         aws.String("arn:aws:iam::" + mgmt + ":role/" + sandboxApproverRole),
			RoleSessionName: aws.String(sandboxApproverSession),
		})
		if err != nil {
			return fail(fmt.Errorf("sandbox: open the approver's session: %w", err))
		}
		env["ROOTGUARD_APPROVER_ARN"] = aws.ToString(out.AssumedRoleUser.Arn)
		env["ROOTGUARD_APPROVER_ACCESS_KEY_ID"] = aws.ToString(out.Credentials.AccessKeyId)
		env["ROOTGUARD_APPROVER_SECRET_ACCESS_KEY"] = aws.ToString(out.Credentials.SecretAccessKey)
		env["ROOTGUARD_APPROVER_SESSION_TOKEN"] = aws.ToString(out.Credentials.SessionToken)
	}
	return stopAll, nil
}

// startSNS runs rootguard-sns: --sns-server, or the one
// [sandbox.FindSNSServer] finds from this executable and the working
// directory.
func startSNS(ctx context.Context, o *sandboxOptions, mgmt string) (*sandbox.SNS, error) {
	bin := o.snsServer
	if bin == "" {
		exe, _ := os.Executable() // without it, PATH and go tool still find one
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		if bin, err = sandbox.FindSNSServer(ctx, exe, wd); err != nil {
			return nil, err
		}
	}
	return sandbox.StartSNS(ctx, bin, mgmt, "us-east-1")
}

func startDynalite(ctx context.Context, o *sandboxOptions) (*sandbox.DynamoDB, error) {
	bin := o.dynalite
	if bin == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		if bin, err = sandbox.FindDynalite(wd); err != nil {
			return nil, err
		}
	}
	return sandbox.StartDynamoDB(ctx, bin)
}
