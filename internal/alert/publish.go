package alert

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/rootguard/rootguard/internal/notify"
)

// SNS is the part of the SNS API rootguard uses; *sns.Client implements
// it.
type SNS interface {
	Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Topics are the SNS topics alerts go to.
type Topics struct {
	// Main receives the subject, the plain-text body and the message
	// attributes (for email, and for subscription filter policies).
	Main string
	// Chatbot, if set, receives the Chatbot custom notification JSON as
	// the whole message: AWS Chatbot ignores messages of any other shape.
	Chatbot string
}

// Published is one message SNS accepted.
type Published struct {
	TopicARN  string `json:"topicArn"`
	MessageID string `json:"messageId"`
}

// Publish sends an alert to the main topic and, if set, the Chatbot
// topic, at once, skipping the topics in done (published by an earlier
// attempt). It returns the messages SNS accepted (main topic first), also
// when the other failed, so that a retry publishes only what is missing.
func Publish(ctx context.Context, c SNS, topics Topics, a notify.Alert, done []string) ([]Published, error) {
	attrs := map[string]snstypes.MessageAttributeValue{}
	for _, k := range slices.Sorted(maps.Keys(a.Attributes)) {
		attrs[k] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(a.Attributes[k])}
	}
	ins := []*sns.PublishInput{{
		TopicArn:          aws.String(topics.Main),
		Subject:           aws.String(a.Subject),
		Message:           aws.String(a.Body),
		MessageAttributes: attrs,
	}}
	if topics.Chatbot != "" && len(a.Chatbot) > 0 {
		ins = append(ins, &sns.PublishInput{
			TopicArn:          aws.String(topics.Chatbot),
			Message:           aws.String(string(a.Chatbot)),
			MessageAttributes: attrs,
		})
	}
	out := make([]*Published, len(ins))
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		if slices.Contains(done, aws.ToString(in.TopicArn)) {
			continue
		}
		wg.Go(func() {
			res, err := c.Publish(ctx, in)
			if err != nil {
				errs[i] = fmt.Errorf("alert: publish to %s: %w", aws.ToString(in.TopicArn), err)
				return
			}
			out[i] = &Published{TopicARN: aws.ToString(in.TopicArn), MessageID: aws.ToString(res.MessageId)}
		})
	}
	wg.Wait()
	var pub []Published
	for _, p := range out {
		if p != nil {
			pub = append(pub, *p)
		}
	}
	return pub, errors.Join(errs...)
}

func topicsOf(ps []Published) []string {
	var s []string
	for _, p := range ps {
		s = append(s, p.TopicARN)
	}
	return s
}
