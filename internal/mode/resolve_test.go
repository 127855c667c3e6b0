package mode

import (
	"slices"
	"strings"
	"testing"

	"github.com/rootguard/rootguard/internal/audit"
)

func mustPolicy(t *testing.T, yaml string, paths OUPaths) *Policy {
	t.Helper()
	c, err := Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Resolve(paths)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var examplePaths = OUPaths{"ou-ex12-sandbox1": "Root/Sandbox", "ou-ex12-prod0001": "Root/Workloads/Prod", "r-ex12": "Root"}

func TestPolicyFor(t *testing.T) {
	p := mustPolicy(t, exampleConfig+`  - account: "111111111111"
    mode: strict
    reason: nobody signs in
`, examplePaths)
	nested := mustPolicy(t, `default: strict
ous:
  - {ou: Root/Workloads, mode: strict}
  - {ou: Root/Workloads/Dev, mode: flexible}
  - {ou: Root/Work, mode: flexible}
`, nil)
	for _, tc := range []struct {
		name   string
		p      *Policy
		a      audit.Account
		want   Mode
		source string
		conf   Mode
	}{
		{"the OU's own entry", p, audit.Account{ID: "333333333333", OUPath: "Root/Workloads/Prod"}, Strict, "ous[0] Root/Workloads/Prod", ""},
		{"inherited by a sub-OU", p, audit.Account{ID: "555555555551", OUPath: "Root/Workloads/Prod/EU"}, Strict, "inherited from ous[0] Root/Workloads/Prod", ""},
		{"the parent OU has no entry", p, audit.Account{ID: "555555555552", OUPath: "Root/Workloads"}, Flexible, "default", ""},
		{"an OU named by id", p, audit.Account{ID: "555555555555", OUPath: "Root/Sandbox"}, Flexible, "ous[1] ou-ex12-sandbox1 = Root/Sandbox", ""},
		{"an exception wins over its OU", p, audit.Account{ID: "444444444444", OUPath: "Root/Workloads/Prod/EU"}, Flexible, "exceptions[0]: S3 MFA Delete on the archive bucket needs root", ""},
		{"the management account is never strict", p, audit.Account{ID: "111111111111", OUPath: "Root", Management: true}, Flexible,
			"management account, never strict (exceptions[1]: nobody signs in says strict)", Strict},
		{"management under a strict default", nested, audit.Account{ID: "111111111111", OUPath: "Root", Management: true}, Flexible,
			"management account, never strict (default says strict)", Strict},
		{"management in a strict OU", nested, audit.Account{ID: "111111111111", OUPath: "Root/Workloads", Management: true}, Flexible,
			"management account, never strict (ous[0] Root/Workloads says strict)", Strict},
		{"the nearest ancestor wins", nested, audit.Account{ID: "666666666661", OUPath: "Root/Workloads/Dev/Team"}, Flexible, "inherited from ous[1] Root/Workloads/Dev", ""},
		{"a name prefix is not a parent", nested, audit.Account{ID: "666666666662", OUPath: "Root/Workloads/Prod"}, Strict, "inherited from ous[0] Root/Workloads", ""},
		{"Root/Work is not Root/Workloads", nested, audit.Account{ID: "666666666663", OUPath: "Root/Workloads"}, Strict, "ous[0] Root/Workloads", ""},
		{"the root", nested, audit.Account{ID: "666666666664", OUPath: "Root"}, Strict, "default", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.p.For(&tc.a)
			if d.Mode != tc.want || d.Source != tc.source || d.Configured != tc.conf {
				t.Errorf("For = %+v, want %s from %q (configured %q)", d, tc.want, tc.source, tc.conf)
			}
		})
	}
	if d := nested.ForOU("Root/Workloads/Dev"); d.Mode != Flexible || d.Source != "ous[1] Root/Workloads/Dev" {
		t.Errorf("ForOU = %+v", d)
	}
}

