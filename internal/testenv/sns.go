package testenv

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Admiral-Piett/goaws/app"
	"github.com/Admiral-Piett/goaws/app/router"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/sirupsen/logrus"
)

// SNS is goaws serving SNS and SQS on 127.0.0.1. Topics published to are
// delivered to the SQS queues subscribed to them, wrapped in the SNS
// notification JSON as SNS delivers to SQS.
//
// goaws keeps its topics and queues in package variables, so one server
// serves every test of a process at a time; tests name their topics with
// [SNS.CreateTopic], which makes the names unique. The server stops when
// the last test using it ends.
type SNS struct {
	// URL is the endpoint (AWS_ENDPOINT_URL_SNS).
	URL string
	// Config is an SDK configuration for it.
	Config aws.Config
	// Client is an SNS client of Config (SNS speaks the query protocol,
	// which goaws answers).
	Client *sns.Client
}

var goaws struct {
	mu      sync.Mutex
	srv     *httptest.Server
	users   int
	seq     atomic.Int64
	failing sync.Map // topic ARN -> struct{}: Publish answers a 500
}

// StartSNS starts goaws for the test, or shares the one already running.
func StartSNS(t testing.TB) *SNS {
	t.Helper()
	goaws.mu.Lock()
	defer goaws.mu.Unlock()
	if goaws.srv == nil {
		logrus.SetLevel(logrus.WarnLevel)
		logrus.SetOutput(io.Discard)
		srv := httptest.NewUnstartedServer(faulty(router.New()))
		srv.Start()
		u, _ := url.Parse(srv.URL)
		app.CurrentEnvironment.Host = u.Hostname()
		app.CurrentEnvironment.Port = u.Port()
		app.CurrentEnvironment.Region = Region
		app.CurrentEnvironment.AccountID = "100010001000"
		app.CurrentEnvironment.QueueAttributeDefaults.VisibilityTimeout = 30
		app.CurrentEnvironment.QueueAttributeDefaults.MaximumMessageSize = 262144
		goaws.srv = srv
	}
	goaws.users++
	t.Cleanup(func() {
		goaws.mu.Lock()
		defer goaws.mu.Unlock()
		if goaws.users--; goaws.users == 0 {
			goaws.srv.Close()
			goaws.srv = nil
		}
	})
	cfg := Config(goaws.srv.URL)
	return &SNS{URL: goaws.srv.URL, Config: cfg, Client: sns.NewFromConfig(cfg)}
}

// faulty answers Publish to a failing topic with a 500 InternalError.
func faulty(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("Action") == "Publish" {
			if _, bad := goaws.failing.Load(r.FormValue("TopicArn")); bad {
				w.Header().Set("Content-Type", "text/xml")
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprint(w, `<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code><Message>testenv: publish failure injected</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// FailPublish makes Publish to the topic fail with HTTP 500 InternalError
// (a server fault the SDK retries) until it is called with false.
func (s *SNS) FailPublish(topicARN string, fail bool) {
	if fail {
		goaws.failing.Store(topicARN, struct{}{})
	} else {
		goaws.failing.Delete(topicARN)
	}
}

// CreateTopic creates a topic whose name starts with prefix and returns
// its ARN.
func (s *SNS) CreateTopic(t testing.TB, prefix string) string {
	t.Helper()
	var out struct {
		Result struct{ TopicArn string } `xml:"CreateTopicResult"`
	}
	name := fmt.Sprintf("%s-%d", prefix, goaws.seq.Add(1))
	s.call(t, url.Values{"Action": {"CreateTopic"}, "Name": {name}}, &out)
	return out.Result.TopicArn
}

// Queue is an SQS queue subscribed to a topic.
type Queue struct {
	sns *SNS
	URL string
	ARN string
}

// Subscribe creates a queue and subscribes it to the topic (not raw: the
// queue receives SNS's notification JSON).
func (s *SNS) Subscribe(t testing.TB, topicARN string) *Queue {
	t.Helper()
	name := fmt.Sprintf("q-%d", goaws.seq.Add(1))
	var out struct {
		Result struct{ QueueUrl string } `xml:"CreateQueueResult"`
	}
	s.call(t, url.Values{"Action": {"CreateQueue"}, "QueueName": {name}}, &out)
	arn := "arn:aws:sqs:" + Region + ":" + app.CurrentEnvironment.AccountID + ":" + name
	s.call(t, url.Values{"Action": {"Subscribe"}, "TopicArn": {topicARN}, "Protocol": {"sqs"}, "Endpoint": {arn}}, nil)
	return &Queue{sns: s, URL: out.Result.QueueUrl, ARN: arn}
}

// Message is one SNS notification read off a queue.
type Message struct {
	TopicARN   string
	Subject    string
	Message    string
	Attributes map[string]string // String message attributes
}

// Receive reads and deletes every message the queue holds, waiting up to
// wait for the first one.
//
// It speaks SQS's query protocol: goaws dispatches on the form field
// Action only, while aws-sdk-go-v2's SQS client speaks JSON 1.0 only.
func (q *Queue) Receive(t testing.TB, wait time.Duration) []Message {
	t.Helper()
	var msgs []Message
	secs := int(wait / time.Second)
	for {
		var out struct {
			Messages []struct {
				ReceiptHandle string
				Body          string
			} `xml:"ReceiveMessageResult>Message"`
		}
		q.sns.call(t, url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {q.URL},
			"MaxNumberOfMessages": {"10"}, "WaitTimeSeconds": {strconv.Itoa(secs)}}, &out)
		if len(out.Messages) == 0 {
			return msgs
		}
		secs = 0
		for _, m := range out.Messages {
			var n struct {
				TopicArn          string
				Subject           string
				Message           string
				MessageAttributes map[string]struct{ Type, Value string }
			}
			if err := json.Unmarshal([]byte(m.Body), &n); err != nil {
				t.Fatalf("testenv: SQS message is not an SNS notification: %v\n%s", err, m.Body)
			}
			msg := Message{TopicARN: n.TopicArn, Subject: n.Subject, Message: n.Message, Attributes: map[string]string{}}
			for k, v := range n.MessageAttributes {
				msg.Attributes[k] = v.Value
			}
			msgs = append(msgs, msg)
			q.sns.call(t, url.Values{"Action": {"DeleteMessage"}, "QueueUrl": {q.URL}, "ReceiptHandle": {m.ReceiptHandle}}, nil)
		}
	}
}

// call makes one query-protocol request and decodes the XML answer.
func (s *SNS) call(t testing.TB, form url.Values, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("testenv: goaws %s: %v", form.Get("Action"), err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("testenv: goaws %s: %s\n%s", form.Get("Action"), resp.Status, b)
	}
	if out != nil {
		if err := xml.Unmarshal(b, out); err != nil {
			t.Fatalf("testenv: goaws %s: %v\n%s", form.Get("Action"), err, b)
		}
	}
}
