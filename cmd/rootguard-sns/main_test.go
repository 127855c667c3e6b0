package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/rootguard/rootguard/internal/testenv"
)

// TestRun: rootguard-sns prints its URL, serves topics of the account and
// Region given there, and returns when its context ends.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var out testenv.SyncBuffer
	var errOut bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--account", "222222222222", "--region", "ap-northeast-1"}, &out, &errOut)
	}()
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		url, _, _ = strings.Cut(out.String(), "\n")
		if !strings.HasSuffix(out.String(), "\n") {
			url = ""
		}
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		cancel()
		t.Fatalf("stdout %q, stderr %q: want the URL on one line", out.String(), errOut.String())
	}
	c := sns.NewFromConfig(testenv.Config(url))
	got, err := c.CreateTopic(t.Context(), &sns.CreateTopicInput{Name: aws.String("alerts")})
	if err != nil || aws.ToString(got.TopicArn) != "arn:aws:sns:ap-northeast-1:222222222222:alerts" {
		t.Errorf("CreateTopic: %v, %v", aws.ToString(got.TopicArn), err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after its context ended: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

// TestRunRefuses: a stray argument and an address off the loopback
// interface are refused before anything serves.
func TestRunRefuses(t *testing.T) {
	for _, args := range [][]string{{"extra"}, {"--listen", "0.0.0.0:0"}, {"--nope"}} {
		var out, errOut bytes.Buffer
		if err := run(t.Context(), args, &out, &errOut); err == nil || out.Len() > 0 {
			t.Errorf("%q: err %v, stdout %q; want an error and no URL", args, err, out.String())
		}
	}
}
