// Package notify turns root-use findings into the alerts a person on call
// reads in five seconds: an SNS subject and plain-text body, SNS message
// attributes for subscription filter policies, and an AWS Chatbot (Amazon Q
// Developer in chat applications) custom notification, in English,
// Japanese or both.
//
// The package is pure: what AWS Organizations says of the account and the
// approval that covers a finding come in as values, and nothing here calls
// AWS. Findings carry no secrets (access key ids are identifiers, not
// credentials) and nothing here adds any.
package notify

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rootguard/rootguard/internal/detect"
)

// Lang selects the language of an alert; an unknown one is English.
type Lang string

// Languages. Both gives an English subject and title, and a body with the
// English text first and the Japanese after it.
const (
	English  Lang = "en"
	Japanese Lang = "ja"
	Both     Lang = "both"
)

// Valid reports whether l is one of en, ja and both.
func (l Lang) Valid() bool { return l == English || l == Japanese || l == Both }

// ParseLang reads a LANGUAGE setting: en, ja or both; empty is English.
func ParseLang(s string) (Lang, error) {
	l := Lang(s)
	switch {
	case l == "":
		return English, nil
	case !l.Valid():
		return "", fmt.Errorf("%q: want en, ja or both", s)
	}
	return l, nil
}

// MaxSubject is the longest subject Render writes, in characters: SNS
// takes subjects of UTF-8 text without line breaks or control characters,
// shorter than 100 characters.
const MaxSubject = 99

// Enrichment is what AWS Organizations says of the account an alert is
// about.
type Enrichment struct {
	AccountName  string
	AccountEmail string
	OUPath       string // e.g. Root/Workloads/Prod
	// EnrichmentError is set when the lookup failed: the alert still goes
	// out, with the raw account id, and says so.
	EnrichmentError string
}

// Approval is the approval that covers a finding; the zero value is none.
// It adds who and why to the finding's own approval status: either one
// saying approved makes the alert approved.
type Approval struct {
	Approved  bool
	ID        string
	Requester string
	Approver  string
	Reason    string
	// Problem says why an approval on record does not approve the
	// finding (Approved false); Until is its window's end.
	Problem Problem
	Until   time.Time
	// Detail says, for ProblemInvalid, what is wrong: revoked, pending,
	// another task, an approver who may not approve.
	Detail string
}

// Problem says why an approval on record does not make a finding
// approved.
type Problem string

// Problems.
const (
	// ProblemOutsideWindow: the approval's window does not cover the event.
	ProblemOutsideWindow Problem = "outside-window"
	// ProblemInvalid: it does not approve this (Detail says why).
	ProblemInvalid Problem = "invalid"
	// ProblemEmergency: a root session opened without approval under
	// root session --emergency; Requester declared it, Reason says why.
	ProblemEmergency Problem = "emergency"
)

// Alert is one SNS message.
type Alert struct {
	// Subject is at most MaxSubject characters, on one line.
	Subject string
	// Body is plain text, for email.
	Body string
	// Attributes are SNS message attributes, all of data type String and
	// never empty: severity, category, account and approval
	// (approved|unapproved).
	Attributes map[string]string
	// Chatbot is the custom-notification JSON that Chatbot renders in
	// Slack, Microsoft Teams or Amazon Chime. Chatbot ignores messages of
	// any other shape, so it must be the whole message published to the
	// topic the chat channel subscribes to.
	Chatbot []byte
}

// Decision says whether a finding is alerted on its own or summarised
// with the rest of its session.
type Decision struct {
	Alert  bool
	Reason string
}

