// Package scp evaluates AWS Organizations service control policies against
// one request, the way IAM does: the policies attached at every level from
// the organization root through each OU down to the account, an Allow
// needed at every level, and any Deny winning.
//
// AWS Organizations User Guide, SCP evaluation: "For a permission to be
// allowed for a specific account, there must be an explicit Allow
// statement at every level from the root through each OU in the direct
// path to the account (including the target account itself)", and "an
// explicit deny in any SCP ... overrides any allow". The statement grammar
// is the IAM policy language: Action or NotAction, Resource or
// NotResource, and Condition with the String, Arn, Bool, Null, Numeric and
// Date operators, their ...IfExists forms and the ForAnyValue: and
// ForAllValues: set operators.
//
// This evaluator is rootguard's own. The simulator in internal/awssim has
// a separate one on purpose, so that the simulator cannot hide a mistake
// of the product's.
package scp

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Document is a parsed policy document.
type Document struct {
	Statements []Statement
}

// Statement is one statement of a policy.
type Statement struct {
	Sid    string
	Effect string // Allow or Deny
	// Exactly one of Action and NotAction is set; Resource and NotResource
	// likewise (Resource defaults to "*").
	Action, NotAction     []string
	Resource, NotResource []string
	// Principal and NotPrincipal are not part of the SCP grammar (AWS
	// Organizations rejects them); a document that has them is evaluated
	// as IAM evaluates them elsewhere.
	Principal, NotPrincipal []string
	Conditions              []Condition
}

// Condition is one operator and key of a Condition block, with its values.
type Condition struct {
	Operator string // as written: StringNotLikeIfExists, ForAnyValue:StringEquals
	Key      string // as written: aws:PrincipalArn
	Values   []string
}

// Ref names a statement for reports: its Sid, else its position.
func (st Statement) Ref(i int) string {
	if st.Sid != "" {
		return st.Sid
	}
	return "statement " + strconv.Itoa(i+1)
}

// Parse reads a policy document.
func Parse(content string) (*Document, error) {
	var raw struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(content), &raw); err != nil {
		return nil, fmt.Errorf("scp: policy document: %w", err)
	}
	var list []rawStatement
	switch t := strings.TrimSpace(string(raw.Statement)); {
	case t == "" || t == "null":
		return nil, errors.New("scp: policy document: no Statement")
	case t[0] == '{':
		var one rawStatement
		if err := json.Unmarshal(raw.Statement, &one); err != nil {
			return nil, fmt.Errorf("scp: statement: %w", err)
		}
		list = []rawStatement{one}
	default:
		if err := json.Unmarshal(raw.Statement, &list); err != nil {
			return nil, fmt.Errorf("scp: statement: %w", err)
		}
	}
	doc := &Document{}
	for i, r := range list {
		st, err := r.statement()
		if err != nil {
			return nil, fmt.Errorf("scp: statement %d: %w", i+1, err)
		}
		doc.Statements = append(doc.Statements, st)
	}
	return doc, nil
}

type rawStatement struct {
	Sid          string
	Effect       string
	Action       values
	NotAction    values
	Resource     values
	NotResource  values
	Principal    principal
	NotPrincipal principal
	Condition    map[string]map[string]values
}

func (r rawStatement) statement() (Statement, error) {
	st := Statement{Sid: r.Sid, Effect: r.Effect, Action: r.Action, NotAction: r.NotAction,
		Resource: r.Resource, NotResource: r.NotResource, Principal: r.Principal, NotPrincipal: r.NotPrincipal}
	switch {
	case r.Effect != "Allow" && r.Effect != "Deny":
		return st, fmt.Errorf("effect %q: want Allow or Deny", r.Effect)
	case (r.Action == nil) == (r.NotAction == nil):
		return st, errors.New("want exactly one of Action and NotAction")
	case r.Resource != nil && r.NotResource != nil:
		return st, errors.New("want at most one of Resource and NotResource")
	}
	if st.Resource == nil && st.NotResource == nil {
		st.Resource = []string{"*"}
	}
	ops := make([]string, 0, len(r.Condition))
	for op := range r.Condition {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	for _, op := range ops {
		keys := make([]string, 0, len(r.Condition[op]))
		for k := range r.Condition[op] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			st.Conditions = append(st.Conditions, Condition{Operator: op, Key: k, Values: r.Condition[op][k]})
		}
	}
	return st, nil
}

