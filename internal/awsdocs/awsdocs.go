// Package awsdocs holds documents AWS publishes that both rootguard and
// its simulator read, checked in under testdata as AWS publishes them
// (each folder's SOURCE.md says where from): today the five root-task
// policies that sts:AssumeRoot accepts (testdata/roottask).
//
// It gives the documents, not their meaning: the product
// (internal/detect, internal/rootsession) and the simulator
// (internal/awssim) each read them with their own code, so the simulator
// cannot hide a mistake in the product's reading.
package awsdocs

import (
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

//go:embed testdata/roottask/*.json
var rootTask embed.FS

// RootTaskPolicy is one version of a root-task policy, as
// iam:GetPolicyVersion returns it.
type RootTaskPolicy struct {
	Name       string
	VersionID  string
	CreateDate string
	// Document is the policy document, verbatim JSON.
	Document json.RawMessage
}

// RootTaskPolicies returns the root-task policies, by name.
func RootTaskPolicies() ([]RootTaskPolicy, error) {
	entries, err := rootTask.ReadDir("testdata/roottask")
	if err != nil {
		return nil, fmt.Errorf("awsdocs: %w", err)
	}
	var out []RootTaskPolicy
	for _, e := range entries {
		b, err := rootTask.ReadFile("testdata/roottask/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("awsdocs: %w", err)
		}
		var v struct {
			PolicyVersion struct {
				VersionId  string
				CreateDate string
				Document   json.RawMessage
			}
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("awsdocs: %s: %w", e.Name(), err)
		}
		out = append(out, RootTaskPolicy{Name: strings.TrimSuffix(e.Name(), ".json"), VersionID: v.PolicyVersion.VersionId,
			CreateDate: v.PolicyVersion.CreateDate, Document: v.PolicyVersion.Document})
	}
	slices.SortFunc(out, func(a, b RootTaskPolicy) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
