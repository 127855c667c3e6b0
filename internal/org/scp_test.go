package org

import "testing"

func TestAnalyzeSCP(t *testing.T) {
	tests := []struct {
		name            string
		policy          string
		denies, exempts bool
	}{
		{"classic root deny", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringLike":{"aws:PrincipalArn":["arn:aws:iam::*:root"]}}}]}`, true, false},
		{"root deny exempting root sessions", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"},"Null":{"aws:AssumedRoot":"true"}}}}`, true, true},
		{"deny for someone else", `{"Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/x"}}}]}`, false, false},
		{"allow all", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, false, false},
		{"except root", `{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"}}}]}`, false, false},
	}
	for _, tt := range tests {
		d, e, err := AnalyzeSCP(tt.policy)
		if err != nil || d != tt.denies || e != tt.exempts {
			t.Errorf("%s: denies=%v exempts=%v err=%v", tt.name, d, e, err)
		}
	}
	if _, _, err := AnalyzeSCP(`{not json`); err == nil {
		t.Error("a broken policy must be an error")
	}
}
