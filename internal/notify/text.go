package notify

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rootguard/rootguard/internal/detect"
)

// catalog holds one language's words.
type catalog struct {
	pad bool // align labels (English); Japanese labels vary in width

	severity   map[detect.Severity]string
	approved   string
	unapproved string

	account, email, ou, who, what, when, where, userAgent, mfa, approval string
	session, guardDuty, console, eventID, note, period, sources, actions string

	sourceIP, unknownRegion                       string
	succeeded, failed, deniedFmt, failedFmt       string
	readOnly, used, notUsed, unknown              string
	noApproval, approvedFmt, byFmt, forFmt        string
	issuedFmt, issuedAtFmt, taskPolicyFmt, keyFmt string
	outside, within, unattributed                 string
	openIn, enrichmentFmt, gdSevFmt, gdSeenFmt    string
	timesFmt, andMoreFmt, deniedWord, ruleFmt     string
	summaryFmt, rootUserFmt, comma                string
	outsideWindowFmt, invalidFmt, emergencyFmt    string
	digestFmt, digestAccountFmt                   string

	titles map[string]string
}

var en = &catalog{
	pad:      true,
	severity: map[detect.Severity]string{detect.Critical: "CRITICAL", detect.High: "HIGH", detect.Medium: "MEDIUM", detect.Low: "LOW"},
	approved: "APPROVED", unapproved: "UNAPPROVED",

	account: "Account", email: "Email", ou: "OU", who: "Who", what: "What", when: "When", where: "Where",
	userAgent: "User agent", mfa: "MFA", approval: "Approval", session: "Session", guardDuty: "GuardDuty",
	console: "Console", eventID: "Event ID", note: "Note", period: "Period", sources: "Source IPs",
	actions: "Actions:",

	sourceIP: "source IP %s", unknownRegion: "unknown region",
	succeeded: "succeeded", failed: "failed", deniedFmt: "DENIED (%s)", failedFmt: "failed (%s)",
	readOnly: "read-only", used: "used", notUsed: "NOT used", unknown: "unknown",
	noApproval:  "no approval covers this account at this time",
	approvedFmt: "APPROVED %s", byFmt: " by %s", forFmt: " for %s",
	issuedFmt: "issued by %s (account %s)", issuedAtFmt: "at %s", taskPolicyFmt: "task policy %s", keyFmt: "key %s",
	outside:       "this action is OUTSIDE the task policy (AWS denies it; the attempt is the finding)",
	within:        "this action is within the task policy",
	unattributed:  "a centralized root session whose sts:AssumeRoot call was not seen; the issuer is unknown",
	openIn:        "(sign in to %s to open it)",
	enrichmentFmt: "account details unavailable (Organizations lookup failed: %s); showing the raw account id",
	gdSevFmt:      ", GuardDuty severity %.1f", gdSeenFmt: "first seen %s, last seen %s",
	timesFmt: ", %d times", andMoreFmt: "… and %d more", deniedWord: "denied", ruleFmt: " (rule %s)",
	summaryFmt: "Root session summary: %d actions", rootUserFmt: "root user (%s)", comma: ", ",
	outsideWindowFmt: "approval %s was used OUTSIDE its window (it ends %s)",
	invalidFmt:       "approval %s does NOT cover this (%s)",
	emergencyFmt:     "EMERGENCY session declared by %s without approval: %s",
	digestFmt:        "Scheduled root audit: %d accounts, %d sessions",
	digestAccountFmt: "%s: %d actions",

	titles: map[string]string{
		"console-login":          "Root console sign-in",
		"console-login-no-mfa":   "Root console sign-in without MFA",
		"console-login-failure":  "Failed root console sign-in",
		"password-recovery":      "Root password recovery",
		"password-change":        "Root password changed",
		"email-change":           "Root email address changed",
		"CreateAccessKey":        "Root access key created",
		"UpdateAccessKey":        "Root access key updated",
		"DeleteAccessKey":        "Root access key deleted",
		"access-key-change":      "Root access key changed",
		"signing-certificate":    "Root signing certificate changed",
		"DeactivateMFADevice":    "Root MFA deactivated",
		"DeleteVirtualMFADevice": "Root MFA device deleted",
		"mfa-change":             "Root MFA changed",
		"api-call":               "Root API call %s",
		"root-session-issued":    "Root session issued (%s)",
		"root-session-outside":   "Root session action outside task policy: %s",
		"root-session-activity":  "Root session action %s",
		"governance-change":      "Centralized root access changed: %s",
		"guardduty":              "GuardDuty: root credential use",
		"denied":                 " (denied)",
	},
}