// values reads a JSON string, number or boolean, or an array of them, as
// strings (condition values may be written either way).
type values []string

func (v *values) UnmarshalJSON(b []byte) error {
	var any1 any
	if err := json.Unmarshal(b, &any1); err != nil {
		return err
	}
	one := func(x any) (string, error) {
		switch t := x.(type) {
		case string:
			return t, nil
		case bool:
			return strconv.FormatBool(t), nil
		case float64:
			return strconv.FormatFloat(t, 'f', -1, 64), nil
		}
		return "", fmt.Errorf("want a string or a list of strings, not %s", string(b))
	}
	out := values{}
	switch t := any1.(type) {
	case []any:
		for _, x := range t {
			s, err := one(x)
			if err != nil {
				return err
			}
			out = append(out, s)
		}
	default:
		s, err := one(t)
		if err != nil {
			return err
		}
		out = append(out, s)
	}
	*v = out
	return nil
}

// principal reads "*" or {"AWS": ...} as a list of AWS principals.
type principal []string

func (p *principal) UnmarshalJSON(b []byte) error {
	var star string
	if err := json.Unmarshal(b, &star); err == nil {
		*p = principal{star}
		return nil
	}
	var m map[string]values
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("principal: %w", err)
	}
	out := principal{}
	for k, vs := range m {
		if k == "AWS" {
			out = append(out, vs...)
		}
	}
	*p = out
	return nil
}

// Request is what a policy is evaluated against: one API call.
type Request struct {
	Action string // service:Operation, as IAM names it (iam:GetUser)
	// Resource is the ARN acted on; "" when it is not known in advance
	// (a bucket named only at run time): then a statement's Resource
	// list is taken to match and its NotResource list to exclude nothing,
	// and the match is reported with its resource patterns.
	Resource string
	// Context holds the request's condition keys (case does not matter).
	Context map[string][]string
}

