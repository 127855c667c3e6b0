package mode

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/rootguard/rootguard/internal/approval"
)

// Mode is how an account's root user is kept.
type Mode string

// The modes.
const (
	Strict   Mode = "strict"
	Flexible Mode = "flexible"
)

func (m Mode) valid() bool { return m == Strict || m == Flexible }

// Config is the rootguard.yaml file:
//
//	default: flexible          # the root's mode
//	ous:
//	  - ou: Root/Workloads/Prod   # an OU path as audit reports it, or an ou- id
//	    mode: strict
//	    enforce: true          # the deployed function deletes new accounts' root credentials here
//	  - ou: ou-ex12-sandbox1
//	    mode: flexible
//	exceptions:                # accounts that keep their own mode, with a reason
//	  - account: "444444444444"
//	    mode: flexible
//	    reason: S3 MFA Delete on the archive bucket needs root
//	approvers:                 # who may approve root use (approval approve):
//	  - arn:aws:sts::*:assumed-role/AWSReservedSSO_SecurityApprover_*/*
//
// An OU's mode applies to its accounts and to every OU below it that has
// none of its own. An exception applies to one account wherever it is.
type Config struct {
	Default    Mode        `yaml:"default" json:"default"`
	OUs        []OURule    `yaml:"ous" json:"ous"`
	Exceptions []Exception `yaml:"exceptions" json:"exceptions"`
	// Approvers are principal ARN patterns (IAM's ArnLike: * and ?) of
	// who may approve root use; see approval.ParsePattern.
	Approvers []string `yaml:"approvers,omitempty" json:"approvers,omitempty"`
}

// OURule sets the mode of an OU and the OUs below it.
type OURule struct {
	// OU is a path from the root as audit reports it (Root/Workloads/Prod;
	// Root alone is the root) or an OU id (ou-ex12-sandbox1).
	OU   string `yaml:"ou" json:"ou"`
	Mode Mode   `yaml:"mode" json:"mode"`
	// Enforce, on a strict OU, lets the deployed function delete the
	// root credentials of an account the moment it is created in, or
	// moved or invited into, the OU or an OU below it that sets no mode
	// of its own (internal/newaccount). Off unless set.
	Enforce bool `yaml:"enforce,omitempty" json:"enforce,omitempty"`
}

// Exception gives one account its own mode.
type Exception struct {
	Account string `yaml:"account" json:"account"`
	Mode    Mode   `yaml:"mode" json:"mode"`
	Reason  string `yaml:"reason" json:"reason"`
}

// FieldError names the entry and field of an invalid configuration.
type FieldError struct {
	Entry string // default, ous[1], exceptions[0]
	Line  int    // 1-based; 0 when unknown
	Field string // empty when the entry itself is wrong
	Msg   string
}

func (e *FieldError) Error() string {
	s := e.Entry
	if e.Line > 0 {
		s += fmt.Sprintf(" (line %d)", e.Line)
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Msg
}

// The patterns are compiled on first use, not at package load, where every
// rootguard command, `rootguard scan` included, paid for them.
var (
	reOUID      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`) })
	reAccountID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{12}$`) })
)

// IsOUID reports whether s is an OU id rather than a path.
func IsOUID(s string) bool { return reOUID().MatchString(s) }

// CheckOUPath reports whether p is an OU path as audit reports it: Root,
// or Root/ and the OUs' names below it, none empty. A path written any
// other way (/Workloads/Prod, Workloads/Prod) would match no account and
// silently decide nothing; the error says how to write it.
func CheckOUPath(p string) error {
	switch {
	case p != "Root" && !strings.HasPrefix(p, "Root/"):
		return fmt.Errorf("%q: an OU path starts at Root (%s), as audit reports it", p, "Root/"+strings.TrimLeft(p, "/"))
	case slices.Contains(strings.Split(p, "/"), ""):
		return fmt.Errorf("%q: empty OU name in the path", p)
	}
	return nil
}

// Load reads and validates a configuration file.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mode: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("mode: %s: %w", path, err)
	}
	return c, nil
}

// fields lists the keys each part of the file may have.
var fields = map[string][]string{
	"":           {"default", "ous", "exceptions", "approvers"},
	"ous":        {"ou", "mode", "enforce"},
	"exceptions": {"account", "mode", "reason"},
}

// Parse reads and validates a configuration. Unknown fields are errors;
// every problem is reported (as a *FieldError), not just the first.
func Parse(b []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, errors.New("empty file: want default, ous and exceptions")
	}
	lines := map[string]int{} // "ous[1].mode" -> line
	if errs := checkShape(doc.Content[0], lines); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if errs := c.validate(lines); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &c, nil
}