var ja = &catalog{
	severity: map[detect.Severity]string{detect.Critical: "重大", detect.High: "高", detect.Medium: "中", detect.Low: "低"},
	approved: "承認済み", unapproved: "未承認",

	account: "アカウント", email: "メール", ou: "OU", who: "実行者", what: "内容", when: "日時", where: "場所",
	userAgent: "ユーザーエージェント", mfa: "MFA", approval: "承認", session: "セッション", guardDuty: "GuardDuty",
	console: "コンソール", eventID: "イベントID", note: "注意", period: "期間", sources: "送信元IP",
	actions: "操作:",

	sourceIP: "送信元IP %s", unknownRegion: "リージョン不明",
	succeeded: "成功", failed: "失敗", deniedFmt: "拒否 (%s)", failedFmt: "失敗 (%s)",
	readOnly: "読み取り専用", used: "使用", notUsed: "未使用", unknown: "不明",
	noApproval:  "この時間帯にこのアカウントを対象とする承認はありません",
	approvedFmt: "承認済み %s", byFmt: " 承認者: %s", forFmt: " 申請者: %s",
	issuedFmt: "発行者 %s（アカウント %s）", issuedAtFmt: "発行日時 %s", taskPolicyFmt: "タスクポリシー %s", keyFmt: "キー %s",
	outside:       "この操作はタスクポリシーの範囲外です（AWS は拒否しますが、試行自体が検知対象です）",
	within:        "この操作はタスクポリシーの範囲内です",
	unattributed:  "一元管理のルートセッションですが、sts:AssumeRoot の呼び出しが見つからず発行者は不明です",
	openIn:        "（アカウント %s にサインインして開いてください）",
	enrichmentFmt: "アカウント情報を取得できませんでした（Organizations の照会に失敗: %s）。アカウントIDのみ表示しています",
	gdSevFmt:      "、GuardDuty 重要度 %.1f", gdSeenFmt: "初回 %s、最終 %s",
	timesFmt: "、%d 回", andMoreFmt: "… ほか %d 件", deniedWord: "拒否", ruleFmt: "（ルール %s）",
	summaryFmt: "ルートセッションのまとめ: %d 件の操作", rootUserFmt: "ルートユーザー (%s)", comma: "、",
	outsideWindowFmt: "承認 %s が承認期間外に使用されました（期間の終了 %s）",
	invalidFmt:       "承認 %s はこの操作を承認していません（%s）",
	emergencyFmt:     "%s が承認なしで緊急セッションを開始しました: %s",
	digestFmt:        "定期ルート監査: %d アカウント、%d セッション",
	digestAccountFmt: "%s: %d 件の操作",

	titles: map[string]string{
		"console-login":          "ルートコンソールサインイン",
		"console-login-no-mfa":   "MFAなしのルートコンソールサインイン",
		"console-login-failure":  "ルートコンソールサインインの失敗",
		"password-recovery":      "ルートパスワードの復旧",
		"password-change":        "ルートパスワードの変更",
		"email-change":           "ルートのメールアドレス変更",
		"CreateAccessKey":        "ルートアクセスキーの作成",
		"UpdateAccessKey":        "ルートアクセスキーの更新",
		"DeleteAccessKey":        "ルートアクセスキーの削除",
		"access-key-change":      "ルートアクセスキーの変更",
		"signing-certificate":    "ルート署名証明書の変更",
		"DeactivateMFADevice":    "ルートMFAの無効化",
		"DeleteVirtualMFADevice": "ルートMFAデバイスの削除",
		"mfa-change":             "ルートMFAの変更",
		"api-call":               "ルートによるAPI呼び出し %s",
		"root-session-issued":    "ルートセッションの発行 (%s)",
		"root-session-outside":   "タスクポリシー外のルートセッション操作: %s",
		"root-session-activity":  "ルートセッションの操作 %s",
		"governance-change":      "ルートアクセス一元管理の変更: %s",
		"guardduty":              "GuardDuty: ルート認証情報の使用",
		"denied":                 "（拒否）",
	},
}

// catalogs returns the catalogs a language renders, in order. An unknown
// language is English.
func catalogs(lang Lang) []*catalog {
	switch lang {
	case Japanese:
		return []*catalog{ja}
	case Both:
		return []*catalog{en, ja}
	}
	return []*catalog{en}
}

func (c *catalog) sev(s detect.Severity) string {
	if w, ok := c.severity[s]; ok {
		return w
	}
	return strings.ToUpper(string(s))
}

func (c *catalog) appr(ok bool) string {
	if ok {
		return c.approved
	}
	return c.unapproved
}

func (c *catalog) header(s detect.Severity, appr bool, title string) string {
	return "[" + c.sev(s) + "][" + c.appr(appr) + "] " + title
}

