package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/spf13/cobra"

	"github.com/rootguard/rootguard/internal/alert"
	"github.com/rootguard/rootguard/internal/detect"
	"github.com/rootguard/rootguard/internal/notify"
	"github.com/rootguard/rootguard/internal/report"
)

func newAlertCmd(io IO, logger func() *slog.Logger) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alert",
		Short: "Work with the real-time pipeline's alerts",
	}
	cmd.AddCommand(newAlertTestCmd(io, logger))
	return cmd
}

type alertTestOptions struct {
	io      IO
	topics  alert.Topics
	lang    string
	account string
	output  string
	now     func() time.Time
}

func newAlertTestCmd(io IO, _ func() *slog.Logger) *cobra.Command {
	o := &alertTestOptions{io: io, now: time.Now}
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Send a sample alert through the deployed topics",
		Long: `Test publishes a sample alert — an unapproved root console sign-in without MFA,
rendered exactly as the pipeline renders one — to the alert topic and, with
--chatbot-topic-arn, to the Chatbot topic, so that every subscriber (email,
chat, paging) can be checked end to end. The subject starts with [TEST],
the body says it is a test, and the message attribute test=true lets a
subscription filter policy drop it.

It prints the message id of each message SNS accepted. Exit 0: every topic
accepted it; 1: a publish failed; 2: usage.`,
		Example: `  rootguard alert test --topic-arn arn:aws:sns:us-east-1:111111111111:rootguard-alerts
  rootguard alert test --topic-arn "$TOPIC_ARN" --chatbot-topic-arn "$CHATBOT_TOPIC_ARN" --lang both`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAlertTest(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.topics.Main, "topic-arn", os.Getenv("TOPIC_ARN"), "the alert topic (default $TOPIC_ARN)")
	f.StringVar(&o.topics.Chatbot, "chatbot-topic-arn", os.Getenv("CHATBOT_TOPIC_ARN"), "the Chatbot topic, if any (default $CHATBOT_TOPIC_ARN)")
	f.StringVar(&o.lang, "lang", "en", "language: en, ja or both")
	f.StringVar(&o.account, "account", "123456789012", "the account the sample names")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json or csv")
	return cmd
}

func runAlertTest(ctx context.Context, o *alertTestOptions) error {
	format, err := report.ParseFormat(o.output)
	if err != nil {
		return usageError("%v", err)
	}
	if o.topics.Main == "" {
		return usageError("no topic: give --topic-arn or set TOPIC_ARN")
	}
	lang := notify.Lang(o.lang)
	if !lang.Valid() {
		return usageError("--lang %q: want en, ja or both", o.lang)
	}
	if !accountIDRE.MatchString(o.account) {
		return usageError("--account %q: want a 12-digit account id", o.account)
	}
	a, err := sampleAlert(o.account, o.now(), lang)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	cfg, err := loadAWS(ctx)
	if err != nil {
		return err
	}
	pub, err := alert.Publish(ctx, sns.NewFromConfig(cfg), o.topics, a, nil)
	werr := writeRows(o.io, format, []string{"TOPIC", "MESSAGE ID"}, len(pub), func(i int) []string {
		return []string{pub[i].TopicARN, pub[i].MessageID}
	}, func(i int) any { return pub[i] })
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if werr != nil {
		return &exitError{code: ExitError, err: werr}
	}
	return nil
}

const testNote = "This is a test alert sent by `rootguard alert test`: no root user was used."

// sampleAlert renders a made-up finding as the pipeline would, marked as a
// test in the subject, the body, the Chatbot card and an attribute.
func sampleAlert(account string, now time.Time, lang notify.Lang) (notify.Alert, error) {
	f := detect.Finding{
		EventID: fmt.Sprintf("rootguard-test-%d", now.Unix()), EventTime: now.UTC().Truncate(time.Second),
		Account: account, Region: "us-east-1", EventSource: "signin.amazonaws.com", EventName: "ConsoleLogin",
		Category: detect.ConsoleLogin, Severity: detect.Critical, Rule: "root-console-login",
		Approval: detect.Approval{Status: detect.Unapproved}, SourceIP: "192.0.2.1",
		UserAgent: "rootguard alert test", Principal: "arn:aws:iam::" + account + ":root",
	}
	a := notify.Render(f, notify.Enrichment{AccountName: "rootguard-test", OUPath: "Root"}, notify.Approval{}, lang)
	a.Subject = "[TEST]" + a.Subject
	if utf8.RuneCountInString(a.Subject) > notify.MaxSubject {
		a.Subject = string([]rune(a.Subject)[:notify.MaxSubject])
	}
	a.Body = testNote + "\n\n" + a.Body
	a.Attributes["test"] = "true"
	var card map[string]any
	if err := json.Unmarshal(a.Chatbot, &card); err != nil {
		return a, fmt.Errorf("sample Chatbot notification: %w", err)
	}
	if content, ok := card["content"].(map[string]any); ok {
		content["title"] = "[TEST] " + fmt.Sprint(content["title"])
		content["description"] = testNote + "\n" + fmt.Sprint(content["description"])
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(card); err != nil {
		return a, fmt.Errorf("sample Chatbot notification: %w", err)
	}
	a.Chatbot = bytes.TrimSpace(b.Bytes())
	return a, nil
}
