package awssim

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestSQSListQueues(t *testing.T) {
	e := newEnv(t, resourceScenario(t), Options{})
	cred := e.session(exProd, "")
	use1 := e.resources(cred, "us-east-1").sqs

	out, err := use1.ListQueues(t.Context(), &sqs.ListQueuesInput{})
	want := []string{QueueURL("us-east-1", exProd, "events"), QueueURL("us-east-1", exProd, "jobs.fifo"), QueueURL("us-east-1", exProd, "orders")}
	if err != nil || !slices.Equal(out.QueueUrls, want) || out.NextToken != nil {
		t.Errorf("ListQueues: %v %v", out.QueueUrls, err)
	}
	if want[0] != "https://sqs.us-east-1.amazonaws.com/333333333333/events" {
		t.Errorf("queue URL %s", want[0])
	}
	var urls []string
	pages := 0
	p := sqs.NewListQueuesPaginator(use1, &sqs.ListQueuesInput{MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		urls = append(urls, page.QueueUrls...)
	}
	if pages != 2 || !slices.Equal(urls, want) {
		t.Errorf("paginated: %d pages %v", pages, urls)
	}
	out, err = use1.ListQueues(t.Context(), &sqs.ListQueuesInput{QueueNamePrefix: aws.String("ord")})
	if err != nil || len(out.QueueUrls) != 1 {
		t.Errorf("prefix: %v %v", out.QueueUrls, err)
	}
	out, err = e.resources(cred, "eu-west-1").sqs.ListQueues(t.Context(), &sqs.ListQueuesInput{})
	if err != nil || !slices.Equal(out.QueueUrls, []string{QueueURL("eu-west-1", exProd, "orders")}) {
		t.Errorf("eu-west-1: %v %v", out.QueueUrls, err)
	}
	out, err = e.resources(cred, "ap-south-1").sqs.ListQueues(t.Context(), &sqs.ListQueuesInput{})
	if err != nil || len(out.QueueUrls) != 0 {
		t.Errorf("a region without queues: %v %v", out.QueueUrls, err)
	}
}

func TestSQSQueueAttributes(t *testing.T) {
	e := newEnv(t, resourceScenario(t), Options{})
	ctx := t.Context()
	q := e.resources(e.session(exProd, ""), "us-east-1").sqs
	events := aws.String(QueueURL("us-east-1", exProd, "events"))

	out, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: events, AttributeNames: []sqstypes.QueueAttributeName{"All"}})
	if err != nil || out.Attributes["QueueArn"] != "arn:aws:sqs:us-east-1:333333333333:events" || out.Attributes["VisibilityTimeout"] != "30" {
		t.Fatalf("All: %v %v", out.Attributes, err)
	}
	if _, ok := out.Attributes["Policy"]; ok {
		t.Errorf("a queue without a policy has one: %v", out.Attributes)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:333333333333:events"}]}`
	if _, err := q.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: events, Attributes: map[string]string{"Policy": policy}}); err != nil {
		t.Fatal(err)
	}
	out, err = q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: events, AttributeNames: []sqstypes.QueueAttributeName{"Policy"}})
	if err != nil || len(out.Attributes) != 1 || out.Attributes["Policy"] != policy {
		t.Errorf("Policy after set: %v %v", out.Attributes, err)
	}
	if _, err := q.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: events, Attributes: map[string]string{"Policy": ""}}); err != nil {
		t.Fatal(err)
	}
	out, err = q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: events, AttributeNames: []sqstypes.QueueAttributeName{"Policy"}})
	if err != nil || len(out.Attributes) != 0 {
		t.Errorf("Policy after removal: %v %v", out.Attributes, err)
	}

	_, err = q.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: events, Attributes: map[string]string{"Policy": "{"}})
	var iav *sqstypes.InvalidAttributeValue
	if !errors.As(err, &iav) {
		t.Errorf("bad policy: %v", err)
	}
	_, err = q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: events, AttributeNames: []sqstypes.QueueAttributeName{"Nope"}})
	var ian *sqstypes.InvalidAttributeName
	if !errors.As(err, &ian) {
		t.Errorf("unknown attribute: %v", err)
	}
	for _, u := range []string{QueueURL("us-east-1", exProd, "nope"), QueueURL("eu-west-1", exProd, "events")} {
		_, err = q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u), AttributeNames: []sqstypes.QueueAttributeName{"Policy"}})
		var qdne *sqstypes.QueueDoesNotExist
		if !errors.As(err, &qdne) {
			t.Fatalf("%s: err = %v, want QueueDoesNotExist", u, err)
		}
		wantCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")
		wantStatus(t, err, http.StatusBadRequest)
	}
}

// TestSQSUnlockQueuePolicy: a queue policy denying everyone locks out the
// account's roles but not an SQSUnlockQueuePolicy root session, which is
// limited to its three calls.
func TestSQSUnlockQueuePolicy(t *testing.T) {
	e := newEnv(t, resourceScenario(t), Options{})
	ctx := t.Context()
	root := e.resources(e.session(exProd, "SQSUnlockQueuePolicy"), "us-east-1").sqs
	role := e.resources(e.session(exProd, ""), "us-east-1").sqs
	orders := aws.String(QueueURL("us-east-1", exProd, "orders"))
	policyOf := func(c *sqs.Client) (string, error) {
		out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: orders, AttributeNames: []sqstypes.QueueAttributeName{"Policy"}})
		if err != nil {
			return "", err
		}
		return out.Attributes["Policy"], nil
	}

	_, err := policyOf(role)
	wantCode(t, err, "AccessDenied")
	wantStatus(t, err, http.StatusForbidden)
	if !strings.Contains(err.Error(), "explicit deny in a resource-based policy") {
		t.Errorf("role: %v", err)
	}
	_, err = role.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: orders, Attributes: map[string]string{"Policy": ""}})
	wantCode(t, err, "AccessDenied")

	if _, err := root.ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
		t.Errorf("root ListQueues: %v", err)
	}
	if p, err := policyOf(root); err != nil || !strings.Contains(p, `"Deny"`) {
		t.Fatalf("root reads the policy: %q %v", p, err)
	}
	if _, err := root.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: orders, Attributes: map[string]string{"Policy": ""}}); err != nil {
		t.Fatal(err)
	}
	if p, err := policyOf(role); err != nil || p != "" {
		t.Errorf("role after unlock: %q %v", p, err)
	}

	// Other task policies, another account's queue.
	for _, task := range []string{"IAMAuditRootUserCredentials", "S3UnlockBucketPolicy"} {
		_, err := e.resources(e.session(exProd, task), "us-east-1").sqs.ListQueues(ctx, &sqs.ListQueuesInput{})
		wantCode(t, err, "AccessDenied")
	}
	_, err = root.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(QueueURL("us-east-1", exSandbox, "tmp"))})
	wantCode(t, err, "AccessDenied")
}
