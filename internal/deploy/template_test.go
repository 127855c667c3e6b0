package deploy

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rootguard/rootguard/internal/detect"
	"github.com/rootguard/rootguard/internal/newaccount"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// rendered returns every template, decoded, by name.
func rendered(t *testing.T) map[string]map[string]any {
	t.Helper()
	ts, err := Templates()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, tpl := range ts {
		v, err := decode(tpl.Body)
		if err != nil {
			t.Fatalf("%s: %v", tpl.Name, err)
		}
		out[tpl.Name] = v.(map[string]any)
	}
	return out
}

func resources(tpl map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	res, _ := tpl["Resources"].(map[string]any)
	for id, r := range res {
		out[id], _ = r.(map[string]any)
	}
	return out
}

func properties(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// TestTemplatesGolden keeps the rendered templates in testdata/golden;
// go test -update rewrites them.
func TestTemplatesGolden(t *testing.T) {
	ts, err := Templates()
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != len(TemplateNames) {
		t.Fatalf("%d templates, want %d", len(ts), len(TemplateNames))
	}
	for _, tpl := range ts {
		p := filepath.Join("testdata", "golden", tpl.Name+".json")
		if *update {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, tpl.Body, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (go test -update creates it)", err)
		}
		if !bytes.Equal(tpl.Body, want) {
			t.Errorf("%s differs from the rendered template (go test -update rewrites it)", p)
		}
		if _, err := Compact(tpl.Body); err != nil {
			t.Errorf("%s: %v", tpl.Name, err)
		}
	}
}

// TestTemplatesMatchSchemas checks every resource of every template (the
// member template inside the StackSet too) against its resource provider
// schema.
func TestTemplatesMatchSchemas(t *testing.T) {
	schemas := loadSchemas(t)
	used := map[string]bool{}
	checked := 0
	for name, tpl := range rendered(t) {
		for id, r := range resources(tpl) {
			typ, _ := r["Type"].(string)
			s := schemas[typ]
			if s == nil {
				t.Errorf("%s: %s: no schema for %s in testdata/schemas (print it with rain build -s)", name, id, typ)
				continue
			}
			used[typ] = true
			for _, e := range s.validate(properties(r)) {
				t.Errorf("%s: %s (%s): %s", name, id, typ, e)
			}
			checked++
		}
		if _, ok := tpl["Parameters"]; !ok {
			t.Errorf("%s: no Parameters", name)
		}
	}
	for typ, s := range schemas {
		if !used[typ] {
			t.Errorf("testdata/schemas holds %s, which no template uses", typ)
		}
		for p := range s.unsupported {
			t.Logf("%s: pattern %s not checked (not RE2)", typ, p)
		}
	}
	t.Logf("%d resources checked against %d schemas", checked, len(schemas))
}

// TestStackSetEmbedsMemberTemplate holds the StackSet resource's template
// body to the member template.
func TestStackSetEmbedsMemberTemplate(t *testing.T) {
	all := rendered(t)
	ss := properties(resources(all[MemberStackSetTemplate])["MemberStackSet"])
	body, _ := ss["TemplateBody"].(string)
	member, err := Render(MemberTemplate)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Compact(member)
	if err != nil {
		t.Fatal(err)
	}
	if body != string(want) {
		t.Errorf("the StackSet's TemplateBody is not the compact member template")
	}
	if ss["PermissionModel"] != "SERVICE_MANAGED" {
		t.Errorf("PermissionModel = %v", ss["PermissionModel"])
	}
	auto, _ := ss["AutoDeployment"].(map[string]any)
	if auto["Enabled"] != true {
		t.Errorf("AutoDeployment = %v", auto)
	}
}

// policyDocuments walks a template (and templates nested in a
// TemplateBody) for policy documents: every object with a Statement.
func policyDocuments(t *testing.T, where string, v any, out map[string]any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		if st, ok := v["Statement"]; ok {
			out[where] = st
		}
		for k, x := range v {
			if s, ok := x.(string); ok && k == "TemplateBody" {
				nested, err := decode([]byte(s))
				if err != nil {
					t.Fatalf("%s.TemplateBody: %v", where, err)
				}
				policyDocuments(t, where+".TemplateBody", nested, out)
				continue
			}
			policyDocuments(t, where+"."+k, x, out)
		}
	case []any:
		for i, x := range v {
			policyDocuments(t, where+"["+strconv.Itoa(i)+"]", x, out)
		}
	}
}

