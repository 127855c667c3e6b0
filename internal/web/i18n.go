package web

import (
	"fmt"
	"strconv"
	"strings"
)

// Lang is a page language.
type Lang string

// The languages.
const (
	English  Lang = "en"
	Japanese Lang = "ja"
)

// ParseLang returns the language a name or an Accept-Language header
// asks for: Japanese when it prefers ja over en, English otherwise.
func ParseLang(s string) Lang {
	best, bestQ := English, -1.0
	for part := range strings.SplitSeq(s, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if !(q > 0) { // q=0 is "not acceptable" (RFC 9110, 12.4.2); NaN is no weight
			continue
		}
		primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
		var l Lang
		switch primary {
		case "ja":
			l = Japanese
		case "en":
			l = English
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

// Tr translates the pages' words. Templates call {{$.L.T "key"}} and
// {{$.L.F "key" args...}}.
type Tr struct{ Lang Lang }

// T is the text of key in the page's language (the English text, then
// the key itself, when there is none).
func (t Tr) T(key string) string {
	if m, ok := messages[key]; ok {
		if s := m[t.Lang]; s != "" {
			return s
		}
		if s := m[English]; s != "" {
			return s
		}
	}
	return key
}

// F formats the text of key with args.
func (t Tr) F(key string, args ...any) string { return fmt.Sprintf(t.T(key), args...) }

// messages holds every word the pages show: key → language → text.
var messages = map[string]map[Lang]string{
	"app":            {English: "rootguard", Japanese: "rootguard"},
	"nav.overview":   {English: "Overview", Japanese: "概要"},
	"nav.tree":       {English: "Organization", Japanese: "組織"},
	"nav.activity":   {English: "Root activity", Japanese: "ルート利用"},
	"nav.approvals":  {English: "Approvals", Japanese: "承認"},
	"nav.operations": {English: "Operations", Japanese: "操作履歴"},
	"nav.label":      {English: "Views", Japanese: "表示"},
	"lang.switch":    {English: "日本語", Japanese: "English"},
	"lang.label":     {English: "Language", Japanese: "言語"},
	"skip":           {English: "Skip to content", Japanese: "本文へ移動"},

	"org":            {English: "Organization %s", Japanese: "組織 %s"},
	"asof":           {English: "Audit %d of %s", Japanese: "監査 %d（%s）"},
	"org.others":     {English: "Showing organization %s only. The history also holds audits of %s: rootguard serve --org ID shows one of them.", Japanese: "組織 %s のみを表示しています。履歴には %s の監査もあります。表示するには rootguard serve --org ID を実行してください。"},
	"ops.otherorgs":  {English: "%d runs on other organizations are not shown.", Japanese: "他の組織の実行 %d 件は表示していません。"},
	"readonly":       {English: "Read-only: this page never changes AWS.", Japanese: "読み取り専用: この画面が AWS を変更することはありません。"},
	"noaudit":        {English: "No audit in the history yet: run rootguard audit first.", Japanese: "監査履歴がまだありません。先に rootguard audit を実行してください。"},
	"generated":      {English: "Generated %s by rootguard", Japanese: "%s に rootguard が作成"},
	"kpi.accounts":   {English: "Accounts", Japanese: "アカウント"},
	"kpi.gone":       {English: "Root credentials absent", Japanese: "ルート認証情報なし"},
	"kpi.failing":    {English: "Accounts with a failed control", Japanese: "不合格のコントロールがあるアカウント"},
	"kpi.unread":     {English: "Not audited", Japanese: "監査できず"},
	"kpi.sessions":   {English: "Root incidents (7 days)", Japanese: "ルート利用（7日間）"},
	"kpi.unapproved": {English: "Unapproved root incidents", Japanese: "未承認のルート利用"},
	"kpi.approvals":  {English: "Approvals active or pending", Japanese: "有効・保留中の承認"},
	"kpi.of":         {English: "of %d", Japanese: "%d 中"},

	"posture":                {English: "Posture now", Japanese: "現在の状態"},
	"posture.desc":           {English: "Accounts by what their root user holds.", Japanese: "ルートユーザーが持つ認証情報ごとのアカウント数。"},
	"state":                  {English: "Root state", Japanese: "ルートの状態"},
	"count":                  {English: "Accounts", Japanese: "アカウント数"},
	"share":                  {English: "Share", Japanese: "割合"},
	"controls":               {English: "Controls", Japanese: "コントロール"},
	"controls.desc":          {English: "Each control's outcome across the accounts.", Japanese: "アカウント全体での各コントロールの結果。"},
	"orgcontrols":            {English: "Organization controls", Japanese: "組織のコントロール"},
	"control":                {English: "Control", Japanese: "コントロール"},
	"pass":                   {English: "Pass", Japanese: "合格"},
	"fail":                   {English: "Fail", Japanese: "不合格"},
	"na":                     {English: "N/A", Japanese: "対象外"},
	"unknown":                {English: "Unknown", Japanese: "不明"},
	"outcome.pass":           {English: "pass", Japanese: "合格"},
	"outcome.fail":           {English: "fail", Japanese: "不合格"},
	"outcome.not-applicable": {English: "n/a", Japanese: "対象外"},
	"outcome.unknown":        {English: "unknown", Japanese: "不明"},
	"outcome":                {English: "Outcome", Japanese: "結果"},
	"detail":                 {English: "Reason", Japanese: "理由"},
	"trend":                  {English: "Trend", Japanese: "推移"},
	"trend.desc":             {English: "Root states over the last %d audits.", Japanese: "直近 %d 回の監査でのルートの状態。"},
	"trend.table":            {English: "The chart's numbers", Japanese: "グラフの数値"},
	"trend.one":              {English: "One audit so far: the trend starts with the next.", Japanese: "監査はまだ 1 回です。推移は次回から表示されます。"},
	"audit":                  {English: "Audit", Japanese: "監査"},
	"date":                   {English: "Date", Japanese: "日時"},
	"failing":                {English: "With failed controls", Japanese: "不合格あり"},
	"show":                   {English: "show accounts", Japanese: "アカウントを表示"},

	"state." + string(StateNone):        {English: "No credentials", Japanese: "認証情報なし"},
	"state." + string(StateHardwareMFA): {English: "Hardware MFA", Japanese: "ハードウェア MFA"},
	"state." + string(StateVirtualMFA):  {English: "Virtual MFA", Japanese: "仮想 MFA"},
	"state." + string(StateNoMFA):       {English: "No MFA", Japanese: "MFA なし"},
	"state." + string(StateKeys):        {English: "Access keys present", Japanese: "アクセスキーあり"},
	"state." + string(StateUnread):      {English: "Not read", Japanese: "読み取れず"},

	"level." + string(LevelCritical): {English: "Critical", Japanese: "重大"},
	"level." + string(LevelHigh):     {English: "High", Japanese: "高"},
	"level." + string(LevelMedium):   {English: "Medium", Japanese: "中"},
	"level." + string(LevelLow):      {English: "Low", Japanese: "低"},
	"level." + string(LevelUnknown):  {English: "Unknown", Japanese: "不明"},
	"level." + string(LevelPass):     {English: "All pass", Japanese: "すべて合格"},

	"tree.title":     {English: "Organization tree", Japanese: "組織ツリー"},
	"tree.desc":      {English: "Each account is coloured by its worst failed control.", Japanese: "各アカウントは最も重い不合格コントロールの色で表示されます。"},
	"filter":         {English: "Filter", Japanese: "絞り込み"},
	"filter.apply":   {English: "Apply", Japanese: "適用"},
	"filter.reset":   {English: "Reset", Japanese: "解除"},
	"filter.any":     {English: "Any", Japanese: "すべて"},
	"filter.anyfail": {English: "Any failed control", Japanese: "いずれかが不合格"},
	"filter.failed":  {English: "Failed control", Japanese: "不合格のコントロール"},
	"filter.ou":      {English: "OU", Japanese: "OU"},
	"filter.state":   {English: "Root state", Japanese: "ルートの状態"},
	"filter.mode":    {English: "Mode", Japanese: "モード"},
	"filter.shown":   {English: "%d of %d accounts shown", Japanese: "%d / %d アカウントを表示"},
	"legend":         {English: "Worst failed control", Japanese: "最も重い不合格"},
	"mode.strict":    {English: "strict", Japanese: "strict（厳格）"},
	"mode.flexible":  {English: "flexible", Japanese: "flexible（柔軟）"},
	"mode.none":      {English: "no rootguard.yaml: every account is flexible", Japanese: "rootguard.yaml がないため全アカウントを flexible とみなします"},
	"accounts.n":     {English: "%d accounts", Japanese: "%d アカウント"},
	"fails":          {English: "fails %s", Japanese: "不合格: %s"},
	"allpass":        {English: "no failed control", Japanese: "不合格なし"},

	"account":        {English: "Account", Japanese: "アカウント"},
	"name":           {English: "Name", Japanese: "名前"},
	"email":          {English: "Email", Japanese: "メール"},
	"ou":             {English: "OU", Japanese: "OU"},
	"acctstate":      {English: "Account state", Japanese: "アカウントの状態"},
	"mode":           {English: "Mode", Japanese: "モード"},
	"method":         {English: "Read with", Japanese: "読み取り方法"},
	"management":     {English: "management account", Japanese: "管理アカウント"},
	"creds":          {English: "Root credentials", Japanese: "ルート認証情報"},
	"password":       {English: "Password", Japanese: "パスワード"},
	"yes":            {English: "yes", Japanese: "あり"},
	"no":             {English: "no", Japanese: "なし"},
	"lastused":       {English: "Last used", Japanese: "最終使用"},
	"never":          {English: "never", Japanese: "なし"},
	"mfa":            {English: "MFA devices", Japanese: "MFA デバイス"},
	"keys":           {English: "Access keys", Japanese: "アクセスキー"},
	"certs":          {English: "Signing certificates", Japanese: "署名証明書"},
	"serial":         {English: "Serial", Japanese: "シリアル"},
	"kind":           {English: "Kind", Japanese: "種類"},
	"enabled":        {English: "Enabled", Japanese: "有効化"},
	"keyid":          {English: "Key", Japanese: "キー"},
	"status":         {English: "Status", Japanese: "状態"},
	"created":        {English: "Created", Japanese: "作成"},
	"service":        {English: "Service", Japanese: "サービス"},
	"region":         {English: "Region", Japanese: "リージョン"},
	"none":           {English: "none", Japanese: "なし"},
	"history":        {English: "History", Japanese: "履歴"},
	"history.desc":   {English: "Audits in which this root user changed.", Japanese: "このルートユーザーに変化があった監査。"},
	"failedctl":      {English: "Failed controls", Japanese: "不合格のコントロール"},
	"notinhist":      {English: "not in the organization", Japanese: "組織に存在せず"},
	"findings":       {English: "Root activity", Japanese: "ルート利用"},
	"nofindings":     {English: "No root activity in the scan results.", Japanese: "スキャン結果にルート利用はありません。"},
	"nofindingsfile": {English: "No scan results: start rootguard serve with --findings FILE (from scan -o json).", Japanese: "スキャン結果がありません。rootguard serve に --findings FILE（scan -o json の出力）を指定してください。"},
	"ops":            {English: "Operations", Japanese: "操作"},
	"noops":          {English: "No operation in the journal.", Japanese: "ジャーナルに操作はありません。"},
	"noaccount":      {English: "No account %s in the latest audit.", Japanese: "最新の監査にアカウント %s はありません。"},
	"back":           {English: "Back to the organization", Japanese: "組織へ戻る"},
	"scps":           {English: "Root-deny SCPs", Japanese: "ルート拒否 SCP"},
	"exempts":        {English: "exempts root sessions", Japanese: "ルートセッションを除外"},
	"blocks":         {English: "blocks root sessions", Japanese: "ルートセッションを阻害"},
	"error":          {English: "Error", Japanese: "エラー"},
	"notes":          {English: "Notes", Japanese: "注記"},

	"act.title":      {English: "Root activity", Japanese: "ルート利用"},
	"act.desc":       {English: "Root sessions and root-user actions, newest first, from the scan results.", Japanese: "スキャン結果から、ルートセッションとルートユーザーの操作を新しい順に表示します。"},
	"act.account":    {English: "Account", Japanese: "アカウント"},
	"act.unapproved": {English: "Unapproved only", Japanese: "未承認のみ"},
	"act.session":    {English: "Root session", Japanese: "ルートセッション"},
	"act.direct":     {English: "Root user", Japanese: "ルートユーザー"},
	"act.issuer":     {English: "Issued by", Japanese: "発行者"},
	"act.policy":     {English: "Task policy", Japanese: "タスクポリシー"},
	"act.approval":   {English: "Approval", Japanese: "承認"},
	"act.approved":   {English: "approved %s", Japanese: "承認済み %s"},
	"act.unappr":     {English: "unapproved", Japanese: "未承認"},
	"act.outside":    {English: "outside the task policy", Japanese: "タスクポリシー外"},
	"act.denied":     {English: "denied", Japanese: "拒否"},
	"act.time":       {English: "Time", Japanese: "時刻"},
	"act.event":      {English: "Action", Japanese: "操作"},
	"act.category":   {English: "Category", Japanese: "分類"},
	"act.severity":   {English: "Severity", Japanese: "重大度"},
	"act.source":     {English: "Source", Japanese: "送信元"},
	"act.n":          {English: "%d incidents shown", Japanese: "%d 件を表示"},
	"act.unknown":    {English: "issuer not in the inputs", Japanese: "発行元は入力にありません"},
	"act.problems":   {English: "Lines of %s that could not be read", Japanese: "%s の読み取れなかった行"},

	"appr.title":        {English: "Approvals", Japanese: "承認"},
	"appr.desc":         {English: "Windows in which root use in an account is approved.", Japanese: "アカウントでのルート利用が承認された期間。"},
	"appr.none":         {English: "No approvals source: start rootguard serve with --table or --approvals FILE.", Japanese: "承認の取得元がありません。rootguard serve に --table または --approvals FILE を指定してください。"},
	"appr.empty":        {English: "No approvals in this state.", Japanese: "この状態の承認はありません。"},
	"appr.id":           {English: "Id", Japanese: "ID"},
	"appr.from":         {English: "From", Japanese: "開始"},
	"appr.until":        {English: "Until", Japanese: "終了"},
	"appr.req":          {English: "Requester", Japanese: "申請者"},
	"appr.appr":         {English: "Approver", Japanese: "承認者"},
	"appr.reason":       {English: "Reason", Japanese: "理由"},
	"appr.error":        {English: "The approvals could not be read: %s", Japanese: "承認を読み取れませんでした: %s"},
	"appr.st.pending":   {English: "Pending", Japanese: "保留中"},
	"appr.st.scheduled": {English: "Scheduled", Japanese: "開始前"},
	"appr.st.active":    {English: "Active", Japanese: "有効"},
	"appr.st.used":      {English: "Used", Japanese: "使用済み"},
	"appr.st.expired":   {English: "Expired", Japanese: "期限切れ"},
	"appr.st.revoked":   {English: "Revoked", Japanese: "取り消し"},

	"ops.title":   {English: "Operations", Japanese: "操作履歴"},
	"ops.desc":    {English: "Runs from the journal of changes to root credentials, newest first.", Japanese: "ルート認証情報への変更ジャーナルの実行を新しい順に表示します。"},
	"ops.run":     {English: "Run", Japanese: "実行"},
	"ops.kind":    {English: "Kind", Japanese: "種類"},
	"ops.started": {English: "Started", Japanese: "開始"},
	"ops.done":    {English: "Finished", Japanese: "終了"},
	"ops.by":      {English: "Started by", Japanese: "実行者"},
	"ops.step":    {English: "Step", Japanese: "ステップ"},
	"ops.steps.n": {English: "%d steps", Japanese: "%d ステップ"},
	"ops.action":  {English: "Action", Japanese: "API"},
	"ops.target":  {English: "Target", Japanese: "対象"},
	"ops.result":  {English: "Result", Japanese: "結果"},
	"ops.request": {English: "Request id", Japanese: "リクエスト ID"},
	"ops.resumes": {English: "Resumes", Japanese: "再開"},

	"report.title":    {English: "rootguard audit of %s", Japanese: "rootguard 監査: %s"},
	"report.summary":  {English: "Management account %s · started %s · finished %s · %d accounts, %d audited, %d not audited, %d with no root credentials.", Japanese: "管理アカウント %s · 開始 %s · 終了 %s · %d アカウント、監査済み %d、監査できず %d、ルート認証情報なし %d。"},
	"report.accounts": {English: "Accounts", Japanese: "アカウント"},
	"report.details":  {English: "Details of failed controls", Japanese: "不合格のコントロールの詳細"},
	"unauthorized":    {English: "Open the URL that rootguard serve printed (it carries the access token).", Japanese: "rootguard serve が表示した URL（アクセストークン付き）を開いてください。"},
}
