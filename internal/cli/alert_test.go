package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/rootguard/rootguard/internal/testenv"
)

// TestAlertTest sends the sample alert through goaws and reads it off the
// queues subscribed to the topics.
func TestAlertTest(t *testing.T) {
	s := testenv.StartSNS(t)
	useLocalAWS(t, map[string]string{"SNS": s.URL})
	topic, chat := s.CreateTopic(t, "alerts"), s.CreateTopic(t, "chatbot")
	q, cq := s.Subscribe(t, topic), s.Subscribe(t, chat)

	out, errOut, code := runMain(t, "alert", "test", "--topic-arn", topic, "--chatbot-topic-arn", chat, "--account", "333333333333", "--lang", "both")
	if code != ExitOK || strings.Count(out, "\n") != 3 || !strings.Contains(out, topic+"\t") || !strings.Contains(out, chat+"\t") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	msgs := q.Receive(t, time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d messages on the alert topic", len(msgs))
	}
	m := msgs[0]
	if !strings.HasPrefix(m.Subject, "[TEST][CRITICAL][UNAPPROVED] Root console sign-in without MFA") || m.Attributes["test"] != "true" ||
		m.Attributes["account"] != "333333333333" || m.Attributes["severity"] != "critical" {
		t.Errorf("subject %q, attributes %v", m.Subject, m.Attributes)
	}
	if !strings.HasPrefix(m.Message, testNote) || !strings.Contains(m.Message, "ルートコンソールサインイン") {
		t.Errorf("body:\n%s", m.Message)
	}
	cm := cq.Receive(t, time.Second)
	if len(cm) != 1 || !strings.Contains(cm[0].Message, `"title":"[TEST] `) || !strings.Contains(cm[0].Message, `"version":"1.0"`) {
		t.Errorf("Chatbot message: %+v", cm)
	}

	for _, args := range [][]string{
		{"alert", "test"},
		{"alert", "test", "--topic-arn", topic, "--lang", "fr"},
		{"alert", "test", "--topic-arn", topic, "--account", "1"},
	} {
		if _, errOut, code := runMain(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, errOut)
		}
	}
	if _, errOut, code := runMain(t, "alert", "test", "--topic-arn", topic+"-gone"); code != ExitError || !strings.Contains(errOut, "publish to") {
		t.Errorf("unknown topic: exit %d\n%s", code, errOut)
	}
}
