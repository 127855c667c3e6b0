package notify

import (
	"bytes"
	"cmp"
	"encoding/json"
	"strings"

	"github.com/rootguard/rootguard/internal/detect"
)

// chatbotNotification is the custom notification schema of AWS Chatbot
// (Amazon Q Developer in chat applications): version must be "1.0",
// source must be "custom", and client-markdown is the only textType.
type chatbotNotification struct {
	Version  string          `json:"version"`
	Source   string          `json:"source"`
	ID       string          `json:"id,omitempty"`
	Content  chatbotContent  `json:"content"`
	Metadata chatbotMetadata `json:"metadata"`
}

type chatbotContent struct {
	TextType    string   `json:"textType"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	NextSteps   []string `json:"nextSteps,omitempty"`
	Keywords    []string `json:"keywords,omitempty"`
}

type chatbotMetadata struct {
	// ThreadID groups the notifications of one root session in one chat
	// thread (when the channel allows threaded updates).
	ThreadID          string            `json:"threadId,omitempty"`
	Summary           string            `json:"summary,omitempty"`
	EventType         string            `json:"eventType,omitempty"`
	RelatedResources  []string          `json:"relatedResources,omitempty"`
	AdditionalContext map[string]string `json:"additionalContext,omitempty"`
}

type chatbotInput struct {
	id, title, description string
	nextSteps, keywords    []string
	threadID, summary      string
	eventType              string
	resources              []string
	context                map[string]string
}

func chatbot(in chatbotInput) []byte {
	ctx := map[string]string{}
	for k, v := range in.context {
		if v != "" {
			ctx[k] = v
		}
	}
	var kw []string
	kw = appendUnique(kw, in.keywords...)
	n := chatbotNotification{
		Version: "1.0",
		Source:  "custom",
		ID:      in.id,
		Content: chatbotContent{
			TextType:    "client-markdown",
			Title:       in.title,
			Description: in.description,
			NextSteps:   in.nextSteps,
			Keywords:    kw,
		},
		Metadata: chatbotMetadata{
			ThreadID:          in.threadID,
			Summary:           in.summary,
			EventType:         in.eventType,
			RelatedResources:  in.resources,
			AdditionalContext: ctx,
		},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep URLs readable; the JSON is the same
	if err := enc.Encode(n); err != nil {
		// Strings and string maps always encode.
		panic("notify: encode chatbot notification: " + err.Error())
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// markdownTitle is the subject with a severity emoji, stripped of
// characters chat markdown would read as formatting.
func markdownTitle(s detect.Severity, subject string) string {
	emoji := ":warning:"
	switch s {
	case detect.Critical:
		emoji = ":rotating_light:"
	case detect.Medium, detect.Low:
		emoji = ":information_source:"
	}
	plain := strings.NewReplacer("*", "", "_", " ", "~", "", "`", "'", "<", "‹", ">", "›", "|", "/").Replace(subject)
	return emoji + " " + plain
}

// steps holds one language's next steps.
type steps struct {
	ask, checkApproved, openEvent, deleteKey, restoreMFA, recovery, mfaLogin, session, guardDuty string
}

var stepsText = map[*catalog]steps{
	en: {
		ask:           "Ask the account owner whether this root use was intended; if it was not, handle it as a compromise.",
		checkApproved: "Check that the actions stay within approved change %s.",
		openEvent:     "Open the event: %s",
		deleteKey:     "Delete the root access key centrally (root-task policy IAMDeleteRootUserCredentials).",
		restoreMFA:    "Restore MFA on the root user, or delete its credentials centrally (IAMDeleteRootUserCredentials).",
		recovery:      "Confirm the root email address and its mailbox are still controlled by the CCoE.",
		mfaLogin:      "Require MFA on the root user, or delete its password centrally (IAMDeleteRootUserCredentials).",
		session:       "Review what the session attempted and ask its issuer why.",
		guardDuty:     "Open the GuardDuty finding and follow its remediation.",
	},
	ja: {
		ask:           "アカウント所有者に意図したルート利用か確認し、そうでなければ侵害として対応してください。",
		checkApproved: "操作が承認済みの変更 %s の範囲内か確認してください。",
		openEvent:     "イベントを開く: %s",
		deleteKey:     "ルートアクセスキーを一元的に削除してください（ルートタスクポリシー IAMDeleteRootUserCredentials）。",
		restoreMFA:    "ルートユーザーの MFA を復旧するか、認証情報を一元的に削除してください（IAMDeleteRootUserCredentials）。",
		recovery:      "ルートのメールアドレスとメールボックスが引き続き CCoE の管理下にあるか確認してください。",
		mfaLogin:      "ルートユーザーに MFA を必須にするか、パスワードを一元的に削除してください（IAMDeleteRootUserCredentials）。",
		session:       "セッションが試みた操作を確認し、発行者に理由を確認してください。",
		guardDuty:     "GuardDuty の検出結果を開き、推奨される対処に従ってください。",
	},
}

// nextSteps says what the person reading should do, in order.
func nextSteps(lang Lang, f detect.Finding, appr bool, approvalID string) []string {
	var out []string
	for _, c := range catalogs(lang) {
		st := stepsText[c]
		if appr {
			out = append(out, strings.Replace(st.checkApproved, "%s", "`"+codeSafe(cmp.Or(approvalID, "?"))+"`", 1))
		} else {
			out = append(out, st.ask)
		}
		switch {
		case f.Category == detect.AccessKeyChange && f.EventName != "DeleteAccessKey":
			out = append(out, st.deleteKey)
		case f.Category == detect.MFAChange && (f.EventName == "DeactivateMFADevice" || f.EventName == "DeleteVirtualMFADevice"):
			out = append(out, st.restoreMFA)
		case f.Category == detect.PasswordRecovery || f.Category == detect.EmailChange:
			out = append(out, st.recovery)
		case f.Category == detect.ConsoleLogin && !f.MFA:
			out = append(out, st.mfaLogin)
		case f.Category == detect.RootSessionActivity && f.Session != nil && f.Session.OutsideTaskPolicy:
			out = append(out, st.session)
		case f.GuardDuty != nil:
			out = append(out, st.guardDuty)
		}
		if l := consoleLink(f); l != "" {
			out = append(out, strings.Replace(st.openEvent, "%s", l, 1))
		}
	}
	return out
}

func summarySteps(lang Lang, appr bool, id string) []string {
	var out []string
	for _, c := range catalogs(lang) {
		st := stepsText[c]
		if appr {
			out = append(out, strings.Replace(st.checkApproved, "%s", "`"+codeSafe(cmp.Or(id, "?"))+"`", 1))
		} else {
			out = append(out, st.ask)
		}
	}
	return out
}
