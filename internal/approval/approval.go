// Package approval reads the approvals that make a root-user action
// intended: who asked, who approved, for which account, in which window.
package approval

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Approval allows root use in one account during one window.
type Approval struct {
	ID      string `yaml:"id" json:"id"`
	Account string `yaml:"account" json:"account"`
	// Task is what the approval allows; empty (approvals written before
	// tasks, or kept in a file) allows every task.
	Task      Task      `yaml:"task,omitempty" json:"task,omitempty"`
	From      time.Time `yaml:"from" json:"from"`
	Until     time.Time `yaml:"until" json:"until"`
	Requester string    `yaml:"requester" json:"requester"`
	Approver  string    `yaml:"approver" json:"approver"`
	Reason    string    `yaml:"reason" json:"reason"`
}

// Covers reports whether the approval covers an action in account at t.
// The window includes both ends.
func (a *Approval) Covers(account string, t time.Time) bool {
	return a.Account == account && !t.Before(a.From) && !t.After(a.Until)
}

// Allows reports whether the approval allows task: its own task, or any
// task when it names none.
func (a *Approval) Allows(task Task) bool { return a.Task == "" || a.Task == task }

// Set is a validated list of approvals.
type Set struct {
	items []Approval
}

// Items returns the approvals in file order.
func (s *Set) Items() []Approval {
	if s == nil {
		return nil
	}
	return slices.Clone(s.items)
}

// Find returns the approval covering an action in account at t, or nil.
// When several do, the one whose window started last wins.
func (s *Set) Find(account string, t time.Time) *Approval {
	if s == nil {
		return nil
	}
	var best *Approval
	for i := range s.items {
		a := &s.items[i]
		if a.Covers(account, t) && (best == nil || a.From.After(best.From)) {
			best = a
		}
	}
	return best
}

// FieldError names the entry and field of an invalid approval.
type FieldError struct {
	Entry int    // 1-based position in the file
	ID    string // the entry's id, if it has one
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	who := fmt.Sprintf("approval %d", e.Entry)
	if e.ID != "" {
		who += fmt.Sprintf(" (%s)", e.ID)
	}
	return fmt.Sprintf("%s: %s: %s", who, e.Field, e.Msg)
}

// file is the document shape.
type file struct {
	Approvals []Approval `yaml:"approvals"`
}

var accountRE = regexp.MustCompile(`^[0-9]{12}$`)

// Load reads and validates an approvals file.
func Load(path string) (*Set, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("approval: %w", err)
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("approval: %s: %w", path, err)
	}
	return s, nil
}

// Parse reads and validates approvals from YAML. Every problem is
// reported, not just the first.
func Parse(b []byte) (*Set, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty file: expected a list of approvals")
		}
		return nil, fmt.Errorf("parse: %w", err)
	}
	var errs []error
	seen := map[string]int{}
	for i := range f.Approvals {
		a := &f.Approvals[i]
		bad := func(field, msg string) {
			errs = append(errs, &FieldError{Entry: i + 1, ID: a.ID, Field: field, Msg: msg})
		}
		a.ID = strings.TrimSpace(a.ID)
		switch {
		case a.ID == "":
			bad("id", "missing")
		case seen[a.ID] > 0:
			bad("id", fmt.Sprintf("duplicate of approval %d", seen[a.ID]))
		default:
			seen[a.ID] = i + 1
		}
		if !accountRE.MatchString(a.Account) {
			bad("account", fmt.Sprintf("%q is not a 12-digit account id (quote it in YAML)", a.Account))
		}
		if a.Task != "" {
			if _, err := ParseTask(string(a.Task)); err != nil {
				bad("task", err.Error())
			}
		}
		if a.From.IsZero() {
			bad("from", "missing (an RFC 3339 time)")
		}
		if a.Until.IsZero() {
			bad("until", "missing (an RFC 3339 time)")
		}
		if !a.From.IsZero() && !a.Until.IsZero() && !a.Until.After(a.From) {
			bad("until", "must be after from")
		}
		if strings.TrimSpace(a.Requester) == "" {
			bad("requester", "missing")
		}
		if strings.TrimSpace(a.Approver) == "" {
			bad("approver", "missing")
		} else if strings.EqualFold(strings.TrimSpace(a.Approver), strings.TrimSpace(a.Requester)) {
			bad("approver", "must differ from the requester")
		}
		a.From, a.Until = a.From.UTC(), a.Until.UTC()
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Set{items: f.Approvals}, nil
}