// Decide says whether a finding alerts on its own: when a root session
// starts (a console sign-in, a root session issued by sts:AssumeRoot) and
// for every high-risk event (a root access key created, root MFA
// deactivated or deleted, password recovery, an email change, centralized
// root access changed, an unapproved console sign-in without MFA, a
// root-session action outside its task policy, a GuardDuty finding, and
// anything else rated critical). The rest is summarised, see
// SessionSummary.
func Decide(f detect.Finding, a Approval) Decision {
	yes := func(reason string) Decision { return Decision{Alert: true, Reason: reason} }
	switch f.Category {
	case detect.ConsoleLogin:
		if !approved(f, a) && !f.MFA {
			return yes("unapproved root console sign-in without MFA")
		}
		return yes("a root console session started")
	case detect.RootSessionIssued:
		return yes("a root session was issued (sts:AssumeRoot)")
	case detect.AccessKeyChange:
		if f.EventName == "CreateAccessKey" {
			return yes("a root access key was created")
		}
	case detect.MFAChange:
		if f.EventName == "DeactivateMFADevice" || f.EventName == "DeleteVirtualMFADevice" {
			return yes("root MFA was deactivated or deleted")
		}
	case detect.PasswordRecovery:
		return yes("root password recovery")
	case detect.EmailChange:
		return yes("the root email address changed")
	case detect.GovernanceChange:
		return yes("centralized root access was changed")
	case detect.RootSessionActivity:
		if f.Session != nil && f.Session.OutsideTaskPolicy {
			return yes("a root-session action outside its task policy")
		}
	case detect.GuardDutyRootCredentialUsage:
		return yes("GuardDuty reported root credential use")
	}
	if f.Severity == detect.Critical {
		// UpdateAccessKey may reactivate a dormant root key; the finding
		// does not say which way it went.
		return yes("critical severity")
	}
	return Decision{Reason: "summarised with the rest of its session"}
}

// Render builds the SNS message for one finding. The enrichment describes
// the account the alert is about: for a root session issued, the member
// account the session was issued for; otherwise the finding's account.
func Render(f detect.Finding, e Enrichment, a Approval, lang Lang) Alert {
	acct := alertAccount(f)
	appr := approved(f, a)
	var body, desc []string
	for i, c := range catalogs(lang) {
		fields := findingFields(c, f, e, a, appr)
		if i > 0 {
			body = append(body, separator)
			desc = append(desc, "")
		}
		body = append(body, c.header(f.Severity, appr, findingTitle(c, f)), "")
		body = append(body, renderText(c, fields)...)
		desc = append(desc, renderMarkdown(fields)...)
	}
	first := catalogs(lang)[0]
	subj := subject(first, f.Severity, appr, findingTitle(first, f), e.AccountName, acct)
	return Alert{
		Subject:    subj,
		Body:       strings.Join(body, "\n") + "\n",
		Attributes: attributes(f.Severity, string(f.Category), acct, appr),
		Chatbot: chatbot(chatbotInput{
			id:          f.EventID,
			title:       markdownTitle(f.Severity, subj),
			description: strings.Join(desc, "\n"),
			nextSteps:   nextSteps(lang, f, appr, cmp.Or(a.ID, f.Approval.ID)),
			keywords:    []string{string(f.Severity), string(f.Category), approvalWord(appr), acct},
			threadID:    threadID(acct, f),
			summary:     subj,
			eventType:   string(f.Category),
			resources:   relatedResources(f),
			context:     findingContext(f, e, a, acct, appr),
		}),
	}
}

// SessionSummary renders one message summarising the actions of a root
// session that were not alerted one by one (Decide said so). The findings
// are one session's, in one account (the first names it), in any order;
// they are listed by time. The summary lands in the chat thread of the
// session's own alerts.
func SessionSummary(fs []detect.Finding, e Enrichment, a Approval, lang Lang) Alert {
	fs = slices.Clone(fs)
	slices.SortStableFunc(fs, func(x, y detect.Finding) int { return x.EventTime.Compare(y.EventTime) })
	sev := detect.Low
	appr := len(fs) > 0
	for _, f := range fs {
		if f.Severity.Rank() > sev.Rank() {
			sev = f.Severity
		}
		appr = appr && approved(f, a)
	}
	var acct string
	var threadOf detect.Finding
	if len(fs) > 0 {
		threadOf = fs[0]
		acct = alertAccount(fs[0])
	}
	var body, desc []string
	for i, c := range catalogs(lang) {
		fields := summaryFields(c, fs, e, a, appr)
		if i > 0 {
			body = append(body, separator)
			desc = append(desc, "")
		}
		body = append(body, c.header(sev, appr, c.summaryTitle(len(fs))), "")
		body = append(body, renderText(c, fields)...)
		body = append(body, "", c.actions)
		desc = append(desc, renderMarkdown(fields)...)
		desc = append(desc, "*"+c.actions+"*")
		lines, mdLines := actionLines(c, fs)
		body = append(body, lines...)
		desc = append(desc, mdLines...)
	}
	first := catalogs(lang)[0]
	subj := subject(first, sev, appr, first.summaryTitle(len(fs)), e.AccountName, acct)
	id := "summary"
	if len(fs) > 0 {
		id = "summary-" + fs[len(fs)-1].EventID
	}
	ctx := map[string]string{"account": acct, "accountName": e.AccountName, "ouPath": e.OUPath,
		"actions": fmt.Sprint(len(fs)), "approvalId": cmp.Or(a.ID, approvalIDOf(fs))}
	if len(fs) > 0 {
		ctx["first"] = fs[0].EventTime.UTC().Format(time.RFC3339)
		ctx["last"] = fs[len(fs)-1].EventTime.UTC().Format(time.RFC3339)
	}
	var res []string
	for _, f := range fs {
		res = appendUnique(res, relatedResources(f)...)
	}
	return Alert{
		Subject:    subj,
		Body:       strings.Join(body, "\n") + "\n",
		Attributes: attributes(sev, "session-summary", acct, appr),
		Chatbot: chatbot(chatbotInput{
			id:          id,
			title:       markdownTitle(sev, subj),
			description: strings.Join(desc, "\n"),
			nextSteps:   summarySteps(lang, appr, cmp.Or(a.ID, approvalIDOf(fs))),
			keywords:    []string{string(sev), "session-summary", approvalWord(appr), acct},
			threadID:    threadID(acct, threadOf),
			summary:     subj,
			eventType:   "session-summary",
			resources:   res,
			context:     ctx,
		}),
	}
}