// TestNoWildcardActions: no policy in any template allows or denies an
// action with a wildcard, or uses NotAction.
func TestNoWildcardActions(t *testing.T) {
	docs := map[string]any{}
	for name, tpl := range rendered(t) {
		policyDocuments(t, name, tpl, docs)
	}
	// Key, topic, two queue policies, two roles and a role policy in the
	// Audit template alone, plus the bus policy's single statement.
	if len(docs) < 12 {
		t.Fatalf("only %d policy documents found: the walk is broken", len(docs))
	}
	statements := 0
	for where, st := range docs {
		list, ok := st.([]any)
		if !ok {
			list = []any{st} // EventBusPolicy's Statement is one statement
		}
		for i, s := range list {
			m, _ := s.(map[string]any)
			statements++
			if _, ok := m["NotAction"]; ok {
				t.Errorf("%s statement %d uses NotAction", where, i)
			}
			actions := patternStrings(m["Action"])
			if a, ok := m["Action"].(string); ok {
				actions = []string{a}
			}
			if len(actions) == 0 {
				t.Errorf("%s statement %d: no action list: %v", where, i, m["Action"])
			}
			for _, a := range actions {
				if strings.Contains(a, "*") || strings.Contains(a, "?") {
					t.Errorf("%s statement %d: wildcard action %q", where, i, a)
				}
			}
		}
	}
	t.Logf("%d policy documents, %d statements, no wildcard action", len(docs), statements)
}

// TestRules checks the rules as deployed: the patterns are detect's (and,
// in the management and audit stacks, newaccount's), the state receives
// read-only management events, forwarders send to the Audit bus through
// the role with a dead-letter queue, the Audit rules send to the alert
// function (the account lifecycle rules to the new-account function)
// with a retry policy and a dead-letter queue.
func TestRules(t *testing.T) {
	all := rendered(t)
	wantPatterns := map[string][]detect.Pattern{
		MemberTemplate:      detect.EventPatterns(),
		ManagementTemplate:  unionPatterns(detect.EventPatterns(), detect.ManagementPatterns(), newaccount.Patterns()),
		AuditRegionTemplate: guardDutyPatterns(detect.EventPatterns()),
		AssumeRootTemplate:  assumeRootPatterns(detect.ManagementPatterns()),
		AuditTemplate: slices.Concat(unionPatterns(detect.EventPatterns(), detect.ManagementPatterns()), guardDutyPatterns(detect.EventPatterns()),
			newaccount.Patterns()),
	}
	for name, want := range wantPatterns {
		got := deployedPatterns(t, all[name], "")
		if g, w := canonical(t, got), canonical(t, want); !slices.Equal(g, w) {
			t.Errorf("%s: deployed patterns differ from detect's:\n got %q\nwant %q", name, g, w)
		}
		for id, r := range resources(all[name]) {
			if r["Type"] != "AWS::Events::Rule" {
				continue
			}
			p := properties(r)
			if id == "FlushSchedule" {
				continue // TestFlushSchedule
			}
			if p["State"] != RuleState {
				t.Errorf("%s: %s: State %v", name, id, p["State"])
			}
			targets, _ := p["Targets"].([]any)
			if len(targets) != 1 {
				t.Fatalf("%s: %s: %d targets", name, id, len(targets))
			}
			tg := targets[0].(map[string]any)
			if tg["DeadLetterConfig"] == nil {
				t.Errorf("%s: %s: no dead-letter queue", name, id)
			}
			if name == AuditTemplate {
				fn := `"Function"`
				if strings.HasPrefix(id, "AccountRule") {
					fn = `"AccountFunction"`
				}
				if tg["RetryPolicy"] == nil || !strings.Contains(mustJSON(t, tg["Arn"]), fn) {
					t.Errorf("%s: %s: target %s", name, id, mustJSON(t, tg))
				}
				continue
			}
			if !strings.Contains(mustJSON(t, tg["Arn"]), "event-bus/${EventBusName}") || tg["RoleArn"] == nil {
				t.Errorf("%s: %s: target %s", name, id, mustJSON(t, tg))
			}
		}
	}
	// The forward role may put events on the Audit bus and do nothing else.
	role := properties(resources(all[MemberTemplate])["ForwardRole"])
	got := mustJSON(t, role["Policies"])
	want := `[{"PolicyDocument":{"Statement":[{"Action":["events:PutEvents"],"Effect":"Allow","Resource":{"Fn::Sub":"arn:${AWS::Partition}:events:${HomeRegion}:${AuditAccountId}:event-bus/${EventBusName}"},"Sid":"PutEventsOnAuditBus"}],"Version":"2012-10-17"},"PolicyName":"put-events-on-audit-bus"}]`
	if got != want {
		t.Errorf("ForwardRole policies:\n got %s\nwant %s", got, want)
	}
	// The bus admits the organization only.
	bp := mustJSON(t, properties(resources(all[AuditTemplate])["EventBusPolicy"]))
	if !strings.Contains(bp, `"Condition":{"StringEquals":{"aws:PrincipalOrgID":{"Ref":"OrganizationId"}}}`) {
		t.Errorf("EventBusPolicy: %s", bp)
	}
	fn := properties(resources(all[AuditTemplate])["Function"])
	env := mustJSON(t, fn["Environment"])
	for _, k := range []string{"TOPIC_ARN", "TABLE_NAME", "LANGUAGE"} {
		if !strings.Contains(env, `"`+k+`"`) {
			t.Errorf("Function environment lacks %s: %s", k, env)
		}
	}
}

