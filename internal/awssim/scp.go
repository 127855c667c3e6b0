package awssim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// fullAWSAccessID is the AWS managed SCP attached to every target.
const fullAWSAccessID = "p-FullAWSAccess"

const fullAWSAccessContent = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "*",
      "Resource": "*"
    }
  ]
}`

// policyDoc is the part of an IAM policy document the server evaluates.
type policyDoc struct {
	Statements []statement
}

type statement struct {
	Sid       string
	Effect    string
	Action    []string
	NotAction []string
	Resource  []string
	// NotResource, when set, makes the statement apply to every resource
	// but those (Resource is then empty).
	NotResource []string
	// Condition maps operator -> key -> values.
	Condition map[string]map[string][]string
}

// stringList decodes a JSON string or array of strings.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("want a string or a list of strings")
	}
	*l = many
	return nil
}

// decodeStatements reads a policy's Statement, which is one statement
// object or an array of them.
func decodeStatements[T any](raw json.RawMessage) ([]T, error) {
	if len(raw) > 0 && raw[0] == '{' {
		var one T
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, fmt.Errorf("statement: %w", err)
		}
		return []T{one}, nil
	}
	var list []T
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	return list, nil
}

func parsePolicy(content string) (*policyDoc, error) {
	var raw struct {
		Version   string
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(content), &raw); err != nil {
		return nil, fmt.Errorf("not a JSON policy document: %w", err)
	}
	type rawStatement struct {
		Sid         string
		Effect      string
		Action      stringList
		NotAction   stringList
		Resource    stringList
		NotResource stringList
		Condition   map[string]map[string]stringList
	}
	list, err := decodeStatements[rawStatement](raw.Statement)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errors.New("no statements")
	}
	doc := &policyDoc{}
	for i, r := range list {
		if r.Effect != "Allow" && r.Effect != "Deny" {
			return nil, fmt.Errorf("statement %d: effect %q: want Allow or Deny", i, r.Effect)
		}
		if len(r.Action) == 0 && len(r.NotAction) == 0 {
			return nil, fmt.Errorf("statement %d: no Action or NotAction", i)
		}
		st := statement{Sid: r.Sid, Effect: r.Effect, Action: r.Action, NotAction: r.NotAction, Resource: r.Resource, NotResource: r.NotResource}
		if len(st.Resource) == 0 && len(st.NotResource) == 0 {
			st.Resource = []string{"*"}
		}
		if len(r.Condition) > 0 {
			st.Condition = map[string]map[string][]string{}
			for op, kv := range r.Condition {
				st.Condition[op] = map[string][]string{}
				for k, v := range kv {
					st.Condition[op][k] = v
				}
			}
		}
		doc.Statements = append(doc.Statements, st)
	}
	return doc, nil
}

// requestContext is what a policy is evaluated against.
type requestContext struct {
	action   string            // iam:GetUser
	resource string            // the ARN acted on
	keys     map[string]string // lower-case condition key -> value
}

// denies returns the statement id (or its index) of the first Deny
// statement that applies to rc.
func (d *policyDoc) denies(rc requestContext) (string, bool) {
	for i, st := range d.Statements {
		if st.Effect != "Deny" || !st.matchesAction(rc.action) || !st.matchesResource(rc.resource) {
			continue
		}
		if !st.conditionsHold(rc.keys) {
			continue
		}
		if st.Sid != "" {
			return st.Sid, true
		}
		return fmt.Sprintf("statement %d", i), true
	}
	return "", false
}

func (st statement) matchesAction(action string) bool {
	if len(st.NotAction) > 0 {
		for _, a := range st.NotAction {
			if globMatch(strings.ToLower(a), strings.ToLower(action)) {
				return false
			}
		}
		return true
	}
	for _, a := range st.Action {
		if globMatch(strings.ToLower(a), strings.ToLower(action)) {
			return true
		}
	}
	return false
}

func (st statement) matchesResource(resource string) bool {
	if len(st.NotResource) > 0 {
		for _, r := range st.NotResource {
			if r == "*" || globMatch(r, resource) {
				return false
			}
		}
		return true
	}
	for _, r := range st.Resource {
		if r == "*" || globMatch(r, resource) {
			return true
		}
	}
	return false
}

// conditionsHold evaluates every condition block; all must hold. An
// operator the server does not know makes the statement not apply.
func (st statement) conditionsHold(keys map[string]string) bool {
	for op, kv := range st.Condition {
		for key, want := range kv {
			v, present := keys[strings.ToLower(key)]
			if !conditionHolds(op, v, present, substitute(want, keys)) {
				return false
			}
		}
	}
	return true
}

func conditionHolds(op, v string, present bool, want []string) bool {
	base, ifExists := strings.CutSuffix(op, "IfExists")
	if base == "Null" {
		for _, w := range want {
			if strings.EqualFold(w, "true") == !present {
				return true
			}
		}
		return false
	}
	negated := strings.Contains(base, "Not")
	if !present {
		return ifExists || negated
	}
	var match func(w string) bool
	switch base {
	case "StringEquals", "StringNotEquals":
		match = func(w string) bool { return w == v }
	case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
		match = func(w string) bool { return strings.EqualFold(w, v) }
	case "StringLike", "StringNotLike", "ArnLike", "ArnNotLike", "ArnEquals", "ArnNotEquals":
		match = func(w string) bool { return globMatch(w, v) }
	case "Bool":
		match = func(w string) bool { return strings.EqualFold(w, v) }
	default:
		return false
	}
	matched := false
	for _, w := range want {
		if match(w) {
			matched = true
			break
		}
	}
	if negated {
		return !matched
	}
	return matched
}

// substitute replaces the policy variables (${aws:PrincipalAccount}) in
// condition values with the request's keys; an unknown variable is left
// as written, so it matches nothing.
func substitute(values []string, keys map[string]string) []string {
	var out []string
	for _, v := range values {
		for {
			i := strings.Index(v, "${")
			j := strings.Index(v[max(i, 0):], "}")
			if i < 0 || j < 0 {
				break
			}
			val, ok := keys[strings.ToLower(v[i+2:i+j])]
			if !ok {
				break
			}
			v = v[:i] + val + v[i+j+1:]
		}
		out = append(out, v)
	}
	return out
}

// globMatch matches s against a pattern where * is any run of characters
// and ? is one character.
func globMatch(pattern, s string) bool {
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
