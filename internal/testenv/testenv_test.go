package testenv

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// TestSNSToQueue: a message published with the SDK's SNS client arrives on
// the subscribed queue with its subject, body and String attributes; a
// failure injected on the topic is a 500 the SDK reports.
func TestSNSToQueue(t *testing.T) {
	s := StartSNS(t)
	topic := s.CreateTopic(t, "t")
	q := s.Subscribe(t, topic)
	_, err := s.Client.Publish(t.Context(), &sns.PublishInput{
		TopicArn: aws.String(topic), Subject: aws.String("subject ✓"), Message: aws.String("本文\nbody"),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"severity": {DataType: aws.String("String"), StringValue: aws.String("critical")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs := q.Receive(t, time.Second)
	if len(msgs) != 1 || msgs[0].Subject != "subject ✓" || msgs[0].Message != "本文\nbody" ||
		msgs[0].Attributes["severity"] != "critical" || msgs[0].TopicARN != topic {
		t.Fatalf("received %+v", msgs)
	}
	if again := q.Receive(t, 0); len(again) != 0 {
		t.Errorf("a received message was not deleted: %+v", again)
	}
	s.FailPublish(topic, true)
	_, err = sns.NewFromConfig(s.Config, func(o *sns.Options) { o.RetryMaxAttempts = 1 }).
		Publish(t.Context(), &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("x")})
	if err == nil {
		t.Error("publish to a failing topic succeeded")
	}
}

// TestDynamoDB: dynalite answers the SDK's client.
func TestDynamoDB(t *testing.T) {
	db := StartDynamoDB(t)
	out, err := db.Client.ListTables(t.Context(), &dynamodb.ListTablesInput{})
	if err != nil || len(out.TableNames) != 0 {
		t.Fatalf("ListTables: %+v, %v", out, err)
	}
}