// deployedPatterns extracts the EventPattern of every rule of a template,
// as the template holds it; bus "" means every bus.
func deployedPatterns(t *testing.T, tpl map[string]any, bus string) []detect.Pattern {
	t.Helper()
	var out []detect.Pattern
	for _, r := range resources(tpl) {
		if r["Type"] != "AWS::Events::Rule" {
			continue
		}
		p := properties(r)
		if p["ScheduleExpression"] != nil {
			continue // the summary flush, not an event rule
		}
		if bus != "" && mustJSON(t, p["EventBusName"]) != bus {
			continue
		}
		pat, ok := p["EventPattern"].(map[string]any)
		if !ok {
			t.Fatalf("EventPattern is %T, not an object", p["EventPattern"])
		}
		out = append(out, detect.Pattern(pat))
	}
	return out
}

func canonical(t *testing.T, ps []detect.Pattern) []string {
	t.Helper()
	var out []string
	for _, p := range ps {
		// Re-decode so that Go-built and template-read patterns compare alike.
		v, err := decode([]byte(mustJSON(t, p)))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, mustJSON(t, v))
	}
	slices.Sort(out)
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(buf.String())
}

func TestRuleIDsAreStable(t *testing.T) {
	got := ruleIDs("Rule", detect.EventPatterns())
	want := []string{"RuleRootUser", "RuleIam", "RuleSts", "RuleAccount", "RuleGuardduty"}
	if !slices.Equal(got, want) {
		t.Errorf("ruleIDs = %q, want %q", got, want)
	}
	twice := ruleIDs("R", []detect.Pattern{{"source": []string{"aws.iam"}}, {"source": []string{"aws.iam"}}, {"detail-type": []string{"x"}}})
	if !slices.Equal(twice, []string{"RIam", "RIam2", "RPattern3"}) {
		t.Errorf("ruleIDs with repeats = %q", twice)
	}
}