func (c *catalog) summaryTitle(n int) string { return fmt.Sprintf(c.summaryFmt, n) }

// findingTitle says in a few words what happened.
func findingTitle(c *catalog, f detect.Finding) string {
	t := c.titles
	var s string
	switch f.Category {
	case detect.ConsoleLogin:
		s = t["console-login"]
		if !f.MFA {
			s = t["console-login-no-mfa"]
		}
	case detect.AccessKeyChange:
		s = cmpTitle(t, f.EventName, "access-key-change")
	case detect.MFAChange:
		s = cmpTitle(t, f.EventName, "mfa-change")
	case detect.SigningCertificateChange:
		s = t["signing-certificate"]
	case detect.ConsoleLoginFailure, detect.PasswordRecovery, detect.PasswordChange, detect.EmailChange:
		s = t[string(f.Category)]
	case detect.RootSessionIssued:
		policy := "?"
		if f.Session != nil && f.Session.TaskPolicy != "" {
			policy = f.Session.TaskPolicy
		}
		s = fmt.Sprintf(t["root-session-issued"], policy)
	case detect.RootSessionActivity:
		key := "root-session-activity"
		if f.Session != nil && f.Session.OutsideTaskPolicy {
			key = "root-session-outside"
		}
		s = fmt.Sprintf(t[key], action(f))
	case detect.GovernanceChange:
		s = fmt.Sprintf(t["governance-change"], f.EventName)
	case detect.GuardDutyRootCredentialUsage:
		s = t["guardduty"]
	default:
		s = fmt.Sprintf(t["api-call"], action(f))
	}
	if f.Denied {
		s += t["denied"]
	}
	return CleanLine(s)
}

func cmpTitle(t map[string]string, key, fallback string) string {
	if s, ok := t[key]; ok {
		return s
	}
	return t[fallback]
}

// action is the IAM-style name of what was done: iam:CreateUser.
func action(f detect.Finding) string {
	svc := strings.TrimSuffix(f.EventSource, ".amazonaws.com")
	if svc == "" {
		return f.EventName
	}
	return svc + ":" + f.EventName
}

// eventRef names the event as CloudTrail does: signin.amazonaws.com:ConsoleLogin.
func eventRef(f detect.Finding) string {
	if f.EventSource == "" {
		return f.EventName
	}
	return f.EventSource + ":" + f.EventName
}

// subject writes "[SEV][APPROVAL] title — name (account)" in at most
// MaxSubject characters, shortening the account name, then the title;
// the account id is kept whole.
func subject(c *catalog, sev detect.Severity, appr bool, title, name, account string) string {
	prefix := "[" + c.sev(sev) + "][" + c.appr(appr) + "] "
	title, name, account = CleanLine(title), CleanLine(name), CleanLine(account)
	acct := func(n string) string {
		switch {
		case account == "" && n == "":
			return ""
		case n == "":
			return " — " + account
		case account == "":
			return " — " + n
		}
		return " — " + n + " (" + account + ")"
	}
	s := prefix + title + acct(name)
	if runes(s) <= MaxSubject {
		return s
	}
	name = truncate(name, 24)
	if over := runes(prefix+title+acct(name)) - MaxSubject; over > 0 {
		title = truncate(title, runes(title)-over)
	}
	return truncate(prefix+title+acct(name), MaxSubject)
}

func runes(s string) int { return utf8.RuneCountInString(s) }

// truncate shortens s to at most n characters, ending in "…" when cut.
func truncate(s string, n int) string {
	if runes(s) <= n {
		return s
	}
	if n <= 1 {
		return string([]rune(s)[:max(n, 0)])
	}
	return string([]rune(s)[:n-1]) + "…"
}

// CleanLine makes untrusted text (an account name, a detail) safe for one
// line of a message: control characters (line
// breaks included) become spaces, runs of spaces collapse.
func CleanLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// jst is Japan Standard Time, which has no daylight saving.
var jst = time.FixedZone("JST", 9*60*60)

func (c *catalog) clock(t time.Time) string {
	if t.IsZero() {
		return c.unknown
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC (" + t.In(jst).Format("2006-01-02 15:04:05") + " JST)"
}

var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// consoleLink is the event in the AWS console, or "" when the region is
// not one.
func consoleLink(f detect.Finding) string {
	if !regionRE.MatchString(f.Region) || f.EventID == "" {
		return ""
	}
	base := "https://" + f.Region + ".console.aws.amazon.com/"
	if f.GuardDuty != nil {
		return base + "guardduty/home?region=" + f.Region + "#/findings?fId=" + url.QueryEscape(f.EventID)
	}
	return base + "cloudtrailv2/home?region=" + f.Region + "#/events/" + url.PathEscape(f.EventID)
}
