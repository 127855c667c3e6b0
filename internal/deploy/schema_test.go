package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// The resource provider schemas in testdata/schemas were printed once by
// rain (v1.24.4), which embeds the CloudFormation registry's schemas:
//
//	go run github.com/aws-cloudformation/rain/cmd/rain@v1.24.4 build -s AWS::Events::Rule > aws-events-rule.json
//
// (rain build -s reads its embedded copy when no AWS configuration is
// asked for; the files equal rain's internal/aws/cfn/schemas/aws/*).
// aws-scheduler-schedule.json, aws-s3-bucket.json and
// aws-s3-bucketpolicy.json are cfn-lint 1.51.0's copies of the registry
// schemas for us-east-1 (descriptions dropped), printed with
//
//	python3 -c 'import json; from cfnlint.schema import PROVIDER_SCHEMA_MANAGER as m; print(json.dumps(m.get_resource_schema("us-east-1", "AWS::Scheduler::Schedule").schema, indent=2, sort_keys=True))'
//
// Neither rain nor cfn-lint is needed to run these schema tests (TestCfnLint runs
// cfn-lint where it is installed). A template using a new
// resource type fails TestTemplatesMatchSchemas until its schema is added.

// resourceSchema is one provider schema, with the definitions $ref
// resolves against.
type resourceSchema struct {
	typeName string
	root     map[string]any
	// unsupported counts schema patterns Go's regexp cannot compile
	// (ECMA-262 look-arounds); those values are not checked.
	unsupported map[string]bool
}

func loadSchemas(t *testing.T) map[string]*resourceSchema {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "schemas", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no schemas in testdata/schemas: %v", err)
	}
	out := map[string]*resourceSchema{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v, err := decode(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		root, _ := v.(map[string]any)
		name, _ := root["typeName"].(string)
		if name == "" {
			t.Fatalf("%s: no typeName", f)
		}
		out[name] = &resourceSchema{typeName: name, root: root, unsupported: map[string]bool{}}
	}
	return out
}

// validate checks a resource's Properties against the schema: required
// properties, no unknown or read-only property, types, enums, lengths,
// patterns, ranges, item counts, and nested definitions through $ref,
// anyOf and oneOf. An intrinsic function stands for any value.
func (s *resourceSchema) validate(props map[string]any) []string {
	var errs []string
	top := map[string]any{
		"type":                 "object",
		"properties":           s.root["properties"],
		"required":             s.root["required"],
		"additionalProperties": false,
	}
	s.check(top, props, "", &errs)
	ro, _ := s.root["readOnlyProperties"].([]any)
	for _, p := range ro {
		path, _ := p.(string)
		name, ok := strings.CutPrefix(path, "/properties/")
		if ok && !strings.Contains(name, "/") {
			if _, set := props[name]; set {
				errs = append(errs, fmt.Sprintf("%s: read-only property set", name))
			}
		}
	}
	sort.Strings(errs)
	return errs
}

