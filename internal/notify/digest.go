package notify

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/rootguard/rootguard/internal/detect"
)

// Digest is one run of rootguard's scheduled audit: the root sessions its
// deployed principal opened under the deployment's standing approval, and
// what they did, per account.
type Digest struct {
	// Principal opened the sessions (sts:AssumeRoot's caller).
	Principal  string
	TaskPolicy string
	// Approval names the standing approval that covers the run.
	Approval string
	// First and Last are when the run's first and last events arrived.
	First, Last time.Time
	Sessions    int
	// Accounts maps each account audited to its actions.
	Accounts map[string]int
}

// maxDigestAccounts is how many accounts a digest lists by name.
const maxDigestAccounts = 25

// AuditDigest renders one message for a whole run of the scheduled audit,
// however many accounts it read: approved (by the standing approval),
// low severity, page=false.
func AuditDigest(g Digest, lang Lang) Alert {
	accounts := slices.Sorted(maps.Keys(g.Accounts))
	actions := 0
	for _, n := range g.Accounts {
		actions += n
	}
	var body, desc []string
	for i, c := range catalogs(lang) {
		title := fmt.Sprintf(c.digestFmt, len(accounts), g.Sessions)
		if i > 0 {
			body = append(body, separator)
			desc = append(desc, "")
		}
		fields := []field{
			{c.who, value{d(g.Principal)}},
			{c.session, fmtv(c.taskPolicyFmt, d(cmp.Or(g.TaskPolicy, "?")))},
			{c.approval, fmtv(c.approvedFmt, d(g.Approval))},
			{c.period, value{d(c.clock(g.First) + " – " + c.clock(g.Last))}},
		}
		body = append(body, c.header(detect.Low, true, title), "")
		body = append(body, renderText(c, fields)...)
		body = append(body, "", c.actions)
		desc = append(desc, renderMarkdown(fields)...)
		desc = append(desc, "*"+c.actions+"*")
		for j, a := range accounts {
			if j == maxDigestAccounts {
				more := fmt.Sprintf(c.andMoreFmt, len(accounts)-j)
				body, desc = append(body, "  "+more), append(desc, more)
				break
			}
			line := fmt.Sprintf(c.digestAccountFmt, a, g.Accounts[a])
			body, desc = append(body, "  "+line), append(desc, "• "+line)
		}
	}
	first := catalogs(lang)[0]
	subj := subject(first, detect.Low, true, fmt.Sprintf(first.digestFmt, len(accounts), g.Sessions), "", "")
	attrs := attributes(detect.Low, "audit-digest", cmp.Or(accountOf(g.Principal), "unknown"), true)
	attrs["page"] = "false"
	return Alert{
		Subject:    subj,
		Body:       strings.Join(body, "\n") + "\n",
		Attributes: attrs,
		Chatbot: chatbot(chatbotInput{
			id:          safeID("digest-" + g.Principal + "-" + g.First.UTC().Format("20060102T150405Z")),
			title:       markdownTitle(detect.Low, subj),
			description: strings.Join(desc, "\n"),
			keywords:    []string{string(detect.Low), "audit-digest", detect.Approved},
			threadID:    safeID("digest-" + g.Principal),
			summary:     subj,
			eventType:   "audit-digest",
			resources:   appendUnique(nil, g.Principal),
			context: map[string]string{"principal": g.Principal, "accounts": fmt.Sprint(len(accounts)),
				"sessions": fmt.Sprint(g.Sessions), "actions": fmt.Sprint(actions), "approvalId": g.Approval},
		}),
	}
}

// accountOf is the account of an ARN, or "".
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}
