package mode

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const exampleConfig = `# the example from the issue
default: flexible
ous:
  - ou: Root/Workloads/Prod
    mode: strict
  - ou: ou-ex12-sandbox1
    mode: flexible
exceptions:
  - account: "444444444444"
    mode: flexible
    reason: S3 MFA Delete on the archive bucket needs root
`

func TestParseExample(t *testing.T) {
	c, err := Parse([]byte(exampleConfig))
	if err != nil {
		t.Fatal(err)
	}
	if c.Default != Flexible || len(c.OUs) != 2 || c.OUs[0] != (OURule{OU: "Root/Workloads/Prod", Mode: Strict}) ||
		len(c.Exceptions) != 1 || c.Exceptions[0].Account != "444444444444" || c.Exceptions[0].Reason == "" {
		t.Errorf("config = %+v", c)
	}
	if ids := c.OUIDs(); !slices.Equal(ids, []string{"ou-ex12-sandbox1"}) {
		t.Errorf("OU ids = %v", ids)
	}
}

func TestParseMinimal(t *testing.T) {
	c, err := Parse([]byte("default: strict\nous: []\nexceptions:\n"))
	if err != nil || c.Default != Strict || len(c.OUs) != 0 {
		t.Fatalf("%+v, %v", c, err)
	}
	// A trailing slash and surrounding spaces are forgiven.
	c, err = Parse([]byte("default: strict\nous:\n  - {ou: ' Root/Sandbox/ ', mode: flexible}\n"))
	if err != nil || c.OUs[0].OU != "Root/Sandbox" {
		t.Fatalf("%+v, %v", c, err)
	}
}

// TestParseErrors: every problem is reported, each naming its entry,
// field and line.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // each a *FieldError's text, in order
	}{
		{"default missing", "ous: []\n", []string{"default: missing (want strict or flexible)"}},
		{"default wrong", "default: lax\n", []string{`default (line 1): "lax": want strict or flexible`}},
		{"default a list", "default: [strict]\n", []string{"default (line 1): want strict or flexible"}},
		{"unknown top-level field", "default: strict\nmodes: []\n", []string{"modes (line 2): unknown field (want default, ous, exceptions, approvers)"}},
		{"ous not a list", "default: strict\nous: Root/Prod\n", []string{"ous (line 2): want a list"}},
		{"approvers not a list", "default: strict\napprovers: bob\n", []string{"approvers (line 2): want a list of principal ARN patterns"}},
		{"approver not an ARN", "default: strict\napprovers:\n  - bob\n  - arn:aws:sts::*:*\n",
			[]string{`approvers[0] (line 3): approver "bob": want a principal ARN pattern such as arn:aws:sts::*:assumed-role/AWSReservedSSO_SecurityApprover_*/*`,
				`approvers[1] (line 4): approver "arn:aws:sts::*:*": matches every principal`}},
		{"ou entry not a mapping", "default: strict\nous:\n  - Root/Prod\n", []string{"ous[0] (line 3): want a mapping of ou, mode, enforce"}},
		{"unknown ou field", "default: strict\nous:\n  - ou: Root/Prod\n    mode: strict\n    modes: flexible\n",
			[]string{"ous[0] (line 5): modes: unknown field (want ou, mode, enforce)"}},
		{"ou value a list", "default: strict\nous:\n  - ou: [Root/Prod]\n    mode: strict\n", []string{"ous[0] (line 3): ou: want a single value"}},
		{"ou and mode wrong", "default: strict\nous:\n  - ou: Workloads/Prod\n    mode: strickt\n  - mode: strict\n",
			[]string{`ous[0] (line 3): ou: "Workloads/Prod": an OU path starts at Root (Root/Workloads/Prod), as audit reports it`,
				`ous[0] (line 4): mode: "strickt": want strict or flexible`,
				"ous[1] (line 5): ou: missing (an OU path such as Root/Workloads/Prod, or an ou- id)"}},
		{"bad ou id", "default: strict\nous:\n  - {ou: ou-BAD, mode: strict}\n", []string{`ous[0] (line 3): ou: "ou-BAD" is not an OU id (ou-<root part>-<8 to 32 letters or digits>)`}},
		{"empty name in path", "default: strict\nous:\n  - {ou: Root//Prod, mode: strict}\n", []string{`ous[0] (line 3): ou: "Root//Prod": empty OU name in the path`}},
		{"mode missing", "default: strict\nous:\n  - ou: Root/Prod\n", []string{"ous[0] (line 3): mode: missing (want strict or flexible)"}},
		{"duplicate ou", "default: strict\nous:\n  - {ou: Root/Prod, mode: strict}\n  - {ou: Root/Prod, mode: flexible}\n",
			[]string{`ous[1] (line 4): ou: "Root/Prod": duplicate of ous[0]`}},
		{"unquoted account", "default: strict\nexceptions:\n  - {account: 044444444444, mode: flexible, reason: x}\n",
			[]string{`exceptions[0] (line 3): account: 044444444444: quote the account id ("044444444444"): a YAML number loses leading zeros`}},
		{"exception problems", "default: strict\nexceptions:\n  - account: \"4444\"\n    mode: loose\n  - account: \"555555555555\"\n    mode: flexible\n    reason: x\n  - account: \"555555555555\"\n    mode: strict\n    reason: \"  \"\n",
			[]string{`exceptions[0] (line 3): account: "4444" is not a 12-digit account id`,
				`exceptions[0] (line 4): mode: "loose": want strict or flexible`,
				"exceptions[0] (line 3): reason: missing: say why this account keeps its own mode",
				"exceptions[2] (line 8): account: 555555555555: duplicate of exceptions[1]",
				"exceptions[2] (line 10): reason: missing: say why this account keeps its own mode"}},
		{"unknown exception field", "default: strict\nexceptions:\n  - {account: \"444444444444\", mode: flexible, reason: x, until: 2027-01-01}\n",
			[]string{"exceptions[0] (line 3): until: unknown field (want account, mode, reason)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			var got []string
			for _, e := range unjoin(err) {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Fatalf("%v is not a *FieldError", e)
				}
				got = append(got, fe.Error())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("errors:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestParseNotYAML(t *testing.T) {
	for _, in := range []string{"", "default: [unclosed\n", "- a list\n"} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "rootguard.yaml")
	if err := os.WriteFile(p, []byte("default: lax\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), p+": default (line 1)") {
		t.Errorf("error %v should name the file and entry", err)
	}
	if _, err := Load(filepath.Join(dir, "none.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(exampleConfig))
	f.Add([]byte("default: strict\nous:\n  - {ou: Root//Prod, mode: strict}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		if !c.Default.valid() {
			t.Errorf("accepted default %q", c.Default)
		}
		if _, err := c.Resolve(OUPaths{}); err != nil && len(c.OUIDs()) == 0 {
			t.Errorf("resolving paths only: %v", err)
		}
	})
}