func isIntrinsic(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

func (s *resourceSchema) resolve(node map[string]any) map[string]any {
	for i := 0; i < 16; i++ {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		name, ok := strings.CutPrefix(ref, "#/definitions/")
		defs, _ := s.root["definitions"].(map[string]any)
		def, found := defs[name].(map[string]any)
		if !ok || !found {
			return map[string]any{"$unresolved": ref}
		}
		node = def
	}
	return node
}

func (s *resourceSchema) check(node map[string]any, v any, path string, errs *[]string) {
	if isIntrinsic(v) {
		return
	}
	node = s.resolve(node)
	at := path
	if at == "" {
		at = "(properties)"
	}
	bad := func(format string, args ...any) { *errs = append(*errs, at+": "+fmt.Sprintf(format, args...)) }
	if ref, ok := node["$unresolved"]; ok {
		bad("schema $ref %v does not resolve", ref)
		return
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		alts, ok := node[key].([]any)
		if !ok {
			continue
		}
		matched := 0
		var first []string
		for _, a := range alts {
			am, _ := a.(map[string]any)
			var sub []string
			s.check(am, v, path, &sub)
			if len(sub) == 0 {
				matched++
			} else if first == nil {
				first = sub
			}
		}
		if matched == 0 || (key == "oneOf" && matched > 1) {
			bad("%s: %d alternatives match (first mismatch: %s)", key, matched, strings.Join(first, "; "))
			return
		}
	}
	if all, ok := node["allOf"].([]any); ok {
		for _, a := range all {
			am, _ := a.(map[string]any)
			s.check(am, v, path, errs)
		}
	}
	if types := schemaTypes(node["type"]); len(types) > 0 {
		if !slices.ContainsFunc(types, func(t string) bool { return hasType(v, t) }) {
			bad("%s is not of type %s", jsonKind(v), strings.Join(types, " or "))
			return
		}
	}
	if enum, ok := node["enum"].([]any); ok {
		if !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
			bad("%s is not one of %v", jsonKind(v), enum)
		}
	}
	switch v := v.(type) {
	case string:
		n := utf8.RuneCountInString(v)
		if min, ok := number(node["minLength"]); ok && float64(n) < min {
			bad("%q is shorter than %v", v, min)
		}
		if max, ok := number(node["maxLength"]); ok && float64(n) > max {
			bad("%q is longer than %v", v, max)
		}
		if p, ok := node["pattern"].(string); ok {
			re, err := regexp.Compile(p)
			switch {
			case err != nil:
				s.unsupported[p] = true
			case !re.MatchString(v):
				bad("%q does not match %s", v, p)
			}
		}
	case json.Number:
		f, _ := v.Float64()
		if min, ok := number(node["minimum"]); ok && f < min {
			bad("%v is below %v", v, min)
		}
		if max, ok := number(node["maximum"]); ok && f > max {
			bad("%v is above %v", v, max)
		}
	case []any:
		if min, ok := number(node["minItems"]); ok && float64(len(v)) < min {
			bad("%d items, fewer than %v", len(v), min)
		}
		if max, ok := number(node["maxItems"]); ok && float64(len(v)) > max {
			bad("%d items, more than %v", len(v), max)
		}
		if items, ok := node["items"].(map[string]any); ok {
			for i, x := range v {
				s.check(items, x, path+"["+strconv.Itoa(i)+"]", errs)
			}
		}
		if unique, _ := node["uniqueItems"].(bool); unique {
			seen := map[string]bool{}
			for _, x := range v {
				b, _ := json.Marshal(x)
				if seen[string(b)] {
					bad("item %s repeated in a uniqueItems array", b)
				}
				seen[string(b)] = true
			}
		}
	case map[string]any:
		props, _ := node["properties"].(map[string]any)
		if req, ok := node["required"].([]any); ok {
			for _, r := range req {
				if _, ok := v[r.(string)]; !ok {
					bad("required property %s missing", r)
				}
			}
		}
		patternProps, _ := node["patternProperties"].(map[string]any)
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub := joinPath(path, k)
			if p, ok := props[k].(map[string]any); ok {
				s.check(p, v[k], sub, errs)
				continue
			}
			matched := false
			for pat, p := range patternProps {
				if re, err := regexp.Compile(pat); err == nil && re.MatchString(k) {
					pm, _ := p.(map[string]any)
					s.check(pm, v[k], sub, errs)
					matched = true
				}
			}
			if !matched && node["additionalProperties"] == false {
				bad("unknown property %s", k)
			}
		}
	}
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func schemaTypes(t any) []string {
	switch t := t.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func hasType(v any, t string) bool {
	switch t {
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		_, err := strconv.ParseInt(string(n), 10, 64)
		return ok && err == nil
	}
	return false
}

func jsonKind(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("string %q", v)
	case json.Number:
		return "number " + string(v)
	case bool:
		return fmt.Sprintf("boolean %v", v)
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// TestSchemaValidatorCatches shows the validator rejects what
// CloudFormation would: each case breaks one rule.
func TestSchemaValidatorCatches(t *testing.T) {
	schemas := loadSchemas(t)
	tests := []struct {
		typ, props, want string
	}{
		{"AWS::Events::Rule", `{"State": "ON"}`, `State: string "ON" is not one of`},
		{"AWS::Events::Rule", `{"Bogus": 1}`, "unknown property Bogus"},
		{"AWS::Events::Rule", `{"Targets": [{"Id": "x"}]}`, "Targets[0]: required property Arn missing"},
		{"AWS::Events::Rule", `{"Targets": [{"Id": "x", "Arn": "y", "RetryPolicy": {"MaximumRetryAttempts": "3"}}]}`, "is not of type integer"},
		{"AWS::Events::Rule", `{"Arn": "arn:aws:events:us-east-1:111111111111:rule/x"}`, "Arn: read-only property set"},
		{"AWS::Lambda::Function", `{"Role": "r", "Code": {}, "Architectures": ["sparc"]}`, `Architectures[0]: string "sparc" is not one of`},
		{"AWS::Lambda::Function", `{"Role": "r", "Code": {}, "Timeout": 0}`, "Timeout: 0 is below 1"},
		{"AWS::DynamoDB::Table", `{"KeySchema": [{"AttributeName": "pk"}]}`, "KeySchema[0]: required property KeyType missing"},
		{"AWS::SQS::Queue", `{"MessageRetentionPeriod": 1.5}`, "is not of type integer"},
		{"AWS::IAM::Role", `{}`, "required property AssumeRolePolicyDocument missing"},
	}
	for _, tt := range tests {
		var props map[string]any
		v, err := decode([]byte(tt.props))
		if err != nil {
			t.Fatal(err)
		}
		props = v.(map[string]any)
		errs := schemas[tt.typ].validate(props)
		if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tt.want) }) {
			t.Errorf("%s %s: errors %q, want one containing %q", tt.typ, tt.props, errs, tt.want)
		}
	}
	// An intrinsic function is accepted wherever a value goes.
	if errs := schemas["AWS::Events::Rule"].validate(map[string]any{"State": map[string]any{"Ref": "P"}}); len(errs) > 0 {
		t.Errorf("intrinsic rejected: %q", errs)
	}
}