func TestRenderKeepsIntrinsicsAndPlainStrings(t *testing.T) {
	tpl, err := Build(AuditTemplate)
	if err != nil {
		t.Fatal(err)
	}
	b, err := render(tpl)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"Fn::If": [`, `"Ref": "AlarmTopicArn"`, `"Fn::GetAtt": [`, `"HasAlarmTopic"`} {
		if !strings.Contains(s, want) {
			t.Errorf("rendered audit template lacks %s", want)
		}
	}
	// goformation's own JSON() would resolve Refs of policy documents;
	// render keeps them: no null may appear anywhere.
	if strings.Contains(s, "null") {
		t.Errorf("rendered template holds null")
	}
	if _, ok := intrinsic("111111111111"); ok {
		t.Errorf("an account id taken for an intrinsic")
	}
	if _, err := Build("nope"); err == nil {
		t.Errorf("Build(nope) succeeded")
	}
}

// TestFlushSchedule: the Audit stack asks the function to send the
// summaries of quiet root sessions, and lets the schedule invoke it.
func TestFlushSchedule(t *testing.T) {
	res := resources(rendered(t)[AuditTemplate])
	r, ok := res["FlushSchedule"]
	if !ok {
		t.Fatal("no FlushSchedule rule in the audit template")
	}
	p := properties(r)
	targets, _ := p["Targets"].([]any)
	if p["ScheduleExpression"] != FlushSchedule || p["State"] != "ENABLED" || len(targets) != 1 ||
		targets[0].(map[string]any)["Input"] != `{"rootguard":"flush"}` {
		t.Errorf("FlushSchedule = %v", p)
	}
	if _, ok := res["FlushSchedulePermission"]; !ok {
		t.Error("the schedule may not invoke the function")
	}
}

// TestKeyPolicyLetsAccountPublishThroughSNS: publishing to the encrypted
// topic needs kms:GenerateDataKey and kms:Decrypt for the publisher, which
// only the key policy can allow ("IAM cannot grant key use the key policy
// does not allow"). The Audit account's principals get them through SNS in
// this Region only, as the AWS managed key aws/sns allows them.
func TestKeyPolicyLetsAccountPublishThroughSNS(t *testing.T) {
	key := properties(resources(rendered(t)[AuditTemplate])["Key"])
	var found map[string]any
	for _, s := range key["KeyPolicy"].(map[string]any)["Statement"].([]any) {
		if m := s.(map[string]any); m["Sid"] == "AccountPublishesThroughSNS" {
			found = m
		}
	}
	if found == nil {
		t.Fatal("no AccountPublishesThroughSNS statement in the key policy")
	}
	got := mustJSON(t, found)
	want := `{"Action":["kms:Decrypt","kms:GenerateDataKey"],"Condition":{"StringEquals":{"kms:CallerAccount":{"Ref":"AWS::AccountId"},"kms:ViaService":{"Fn::Sub":"sns.${AWS::Region}.amazonaws.com"}}},"Effect":"Allow","Principal":{"AWS":"*"},"Resource":"*","Sid":"AccountPublishesThroughSNS"}`
	if got != want {
		t.Errorf("AccountPublishesThroughSNS:\n got %s\nwant %s", got, want)
	}
}

// TestForwarderAlarms: every forwarder stack alarms on its rules'
// FailedInvocations (every rule, summed) and on its dead-letter queue.
func TestForwarderAlarms(t *testing.T) {
	all := rendered(t)
	for _, name := range []string{MemberTemplate, ManagementTemplate, AuditRegionTemplate, AssumeRootTemplate} {
		res := resources(all[name])
		var rules []string
		for id, r := range res {
			if r["Type"] == "AWS::Events::Rule" {
				rules = append(rules, id)
			}
		}
		fa := properties(res["ForwardingFailedAlarm"])
		if fa == nil {
			t.Fatalf("%s: no ForwardingFailedAlarm", name)
		}
		metrics, _ := fa["Metrics"].([]any)
		var watched []string
		sums := 0
		for _, m := range metrics {
			q := m.(map[string]any)
			if e, ok := q["Expression"].(string); ok {
				sums++
				if q["ReturnData"] != true || !strings.HasPrefix(e, "SUM([") {
					t.Errorf("%s: expression %v", name, q)
				}
				continue
			}
			st := q["MetricStat"].(map[string]any)
			mt := st["Metric"].(map[string]any)
			if mt["Namespace"] != "AWS/Events" || mt["MetricName"] != "FailedInvocations" || q["ReturnData"] != false {
				t.Errorf("%s: metric %v", name, q)
			}
			dims := mt["Dimensions"].([]any)
			watched = append(watched, dims[0].(map[string]any)["Value"].(map[string]any)["Ref"].(string))
		}
		slices.Sort(rules)
		slices.Sort(watched)
		if sums != 1 || !slices.Equal(rules, watched) {
			t.Errorf("%s: alarm watches %q (and %d sums), want every rule %q", name, watched, sums, rules)
		}
		dq := mustJSON(t, properties(res["DeadLetterQueueAlarm"]))
		if !strings.Contains(dq, `"MetricName":"ApproximateNumberOfMessagesVisible"`) || !strings.Contains(dq, `"Fn::GetAtt":["DeadLetterQueue","QueueName"]`) {
			t.Errorf("%s: DeadLetterQueueAlarm %s", name, dq)
		}
		if !strings.Contains(dq, `"AlarmActions":[{"Fn::If":["HasAlarmTopic",{"Ref":"AlarmTopicArn"},{"Ref":"AWS::NoValue"}]}]`) {
			t.Errorf("%s: DeadLetterQueueAlarm actions %s", name, dq)
		}
	}
}

// TestAlertFunctionFailuresAlarm: an invocation the alert function fails
// (AWS down, or a payload it cannot read: alert.ErrUnreadable) is retried
// by Lambda, then sent to the dead-letter queue, and both the function's
// Errors and the queue's depth alarm on the alert topic (or AlarmTopicArn).
// "By default, Lambda retries an asynchronous invocation twice if the
// function returns an error. ... You can configure separate destinations
// for successful invocations (on-success) and events that fail all
// processing attempts (on-failure)." (Lambda API Reference,
// PutFunctionEventInvokeConfig)
func TestAlertFunctionFailuresAlarm(t *testing.T) {
	res := resources(rendered(t)[AuditTemplate])
	cfg := mustJSON(t, properties(res["FunctionEventInvokeConfig"]))
	for _, want := range []string{`"FunctionName":{"Ref":"Function"}`, `"MaximumRetryAttempts":2`,
		`"OnFailure":{"Destination":{"Fn::GetAtt":["DeadLetterQueue","Arn"]}}`} {
		if !strings.Contains(cfg, want) {
			t.Errorf("FunctionEventInvokeConfig %s lacks %s", cfg, want)
		}
	}
	actions := `"AlarmActions":[{"Fn::If":["HasAlarmTopic",{"Ref":"AlarmTopicArn"},{"Ref":"AlertTopic"}]}]`
	for id, want := range map[string][]string{
		"FunctionErrorsAlarm":  {`"Namespace":"AWS/Lambda"`, `"MetricName":"Errors"`, `"Value":{"Ref":"Function"}`, `"Threshold":1`, actions},
		"DeadLetterQueueAlarm": {`"Namespace":"AWS/SQS"`, `"MetricName":"ApproximateNumberOfMessagesVisible"`, `"Value":{"Fn::GetAtt":["DeadLetterQueue","QueueName"]}`, `"Threshold":1`, actions},
	} {
		a := mustJSON(t, properties(res[id]))
		for _, w := range want {
			if !strings.Contains(a, w) {
				t.Errorf("%s %s lacks %s", id, a, w)
			}
		}
	}
	policy := mustJSON(t, properties(res["FunctionPolicy"]))
	if !strings.Contains(policy, `"Action":["sqs:SendMessage"],"Effect":"Allow","Resource":{"Fn::GetAtt":["DeadLetterQueue","Arn"]}`) {
		t.Errorf("the function's role cannot send to the dead-letter queue: %s", policy)
	}
}
