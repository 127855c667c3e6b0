package mode

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rootguard/rootguard/internal/audit"
)

// OUPaths maps OU ids to their paths as audit reports them
// (ou-ex12-prod0001 -> Root/Workloads/Prod).
type OUPaths map[string]string

// Policy is a configuration with every OU as a path: what decides each
// account's mode.
type Policy struct {
	def        Mode
	rules      []rule
	exceptions map[string]exceptionAt
}

type rule struct {
	path    string
	written string // as the file gives it: the path or the ou- id
	mode    Mode
	enforce bool
	entry   int
}

type exceptionAt struct {
	Exception
	entry int
}

// Decision is the mode an account (or OU) is held to, and why.
type Decision struct {
	Mode Mode `json:"mode"`
	// Source says where the mode comes from: default, an OU entry (set
	// there or inherited), an exception, or the management-account rule.
	Source string `json:"source"`
	// Configured is what the configuration alone would give, when the
	// management-account rule overrode it.
	Configured Mode `json:"configured,omitempty"`
	// Enforce says the deployed function deletes a new account's root
	// credentials: a strict mode from an OU entry with enforce: true
	// (never from an exception, the default or for the management
	// account).
	Enforce bool `json:"enforce,omitempty"`
}

// Resolve turns the configuration's OU ids into paths. An id missing from
// paths is an error naming its entry.
func (c *Config) Resolve(paths OUPaths) (*Policy, error) {
	p := &Policy{def: c.Default, exceptions: map[string]exceptionAt{}}
	var errs []error
	seen := map[string]int{}
	for i, r := range c.OUs {
		path := r.OU
		if IsOUID(r.OU) {
			var ok bool
			if path, ok = paths[r.OU]; !ok {
				errs = append(errs, &FieldError{Entry: fmt.Sprintf("ous[%d]", i), Field: "ou", Msg: fmt.Sprintf("%s: no such OU in the organization", r.OU)})
				continue
			}
		}
		if j, dup := seen[path]; dup {
			errs = append(errs, &FieldError{Entry: fmt.Sprintf("ous[%d]", i), Field: "ou", Msg: fmt.Sprintf("%s (%s) is the OU of ous[%d] too", r.OU, path, j)})
			continue
		}
		seen[path] = i
		p.rules = append(p.rules, rule{path: path, written: r.OU, mode: r.Mode, enforce: r.Enforce && r.Mode == Strict, entry: i})
	}
	for i, x := range c.Exceptions {
		p.exceptions[x.Account] = exceptionAt{x, i}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// under reports whether path is dir or below it.
func under(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// ForOU is the mode of an OU, by path: its own entry, the nearest
// ancestor's, or the default.
func (p *Policy) ForOU(path string) Decision {
	best := -1
	for i, r := range p.rules {
		if under(path, r.path) && (best < 0 || len(r.path) > len(p.rules[best].path)) {
			best = i
		}
	}
	if best < 0 {
		return Decision{Mode: p.def, Source: "default"}
	}
	r := p.rules[best]
	name := r.path
	if r.written != r.path {
		name = r.written + " = " + r.path
	}
	if r.path == path {
		return Decision{Mode: r.mode, Enforce: r.enforce, Source: fmt.Sprintf("ous[%d] %s", r.entry, name)}
	}
	return Decision{Mode: r.mode, Enforce: r.enforce, Source: fmt.Sprintf("inherited from ous[%d] %s", r.entry, name)}
}

// For is an account's mode: its exception, else its OU's. The management
// account is never strict.
func (p *Policy) For(a *audit.Account) Decision {
	d := p.ForOU(a.OUPath)
	if x, ok := p.exceptions[a.ID]; ok {
		d = Decision{Mode: x.Mode, Source: fmt.Sprintf("exceptions[%d]: %s", x.entry, x.Reason)}
	}
	if a.Management && d.Mode == Strict {
		return Decision{Mode: Flexible, Configured: Strict,
			Source: "management account, never strict (" + d.Source + " says strict)"}
	}
	return d
}

// Warnings name the parts of the configuration that match nothing in the
// report: OUs without audited accounts at or below them, exceptions for
// accounts not in the organization.
func (p *Policy) Warnings(rep *audit.Report) []string {
	var out []string
	for _, r := range p.rules {
		if !slices.ContainsFunc(rep.Accounts, func(a *audit.Account) bool { return under(a.OUPath, r.path) }) {
			out = append(out, fmt.Sprintf("ous[%d] %s: no account of the audit is at or below it (a typo, or an empty OU)", r.entry, r.written))
		}
	}
	var ids []string
	for id := range p.exceptions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		x := p.exceptions[id]
		i := slices.IndexFunc(rep.Accounts, func(a *audit.Account) bool { return a.ID == id })
		switch {
		case i < 0:
			out = append(out, fmt.Sprintf("exceptions[%d] %s: not an account of the audited organization", x.entry, id))
		case rep.Accounts[i].Management && x.Mode == Strict:
			out = append(out, fmt.Sprintf("exceptions[%d] %s: the management account is never strict; held to flexible", x.entry, id))
		}
	}
	return out
}

// Strict reports whether accounts in the OU at path are held to strict
// mode (by its own entry, an ancestor's or the default).
func (p *Policy) Strict(path string) bool { return p.ForOU(path).Mode == Strict }

// Enforced lists the OU entries with enforce: true, as the file writes
// them (with the path when the file gives an id), in file order.
func (p *Policy) Enforced() []string {
	var out []string
	for _, r := range p.rules {
		if r.enforce {
			name := r.path
			if r.written != r.path {
				name = r.written + " (" + r.path + ")"
			}
			out = append(out, name)
		}
	}
	return out
}
