package remediate

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzDecodePlan: a plan file is input a careless or hostile hand may
// have edited. Whatever its bytes, DecodePlan does not panic, and a plan
// it accepts — as written, or with its digest made right again, which is
// what someone forging a plan would do — changes only 12-digit member
// accounts, never the management account, each listed once, with steps
// of its kind; re-encoding it gives a plan that decodes the same.
func FuzzDecodePlan(f *testing.F) {
	good := &Plan{Version: PlanVersion, Kind: KindDeleteCredentials, ManagementAccount: exMgmt, Accounts: []AccountPlan{
		{Account: exProd, Action: ActionDelete, Steps: []Step{newStep(OpDeleteAccessKey, "AKIA1"), newStep(OpDeleteLoginProfile, "root")}},
		{Account: exSandbox, Action: ActionSkip, Reason: "no root credentials"},
	}}
	doc, err := good.Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(doc)
	f.Add([]byte(`{"version":1,"kind":"delete-credentials","managementAccount":"111111111111","accounts":[{"account":"111111111111","action":"delete-credentials","steps":[{"key":"DeleteLoginProfile:root","op":"DeleteLoginProfile","target":"root"}]}]}`))
	f.Add([]byte(`{"version":1,"kind":"allow-recovery","accounts":[{"account":"12","action":"allow-recovery","steps":[]}],"extra":1}`))
	f.Add([]byte(`{"version":1,"kind":"delete-credentials","accounts":[{"account":"333333333333","action":"delete-credentials","steps":[{"key":"x","op":"DeleteAccessKey","target":""}]}]}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(what string, p *Plan) {
			if err := p.Validate(); err != nil {
				t.Fatalf("%s: accepted plan does not validate: %v", what, err)
			}
			seen := map[string]bool{}
			for _, a := range p.Accounts {
				if !reAccount().MatchString(a.Account) || seen[a.Account] {
					t.Fatalf("%s: account %q accepted (seen %v)", what, a.Account, seen[a.Account])
				}
				seen[a.Account] = true
				if len(a.Steps) > 0 && a.Account == p.ManagementAccount {
					t.Fatalf("%s: the management account %s is a target", what, a.Account)
				}
			}
			again, err := p.Encode()
			if err != nil {
				t.Fatalf("%s: re-encode: %v", what, err)
			}
			q, err := DecodePlan(again)
			if err != nil {
				t.Fatalf("%s: re-encoded plan refused: %v", what, err)
			}
			if q.Digest != p.Digest || len(q.Accounts) != len(p.Accounts) {
				t.Fatalf("%s: re-encoded plan differs", what)
			}
		}
		if p, err := DecodePlan(b); err == nil {
			check("as written", p)
		} else if p != nil {
			t.Fatalf("a plan and an error: %v", err)
		}
		var p Plan
		if json.Unmarshal(b, &p) != nil {
			return
		}
		forged, err := p.Encode()
		if err != nil {
			return
		}
		q, err := DecodePlan(forged)
		if err != nil {
			if !errors.Is(err, ErrInvalidPlan) {
				t.Fatalf("refused without ErrInvalidPlan: %v", err)
			}
			return
		}
		check("digest remade", q)
	})
}