const separator = "----------------------------------------"

// alertAccount is the account an alert is about: the target of a root
// session issued, else the account the event happened in.
func alertAccount(f detect.Finding) string {
	if f.Category == detect.RootSessionIssued && f.Session != nil && f.Session.TargetAccount != "" {
		return f.Session.TargetAccount
	}
	return f.Account
}

func approved(f detect.Finding, a Approval) bool {
	return a.Approved || f.Approval.Status == detect.Approved
}

func approvalIDOf(fs []detect.Finding) string {
	for _, f := range fs {
		if f.Approval.ID != "" {
			return f.Approval.ID
		}
	}
	return ""
}

func approvalWord(ok bool) string {
	if ok {
		return detect.Approved
	}
	return detect.Unapproved
}

// attributes are the SNS message attributes. SNS rejects empty values.
func attributes(sev detect.Severity, category, account string, appr bool) map[string]string {
	return map[string]string{
		"severity": cmp.Or(string(sev), "unknown"),
		"category": cmp.Or(category, "unknown"),
		"account":  cmp.Or(account, "unknown"),
		"approval": approvalWord(appr),
	}
}

// threadID groups one session's messages in one chat thread: the account
// and the root session's issued key, else the source address and day.
func threadID(account string, f detect.Finding) string {
	session := ""
	switch {
	case f.Session != nil && f.Session.AccessKeyID != "":
		session = f.Session.AccessKeyID
	case f.SourceIP != "" && !f.EventTime.IsZero():
		session = f.SourceIP + "-" + f.EventTime.UTC().Format("20060102")
	case f.AccessKeyID != "":
		session = f.AccessKeyID
	default:
		session = f.EventID
	}
	return safeID(cmp.Or(account, "unknown") + "-" + session)
}

// safeID keeps letters, digits, '-' and '.', replacing anything else.
func safeID(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		}
		return '-'
	}, s)
}

func relatedResources(f detect.Finding) []string {
	var out []string
	add := func(s string) {
		if strings.HasPrefix(s, "arn:") {
			out = appendUnique(out, s)
		}
	}
	add(f.Principal)
	if f.Session != nil {
		add(f.Session.IssuedBy)
		if f.Session.TaskPolicy != "" {
			add("arn:aws:iam::aws:policy/root-task/" + f.Session.TaskPolicy)
		}
	}
	return out
}

func appendUnique(s []string, vs ...string) []string {
	for _, v := range vs {
		if v != "" && !slices.Contains(s, v) {
			s = append(s, v)
		}
	}
	return s
}

func findingContext(f detect.Finding, e Enrichment, a Approval, acct string, appr bool) map[string]string {
	m := map[string]string{
		"account": acct, "accountName": e.AccountName, "ouPath": e.OUPath, "region": f.Region,
		"eventId": f.EventID, "eventSource": f.EventSource, "eventName": f.EventName, "rule": f.Rule,
		"severity": string(f.Severity), "approval": approvalWord(appr), "approvalId": cmp.Or(a.ID, f.Approval.ID),
		"sourceIp": f.SourceIP,
	}
	if !f.EventTime.IsZero() {
		m["eventTime"] = f.EventTime.UTC().Format(time.RFC3339)
	}
	if e.EnrichmentError != "" {
		m["enrichment"] = "failed"
	}
	return m
}
