package main_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/testenv"
)

// TestLambdaBench measures the function under aws-lambda-rie: the first
// invocation of a fresh process (Lambda's init: process start, Go's init,
// main building the clients, plus an event dropped without any AWS call),
// and the warm per-event time of each path. Durations are the emulator's
// REPORT lines (time inside the function, not the invoke's HTTP round
// trip). It runs only with ROOTGUARD_BENCH_LAMBDA=N (N events per path);
// bench/lambda.sh runs it.
func TestLambdaBench(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ROOTGUARD_BENCH_LAMBDA"))
	if n <= 0 {
		t.Skip("set ROOTGUARD_BENCH_LAMBDA=N to run the Lambda benchmark (bench/lambda.sh)")
	}
	dropped := []byte(`{"version":"0","id":"bench-drop","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","detail":{"eventVersion":"1.10","userIdentity":{"type":"IAMUser"},"eventName":"RunInstances"}}`)
	var cold []float64
	for i := range 10 {
		t.Run(fmt.Sprintf("cold-%d", i), func(t *testing.T) {
			e := startLambda(t)
			if res, _ := e.invoke(t, dropped); res.Outcome != alert.Dropped {
				t.Fatalf("%+v", res)
			}
			cold = append(cold, waitReports(t, e.rie, 1)...)
		})
	}
	e := startLambda(t, "SUMMARY_QUIET=1h", "SUMMARY_MAX_ACTIONS=200")
	e.invoke(t, dropped) // the cold start
	paths := []struct {
		name  string
		event func(i int) []byte
	}{
		{"dropped", func(int) []byte { return dropped }},
		{"alerted", func(i int) []byte {
			return signinEvent(fmt.Sprintf("bench-signin-%06d", i))
		}},
		{"duplicate", func(int) []byte { return signinEvent("bench-signin-000000") }},
		{"summarised", func(i int) []byte {
			return readEvent(fmt.Sprintf("bench-read-%06d", i), i/150)
		}},
	}
	type row struct {
		name           string
		p50, p99, maxD float64
	}
	var rows []row
	for _, p := range paths {
		before := len(durations(t, e.rie.Logs()))
		for i := range n {
			if _, inv := e.invoke(t, p.event(i)); inv.FunctionError {
				t.Fatalf("%s: %s", p.name, inv.Body)
			}
		}
		ds := waitReports(t, e.rie, before+n)[before:]
		rows = append(rows, row{p.name, pct(ds, 50), pct(ds, 99), slices.Max(ds)})
	}
	fmt.Printf("BENCH cold n=%d p50=%.2f max=%.2f\n", len(cold), pct(cold, 50), slices.Max(cold))
	for _, r := range rows {
		fmt.Printf("BENCH warm path=%s n=%d p50=%.2f p99=%.2f max=%.2f\n", r.name, n, r.p50, r.p99, r.maxD)
	}
}

// waitReports waits until the emulator has printed n REPORT lines (it
// prints them as it answers, through a pipe) and returns their durations.
func waitReports(t *testing.T, rie *testenv.RIE, n int) []float64 {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		ds := durations(t, rie.Logs())
		if len(ds) >= n {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d REPORT lines, want %d", len(ds), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var reportRE = regexp.MustCompile(`REPORT RequestId: \S+\t(?:Init Duration: [0-9.]+ ms\t)?Duration: ([0-9.]+) ms`)

func durations(t *testing.T, logs string) []float64 {
	t.Helper()
	var ds []float64
	for _, m := range reportRE.FindAllStringSubmatch(logs, -1) {
		d, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	return ds
}

func pct(ds []float64, p int) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

func signinEvent(id string) []byte {
	r := strings.NewReplacer("ID", id, "TIME", time.Now().UTC().Format(time.RFC3339))
	return []byte(r.Replace(`{"version":"0","id":"eb-ID","detail-type":"AWS Console Sign In via CloudTrail","source":"aws.signin","account":"333333333333","region":"us-east-1","detail":{"eventVersion":"1.09","userIdentity":{"type":"Root","principalId":"333333333333","arn":"arn:aws:iam::333333333333:root","accountId":"333333333333"},"eventTime":"TIME","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"Mozilla/5.0","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"Yes"},"eventID":"ID","eventType":"AwsConsoleSignIn","recipientAccountId":"333333333333"}}`))
}

func readEvent(id string, session int) []byte {
	r := strings.NewReplacer("ID", id, "KEY", fmt.Sprintf("ASIABENCHSESSION%04d", session), "TIME", time.Now().UTC().Format(time.RFC3339))
	return []byte(r.Replace(`{"version":"0","id":"eb-ID","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","account":"333333333333","region":"us-east-1","detail":{"eventVersion":"1.10","userIdentity":{"type":"Root","principalId":"333333333333","arn":"arn:aws:iam::333333333333:root","accountId":"333333333333","accessKeyId":"KEY"},"eventTime":"TIME","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"[S3Console/0.4]","eventID":"ID","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"333333333333"}}`))
}
