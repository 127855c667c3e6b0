package snsserver

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/rootguard/rootguard/internal/testenv"
)

// TestStart: goaws answers the SDK's SNS client with topics of the account
// given, a second server in the same process is refused, and so is an
// address off the loopback interface.
func TestStart(t *testing.T) {
	if _, err := Start("0.0.0.0:0", "111111111111", "us-east-1"); err == nil {
		t.Error("listening on every interface was allowed")
	}
	s, err := Start("127.0.0.1:0", "111111111111", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.WithoutCancel(t.Context()))
	if _, err := Start("127.0.0.1:0", "111111111111", "us-east-1"); !errors.Is(err, ErrRunning) {
		t.Errorf("second SNS server: %v, want ErrRunning", err)
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