func TestResolveErrors(t *testing.T) {
	c, err := Parse([]byte(`default: flexible
ous:
  - {ou: ou-ex12-nosuchou, mode: strict}
  - {ou: Root/Sandbox, mode: strict}
  - {ou: ou-ex12-sandbox1, mode: flexible}
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Resolve(examplePaths)
	var got []string
	for _, e := range unjoin(err) {
		got = append(got, e.Error())
	}
	want := []string{"ous[0]: ou: ou-ex12-nosuchou: no such OU in the organization",
		"ous[2]: ou: ou-ex12-sandbox1 (Root/Sandbox) is the OU of ous[1] too"}
	if !slices.Equal(got, want) {
		t.Errorf("errors %q, want %q", got, want)
	}
}

func TestPolicyWarnings(t *testing.T) {
	p := mustPolicy(t, `default: flexible
ous:
  - {ou: Root/Workloads/Prod, mode: strict}
  - {ou: Root/Workload/Prod, mode: strict}
exceptions:
  - {account: "999999999999", mode: flexible, reason: gone}
  - {account: "111111111111", mode: strict, reason: x}
`, nil)
	rep := &audit.Report{Accounts: []*audit.Account{
		{ID: "111111111111", OUPath: "Root", Management: true},
		{ID: "444444444444", OUPath: "Root/Workloads/Prod/EU"},
	}}
	got := strings.Join(p.Warnings(rep), "\n")
	for _, want := range []string{
		"ous[1] Root/Workload/Prod: no account of the audit is at or below it",
		"exceptions[1] 111111111111: the management account is never strict",
		"exceptions[0] 999999999999: not an account of the audited organization",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "ous[0]") {
		t.Errorf("ous[0] has an account below it:\n%s", got)
	}
}

// TestEnforce: enforce: true holds for the strict OU and the OUs below it
// that set no mode; never for an exception, a flexible OU below it, the
// default or the management account; and only a strict OU may set it.
func TestEnforce(t *testing.T) {
	p := mustPolicy(t, `default: flexible
ous:
  - {ou: Root/Workloads/Prod, mode: strict, enforce: true}
  - {ou: Root/Workloads/Prod/Legacy, mode: flexible}
  - {ou: ou-ex12-sandbox1, mode: strict}
exceptions:
  - {account: "444444444444", mode: strict, reason: kept strict by hand}
`, examplePaths)
	for _, tc := range []struct {
		a    audit.Account
		want bool
	}{
		{audit.Account{ID: "222222222222", OUPath: "Root/Workloads/Prod"}, true},
		{audit.Account{ID: "222222222222", OUPath: "Root/Workloads/Prod/EU"}, true},
		{audit.Account{ID: "222222222222", OUPath: "Root/Workloads/Prod/Legacy"}, false},
		{audit.Account{ID: "222222222222", OUPath: "Root/Sandbox"}, false},
		{audit.Account{ID: "222222222222", OUPath: "Root"}, false},
		{audit.Account{ID: "444444444444", OUPath: "Root/Workloads/Prod"}, false},
		{audit.Account{ID: "111111111111", OUPath: "Root/Workloads/Prod", Management: true}, false},
	} {
		if d := p.For(&tc.a); d.Enforce != tc.want {
			t.Errorf("%s in %s: %+v, want enforce %v", tc.a.ID, tc.a.OUPath, d, tc.want)
		}
	}
	if got := p.Enforced(); !slices.Equal(got, []string{"Root/Workloads/Prod"}) {
		t.Errorf("Enforced() = %v", got)
	}
	if !p.Strict("Root/Sandbox/x") || p.Strict("Root/Workloads/Prod/Legacy") {
		t.Error("Strict")
	}
	_, err := Parse([]byte("default: flexible\nous:\n  - {ou: Root/Dev, mode: flexible, enforce: true}\n"))
	if err == nil || !strings.Contains(err.Error(), "ous[0] (line 3): enforce: only a strict OU") {
		t.Errorf("enforce on a flexible OU: %v", err)
	}
}