// checkShape walks the YAML tree: a mapping of known keys, lists of
// mappings of known keys, scalar values, account ids quoted. It records
// the line of every entry and field.
func checkShape(top *yaml.Node, lines map[string]int) []error {
	var errs []error
	bad := func(entry string, line int, field, format string, args ...any) {
		errs = append(errs, &FieldError{Entry: entry, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if top.Kind != yaml.MappingNode {
		bad("file", top.Line, "", "want a mapping with default, ous and exceptions")
		return errs
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		lines[k.Value] = k.Line
		switch k.Value {
		case "default":
			if v.Kind != yaml.ScalarNode {
				bad("default", v.Line, "", "want strict or flexible")
			}
		case "approvers":
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				continue
			}
			if v.Kind != yaml.SequenceNode {
				bad(k.Value, v.Line, "", "want a list of principal ARN patterns")
				continue
			}
			for j, item := range v.Content {
				lines[fmt.Sprintf("approvers[%d]", j)] = item.Line
				if item.Kind != yaml.ScalarNode {
					bad(fmt.Sprintf("approvers[%d]", j), item.Line, "", "want a principal ARN pattern")
				}
			}
		case "ous", "exceptions":
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				continue
			}
			if v.Kind != yaml.SequenceNode {
				bad(k.Value, v.Line, "", "want a list")
				continue
			}
			for j, item := range v.Content {
				entry := fmt.Sprintf("%s[%d]", k.Value, j)
				lines[entry] = item.Line
				if item.Kind != yaml.MappingNode {
					bad(entry, item.Line, "", "want a mapping of %s", strings.Join(fields[k.Value], ", "))
					continue
				}
				for n := 0; n+1 < len(item.Content); n += 2 {
					f, fv := item.Content[n], item.Content[n+1]
					lines[entry+"."+f.Value] = f.Line
					switch {
					case !slices.Contains(fields[k.Value], f.Value):
						bad(entry, f.Line, f.Value, "unknown field (want %s)", strings.Join(fields[k.Value], ", "))
					case fv.Kind != yaml.ScalarNode:
						bad(entry, fv.Line, f.Value, "want a single value")
					case f.Value == "account" && fv.Tag != "!!str":
						bad(entry, fv.Line, f.Value, "%s: quote the account id (\"%s\"): a YAML number loses leading zeros", fv.Value, fv.Value)
					}
				}
			}
		default:
			bad(k.Value, k.Line, "", "unknown field (want %s)", strings.Join(fields[""], ", "))
		}
	}
	return errs
}

func (c *Config) validate(lines map[string]int) []error {
	var errs []error
	bad := func(entry, field, format string, args ...any) {
		line := lines[entry+"."+field]
		if line == 0 {
			line = lines[entry]
		}
		errs = append(errs, &FieldError{Entry: entry, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	checkMode := func(entry, field string, m Mode) {
		switch {
		case m == "":
			bad(entry, field, "missing (want strict or flexible)")
		case !m.valid():
			bad(entry, field, "%q: want strict or flexible", m)
		}
	}
	checkMode("default", "", c.Default)

	seenOU := map[string]int{}
	for i := range c.OUs {
		r := &c.OUs[i]
		entry := fmt.Sprintf("ous[%d]", i)
		r.OU = strings.TrimSuffix(strings.TrimSpace(r.OU), "/")
		switch {
		case r.OU == "":
			bad(entry, "ou", "missing (an OU path such as Root/Workloads/Prod, or an ou- id)")
		case strings.HasPrefix(r.OU, "ou-") && !IsOUID(r.OU):
			bad(entry, "ou", "%q is not an OU id (ou-<root part>-<8 to 32 letters or digits>)", r.OU)
		case !IsOUID(r.OU) && CheckOUPath(r.OU) != nil:
			bad(entry, "ou", "%v", CheckOUPath(r.OU))
		default:
			if j, dup := seenOU[r.OU]; dup {
				bad(entry, "ou", "%q: duplicate of ous[%d]", r.OU, j)
			} else {
				seenOU[r.OU] = i
			}
		}
		checkMode(entry, "mode", r.Mode)
		if r.Enforce && r.Mode != Strict {
			bad(entry, "enforce", "only a strict OU is enforced (this one is %s)", r.Mode)
		}
	}

	for i, a := range c.Approvers {
		if _, err := approval.ParsePattern(a); err != nil {
			bad(fmt.Sprintf("approvers[%d]", i), "", "%v", err)
		}
	}

	seenAcct := map[string]int{}
	for i := range c.Exceptions {
		x := &c.Exceptions[i]
		entry := fmt.Sprintf("exceptions[%d]", i)
		x.Account = strings.TrimSpace(x.Account)
		switch {
		case x.Account == "":
			bad(entry, "account", "missing (a 12-digit account id, quoted)")
		case !reAccountID().MatchString(x.Account):
			bad(entry, "account", "%q is not a 12-digit account id", x.Account)
		default:
			if j, dup := seenAcct[x.Account]; dup {
				bad(entry, "account", "%s: duplicate of exceptions[%d]", x.Account, j)
			} else {
				seenAcct[x.Account] = i
			}
		}
		checkMode(entry, "mode", x.Mode)
		x.Reason = strings.TrimSpace(x.Reason)
		if x.Reason == "" {
			bad(entry, "reason", "missing: say why this account keeps its own mode")
		}
	}
	return errs
}

// OUIDs lists the OU ids the configuration names (they need the
// organization's OU tree to resolve).
func (c *Config) OUIDs() []string {
	var ids []string
	for _, r := range c.OUs {
		if IsOUID(r.OU) {
			ids = append(ids, r.OU)
		}
	}
	return ids
}
