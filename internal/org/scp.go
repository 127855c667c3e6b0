package org

import (
	"encoding/json"
	"fmt"
	"strings"
)

// RootDenySCP is a service control policy that denies the root user.
type RootDenySCP struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Target string `json:"target"` // where it is attached: the root, an OU or the account
	// TargetID is the id of the root, OU or account it is attached to.
	TargetID string `json:"-"`
	// ExemptsRootSessions is true when the deny leaves aws:AssumedRoot
	// sessions alone; without it every centralized root session fails.
	ExemptsRootSessions bool `json:"exemptsRootSessions"`
}

// policyDoc is the part of an IAM policy document the SCP check reads.
type policyDoc struct {
	Statement oneOrMany[statement] `json:"Statement"`
}

type statement struct {
	Effect    string                    `json:"Effect"`
	Condition map[string]map[string]any `json:"Condition"`
}

// oneOrMany reads a JSON value that is an object or an array of them.
type oneOrMany[T any] []T

func (o *oneOrMany[T]) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		var many []T
		err := json.Unmarshal(b, &many)
		*o = many
		return err
	}
	var one T
	err := json.Unmarshal(b, &one)
	*o = []T{one}
	return err
}

// AnalyzeSCP reports whether a policy denies the root user, and if so
// whether it exempts centralized root sessions (a condition on
// aws:AssumedRoot in the denying statement).
func AnalyzeSCP(content string) (deniesRoot, exempts bool, err error) {
	var doc policyDoc
	if err := json.Unmarshal([]byte(content), &doc); err != nil {
		return false, false, fmt.Errorf("policy document: %w", err)
	}
	exempts = true
	for _, st := range doc.Statement {
		if !strings.EqualFold(st.Effect, "Deny") || !targetsRoot(st.Condition) {
			continue
		}
		deniesRoot = true
		if !mentionsKey(st.Condition, "aws:assumedroot") {
			exempts = false
		}
	}
	if !deniesRoot {
		exempts = false
	}
	return deniesRoot, exempts, nil
}

// targetsRoot reports whether a condition restricts a statement to root
// principals (aws:PrincipalArn like arn:aws:iam::*:root).
func targetsRoot(cond map[string]map[string]any) bool {
	for op, kv := range cond {
		if strings.HasPrefix(strings.ToLower(op), "stringnot") || strings.HasPrefix(strings.ToLower(op), "arnnot") {
			continue
		}
		for k, v := range kv {
			if !strings.EqualFold(k, "aws:PrincipalArn") {
				continue
			}
			for _, s := range stringsOf(v) {
				if strings.HasSuffix(s, ":root") {
					return true
				}
			}
		}
	}
	return false
}

func mentionsKey(cond map[string]map[string]any, key string) bool {
	for _, kv := range cond {
		for k := range kv {
			if strings.ToLower(k) == key {
				return true
			}
		}
	}
	return false
}

func stringsOf(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
