package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/rootguard/rootguard/internal/detect"
)

// Change is a step in an approval's life that approvers and requesters
// are told about.
type Change string

// Changes.
const (
	ChangeRequested Change = "requested"
	ChangeApproved  Change = "approved"
	ChangeDenied    Change = "denied"
	ChangeRevoked   Change = "revoked"
	// ChangeEmergency: a root session opened without approval
	// (root session --emergency). It pages.
	ChangeEmergency Change = "emergency"
)

// ApprovalChange describes one change of an approval: who asked for what,
// in which account and window, and who changed it.
type ApprovalChange struct {
	Change    Change
	ID        string
	Account   string
	Task      string
	From      time.Time
	Until     time.Time
	Requester string // principal ARN
	Reason    string
	By        string // who made the change (the requester, for a request)
	Note      string
}

type approvalWords struct {
	titles                                   map[Change]string
	id, account, task, window, requester, by string
	reason, note, steps                      string
	approveStep, denyStep, useStep, listStep string
	windowFmt                                string
}

var approvalEN = approvalWords{
	titles: map[Change]string{
		ChangeRequested: "Root use requested: %s",
		ChangeApproved:  "Root use approved: %s",
		ChangeDenied:    "Root use denied: %s",
		ChangeRevoked:   "Root use approval revoked: %s",
		ChangeEmergency: "EMERGENCY root session WITHOUT approval: %s",
	},
	id: "Request", account: "Account", task: "Task", window: "Window", requester: "Requester", by: "By",
	reason: "Reason", note: "Note", steps: "Next steps:",
	approveStep: "approve (as an approver, not the requester): rootguard approval approve %s",
	denyStep:    "deny: rootguard approval deny %s --reason \"...\"",
	useStep:     "open the session: rootguard root session --account %s --task %s",
	listStep:    "history: rootguard approval history %s",
	windowFmt:   "%s to %s",
}

var approvalJA = approvalWords{
	titles: map[Change]string{
		ChangeRequested: "ルートユーザー使用の承認申請: %s",
		ChangeApproved:  "ルートユーザー使用の承認: %s",
		ChangeDenied:    "ルートユーザー使用の却下: %s",
		ChangeRevoked:   "ルートユーザー使用の承認取り消し: %s",
		ChangeEmergency: "承認なしの緊急ルートセッション: %s",
	},
	id: "申請ID", account: "アカウント", task: "タスク", window: "期間", requester: "申請者", by: "実施者",
	reason: "理由", note: "コメント", steps: "次の手順:",
	approveStep: "承認（申請者以外の承認者が実行）: rootguard approval approve %s",
	denyStep:    "却下: rootguard approval deny %s --reason \"...\"",
	useStep:     "セッションの開始: rootguard root session --account %s --task %s",
	listStep:    "履歴: rootguard approval history %s",
	windowFmt:   "%s から %s まで",
}

func approvalCatalogs(lang Lang) []approvalWords {
	switch lang {
	case Japanese:
		return []approvalWords{approvalJA}
	case Both:
		return []approvalWords{approvalEN, approvalJA}
	}
	return []approvalWords{approvalEN}
}

// RenderApprovalChange builds the message that tells approvers of a
// request, and the requester of a decision. It is not an alert: its
// attributes say category approval-<change> and page false, so that a
// pager's filter policy leaves it out. Free text (the reason, the note)
// is kept to one line each.
func RenderApprovalChange(c ApprovalChange, lang Lang) Alert {
	what := c.Task + " @ " + c.Account
	var body, desc []string
	for i, w := range approvalCatalogs(lang) {
		cat := en
		if w.id == approvalJA.id {
			cat = ja
		}
		if i > 0 {
			body = append(body, separator)
			desc = append(desc, "")
		}
		fields := []field{
			{w.id, value{d(c.ID)}},
			{w.account, value{d(c.Account)}},
			{w.task, value{d(c.Task)}},
			{w.window, value{d(fmt.Sprintf(w.windowFmt, cat.clock(c.From), cat.clock(c.Until)))}},
			{w.requester, value{d(c.Requester)}},
			{w.reason, value{d(CleanLine(c.Reason))}},
		}
		if c.Change != ChangeRequested {
			fields = append(fields, field{w.by, value{d(c.By)}})
			if c.Note != "" {
				fields = append(fields, field{w.note, value{d(CleanLine(c.Note))}})
			}
		}
		body = append(body, CleanLine(fmt.Sprintf(w.titles[c.Change], what)), "")
		body = append(body, renderText(cat, fields)...)
		desc = append(desc, renderMarkdown(fields)...)
		body = append(body, "", w.steps)
		for _, s := range approvalSteps(w, c) {
			body = append(body, "  "+s)
		}
	}
	first := approvalCatalogs(lang)[0]
	subj := truncate(CleanLine(fmt.Sprintf(first.titles[c.Change], what)+" ("+c.ID+")"), MaxSubject)
	category := "approval-" + string(c.Change)
	severity, page := "info", "false"
	if c.Change == ChangeEmergency {
		severity, page = string(detect.Critical), "true"
	}
	var steps []string
	for _, w := range approvalCatalogs(lang) {
		steps = append(steps, approvalSteps(w, c)...)
	}
	return Alert{
		Subject: subj,
		Body:    strings.Join(body, "\n") + "\n",
		Attributes: map[string]string{
			"severity": severity, "category": category, "account": c.Account, "approval": string(c.Change), "page": page,
		},
		Chatbot: chatbot(chatbotInput{
			id: "approval-" + c.ID + "-" + string(c.Change), title: subj, description: strings.Join(desc, "\n"),
			nextSteps: steps, keywords: []string{category, c.Account, c.Task},
			threadID: safeID("approval-" + c.ID), summary: subj, eventType: category,
			resources: appendUnique(nil, c.Requester, c.By),
			context:   map[string]string{"approvalId": c.ID, "account": c.Account, "task": c.Task, "requester": c.Requester, "by": c.By},
		}),
	}
}

func approvalSteps(w approvalWords, c ApprovalChange) []string {
	switch c.Change {
	case ChangeRequested:
		return []string{fmt.Sprintf(w.approveStep, c.ID), fmt.Sprintf(w.denyStep, c.ID)}
	case ChangeApproved:
		return []string{fmt.Sprintf(w.useStep, c.Account, c.Task)}
	}
	return []string{fmt.Sprintf(w.listStep, c.ID)}
}

// RenderEmergency builds the page for a root session opened without
// approval: critical, page=true, naming the principal (Requester) and
// the reason it gave.
func RenderEmergency(c ApprovalChange, lang Lang) Alert {
	c.Change = ChangeEmergency
	return RenderApprovalChange(c, lang)
}