func (r Request) value(key string) ([]string, bool) {
	for k, v := range r.Context {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// Policy is an SCP as attached: its id, name and document.
type Policy struct {
	ID, Name string
	Doc      *Document
}

// Level is one target in the chain of an account: the root, an OU, or
// the account itself, with the SCPs attached to it.
type Level struct {
	Target   string // r-..., ou-..., or the account id
	Name     string // Root, the OU's name, the account's name
	Policies []Policy
}

// Match is a statement that decided a request.
type Match struct {
	Target, TargetName string
	PolicyID, Policy   string
	Statement          string // Sid, or "statement N"
	// Resources are the statement's resource patterns when the request's
	// resource was not known: the match holds for those resources only.
	Resources []string `json:",omitempty"`
}

func (m Match) String() string {
	s := fmt.Sprintf("%s (%s) statement %s, attached to %s", m.PolicyID, m.Policy, m.Statement, m.TargetName)
	if m.TargetName != m.Target {
		s = fmt.Sprintf("%s (%s) statement %s, attached to %s (%s)", m.PolicyID, m.Policy, m.Statement, m.TargetName, m.Target)
	}
	if len(m.Resources) > 0 {
		s += " on " + strings.Join(m.Resources, ", ")
	}
	return s
}

// Decision is the outcome of evaluating a request against a chain.
type Decision string

// The decisions.
const (
	Allowed Decision = "allowed"
	// ExplicitDeny: a Deny statement at some level applies.
	ExplicitDeny Decision = "explicit-deny"
	// ImplicitDeny: some level has no Allow statement that applies.
	ImplicitDeny Decision = "implicit-deny"
	// Undetermined: a statement that could decide the request has a
	// condition the evaluator cannot judge (an unknown operator, a
	// policy variable with no value).
	Undetermined Decision = "undetermined"
)

// Verdict explains a decision.
type Verdict struct {
	Decision Decision
	// Deny is the first Deny statement that applies (ExplicitDeny).
	Deny *Match `json:",omitempty"`
	// NoAllow is the level without an applicable Allow (ImplicitDeny).
	NoAllow *Level `json:",omitempty"`
	// Unsure lists the statements that could not be judged.
	Unsure []string `json:",omitempty"`
}

// Blocked reports whether the request is refused (or may be).
func (v Verdict) Blocked() bool { return v.Decision != Allowed }

// String says why, in one line.
func (v Verdict) String() string {
	switch v.Decision {
	case ExplicitDeny:
		return "explicit deny: " + v.Deny.String()
	case ImplicitDeny:
		name := v.NoAllow.Name
		if name != v.NoAllow.Target {
			name += " (" + v.NoAllow.Target + ")"
		}
		return "no SCP attached to " + name + " allows it"
	case Undetermined:
		return "cannot tell: " + strings.Join(v.Unsure, "; ")
	}
	return "allowed"
}

// Evaluate decides a request against the chain of levels from the root
// down to the account. A Deny that applies at any level wins; otherwise
// every level needs an Allow that applies. A level with no policies at
// all allows nothing (AWS attaches FullAWSAccess to every target unless
// it is detached).
func Evaluate(chain []Level, req Request) Verdict {
	var unsure []string
	for _, lv := range chain {
		for _, p := range lv.Policies {
			if p.Doc == nil {
				continue
			}
			for i, st := range p.Doc.Statements {
				if st.Effect != "Deny" {
					continue
				}
				ok, sure, why := st.applies(req)
				if !sure {
					unsure = append(unsure, fmt.Sprintf("%s (%s) %s on %s: %s", p.ID, p.Name, st.Ref(i), lv.Name, why))
					continue
				}
				if ok {
					m := &Match{Target: lv.Target, TargetName: lv.Name, PolicyID: p.ID, Policy: p.Name, Statement: st.Ref(i)}
					if req.Resource == "" && !isStar(st.Resource) {
						m.Resources = slices.Concat(st.Resource, prefixed("not ", st.NotResource))
					}
					return Verdict{Decision: ExplicitDeny, Deny: m}
				}
			}
		}
	}
	for _, lv := range chain {
		allowed, maybe := allowedAt(lv, req)
		switch {
		case allowed:
		case len(maybe) > 0:
			unsure = append(unsure, maybe...)
		default:
			l := lv
			return Verdict{Decision: ImplicitDeny, NoAllow: &l}
		}
	}
	if len(unsure) > 0 {
		return Verdict{Decision: Undetermined, Unsure: unsure}
	}
	return Verdict{Decision: Allowed}
}

// allowedAt reports whether an Allow statement at a level applies to the
// request, else the statements that might but could not be judged.
func allowedAt(lv Level, req Request) (bool, []string) {
	var maybe []string
	for _, p := range lv.Policies {
		if p.Doc == nil {
			continue
		}
		for i, st := range p.Doc.Statements {
			if st.Effect != "Allow" {
				continue
			}
			ok, sure, why := st.applies(req)
			switch {
			case !sure:
				maybe = append(maybe, fmt.Sprintf("%s (%s) %s on %s: %s", p.ID, p.Name, st.Ref(i), lv.Name, why))
			case ok:
				return true, nil
			}
		}
	}
	return false, maybe
}

func isStar(rs []string) bool { return len(rs) == 1 && rs[0] == "*" }

func prefixed(p string, ss []string) []string {
	var out []string
	for _, s := range ss {
		out = append(out, p+s)
	}
	return out
}

// applies reports whether a statement applies to a request: its action,
// resource, principal and every condition. sure is false when a condition
// could not be judged (why says which).
func (st Statement) applies(req Request) (ok, sure bool, why string) {
	if !st.matchesAction(req.Action) || !st.matchesPrincipal(req) {
		return false, true, ""
	}
	if m, known := st.matchesResource(req); !known {
		return false, false, "policy variable in the resource has no value"
	} else if !m {
		return false, true, ""
	}
	for _, c := range st.Conditions {
		holds, known, why := c.holds(req)
		if !known {
			return false, false, why
		}
		if !holds {
			return false, true, ""
		}
	}
	return true, true, ""
}

func (st Statement) matchesAction(action string) bool {
	in := func(list []string) bool {
		return slices.ContainsFunc(list, func(p string) bool { return Glob(strings.ToLower(p), strings.ToLower(action)) })
	}
	if st.NotAction != nil {
		return !in(st.NotAction)
	}
	return in(st.Action)
}

func (st Statement) matchesResource(req Request) (match, known bool) {
	if req.Resource == "" { // not known: the statement may apply
		return true, true
	}
	known = true
	in := func(list []string) bool {
		return slices.ContainsFunc(list, func(p string) bool {
			p, ok := substitute(p, req)
			if !ok {
				known = false
				return false
			}
			return Glob(p, req.Resource)
		})
	}
	if st.NotResource != nil {
		return !in(st.NotResource), known
	}
	return in(st.Resource), known
}

func (st Statement) matchesPrincipal(req Request) bool {
	if st.Principal == nil && st.NotPrincipal == nil {
		return true
	}
	arn, _ := req.value("aws:PrincipalArn")
	acct, _ := req.value("aws:PrincipalAccount")
	one := func(p string) bool {
		if p == "*" {
			return true
		}
		for _, a := range acct {
			// An account id or its root ARN names every principal of the
			// account (IAM User Guide, AWS JSON policy elements: Principal).
			if p == a || p == "arn:aws:iam::"+a+":root" {
				return true
			}
		}
		return slices.ContainsFunc(arn, func(a string) bool { return Glob(p, a) })
	}
	if st.NotPrincipal != nil {
		return !slices.ContainsFunc(st.NotPrincipal, one)
	}
	return slices.ContainsFunc(st.Principal, one)
}

// holds evaluates one condition. known is false when it cannot be judged.
func (c Condition) holds(req Request) (holds, known bool, why string) {
	op := c.Operator
	set := ""
	if s, rest, ok := strings.Cut(op, ":"); ok {
		set, op = s, rest
		if set != "ForAnyValue" && set != "ForAllValues" {
			return false, false, "unknown set operator " + c.Operator
		}
	}
	base, ifExists := strings.CutSuffix(op, "IfExists")
	ctx, present := req.value(c.Key)
	if len(ctx) == 0 {
		present = false
	}
	want := make([]string, 0, len(c.Values))
	for _, v := range c.Values {
		s, ok := substitute(v, req)
		if !ok {
			return false, false, fmt.Sprintf("%s %s: policy variable in %q has no value", c.Operator, c.Key, v)
		}
		want = append(want, s)
	}
	if base == "Null" {
		// Null: "true" holds when the key is absent, "false" when present.
		return slices.ContainsFunc(want, func(w string) bool { return strings.EqualFold(w, "true") == !present }), true, ""
	}
	match, negated, ok := matcher(base)
	if !ok {
		return false, false, "unknown condition operator " + c.Operator
	}
	if !present {
		switch {
		case set == "ForAllValues":
			return true, true, "" // every one of no values matches
		case set == "ForAnyValue":
			return false, true, ""
		case ifExists:
			return true, true, ""
		}
		// IAM User Guide, condition operators: a key absent from the
		// request does not match; a negated operator then holds.
		return negated, true, ""
	}
	anyWant := func(v string) (bool, bool) {
		for _, w := range want {
			m, ok := match(w, v)
			if !ok {
				return false, false
			}
			if m {
				return true, true
			}
		}
		return false, true
	}
	var results []bool
	for _, v := range ctx {
		m, ok := anyWant(v)
		if !ok {
			return false, false, fmt.Sprintf("%s %s: cannot compare %q", c.Operator, c.Key, v)
		}
		results = append(results, m != negated)
	}
	switch set {
	case "ForAllValues":
		return !slices.Contains(results, false), true, ""
	case "ForAnyValue":
		return slices.Contains(results, true), true, ""
	}
	// A single-valued key: its one value decides.
	return results[0], true, ""
}

// matcher returns the comparison of an operator (without IfExists) and
// whether it is negated.
func matcher(op string) (func(want, got string) (bool, bool), bool, bool) {
	str := func(f func(w, g string) bool) func(w, g string) (bool, bool) {
		return func(w, g string) (bool, bool) { return f(w, g), true }
	}
	switch op {
	case "StringEquals", "StringNotEquals":
		return str(func(w, g string) bool { return w == g }), op == "StringNotEquals", true
	case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
		return str(strings.EqualFold), op == "StringNotEqualsIgnoreCase", true
	case "StringLike", "StringNotLike":
		return str(Glob), op == "StringNotLike", true
	case "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike":
		// ArnEquals and ArnLike both match each ARN component with * and ?.
		return str(arnMatch), strings.Contains(op, "Not"), true
	case "Bool":
		return str(strings.EqualFold), false, true
	case "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals":
		return func(w, g string) (bool, bool) {
			a, err1 := strconv.ParseFloat(g, 64)
			b, err2 := strconv.ParseFloat(w, 64)
			if err1 != nil || err2 != nil {
				return false, false
			}
			return compare(strings.TrimPrefix(op, "Numeric"), a, b), true
		}, op == "NumericNotEquals", true
	case "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals":
		return func(w, g string) (bool, bool) {
			a, ok1 := parseDate(g)
			b, ok2 := parseDate(w)
			if !ok1 || !ok2 {
				return false, false
			}
			return compare(strings.TrimPrefix(op, "Date"), float64(a.Unix()), float64(b.Unix())), true
		}, op == "DateNotEquals", true
	}
	return nil, false, false
}

func compare(rel string, a, b float64) bool {
	switch rel {
	case "LessThan":
		return a < b
	case "LessThanEquals":
		return a <= b
	case "GreaterThan":
		return a > b
	case "GreaterThanEquals":
		return a >= b
	}
	return a == b // Equals, NotEquals (negated by the caller)
}

func parseDate(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, true
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

// arnMatch matches an ARN against a pattern component by component (six
// colon-separated parts; the last may hold colons).
func arnMatch(pattern, arn string) bool {
	p := strings.SplitN(pattern, ":", 6)
	a := strings.SplitN(arn, ":", 6)
	if len(p) != 6 || len(a) != 6 {
		return Glob(pattern, arn)
	}
	for i := range p {
		if !Glob(p[i], a[i]) {
			return false
		}
	}
	return true
}

// substitute replaces policy variables (${aws:PrincipalAccount}, and the
// escapes ${*}, ${?}, ${$}) with the request's single values.
func substitute(s string, req Request) (string, bool) {
	if !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		b.WriteString(s[:i])
		name := s[i+2 : i+j]
		switch name {
		case "*", "?", "$":
			b.WriteString(name)
		default:
			key, def, hasDef := strings.Cut(name, ", '")
			v, ok := req.value(strings.TrimSpace(key))
			switch {
			case ok && len(v) == 1:
				b.WriteString(v[0])
			case hasDef:
				b.WriteString(strings.TrimSuffix(def, "'"))
			default:
				return "", false
			}
		}
		s = s[i+j+1:]
	}
}

// Glob matches s against a pattern where * is any run of characters and
// ? is one character.
func Glob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
