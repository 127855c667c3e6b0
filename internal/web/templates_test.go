package web

import "testing"

// TestTemplatesParse parses every embedded template (pages does so only on
// first use, so a parse error would otherwise surface in whichever test
// renders first) and checks that every page a handler or the HTML report
// executes is defined.
func TestTemplatesParse(t *testing.T) {
	tmpl, err := parsePages()
	if err != nil {
		t.Fatalf("parse templates: %v", err)
	}
	for _, name := range []string{"overview", "tree", "account", "activity", "approvals", "operations", "report"} {
		if tmpl.Lookup(name) == nil {
			t.Errorf("template %q is not defined", name)
		}
	}
	if first := pages(); pages() != first {
		t.Error("pages parses the templates again on each use")
	}
}
