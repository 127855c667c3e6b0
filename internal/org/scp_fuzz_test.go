package org

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzAnalyzeSCP: any policy document (an SCP's content is written by
// whoever administers the organization) is an error only when it is not
// JSON of a policy's shape; a policy that exempts root sessions denies
// root; and a policy without a Deny statement never denies root.
func FuzzAnalyzeSCP(f *testing.F) {
	for _, s := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringLike":{"aws:PrincipalArn":["arn:aws:iam::*:root"]}}}]}`,
		`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"},"Null":{"aws:AssumedRoot":"true"}}}}`,
		`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
		`{"Statement":[{"Effect":"Deny","Condition":{"StringLike":{"aws:PrincipalArn":[1,null,{"a":"b"}]}}}]}`,
		`{"Statement":null}`, `{"Statement":[null]}`, `{"Statement":"Deny"}`, `[]`, `null`, `{not json`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		denies, exempts, err := AnalyzeSCP(doc)
		if err != nil {
			if json.Valid([]byte(doc)) && !strings.Contains(err.Error(), "policy document") {
				t.Fatalf("AnalyzeSCP(%q): error %q does not say what it read", doc, err)
			}
			if denies || exempts {
				t.Fatalf("AnalyzeSCP(%q): a verdict with an error", doc)
			}
			return
		}
		if !json.Valid([]byte(doc)) {
			t.Fatalf("AnalyzeSCP(%q): invalid JSON accepted", doc)
		}
		if exempts && !denies {
			t.Fatalf("AnalyzeSCP(%q): exempts root sessions from a deny it does not have", doc)
		}
		if denies && !strings.Contains(strings.ToLower(doc), "deny") && !strings.Contains(doc, `\u`) {
			t.Fatalf("AnalyzeSCP(%q): denies root without a Deny statement", doc)
		}
	})
}
