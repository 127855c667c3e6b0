package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoServersLinked: rootguard does not link goaws, whose package
// initialisation generates an RSA key (some 65 ms before every command,
// `rootguard scan` included, measured with GODEBUG=inittrace=1); the
// sandbox runs it as cmd/rootguard-sns instead. Nor does it link the other
// emulators the tests use.
func TestNoServersLinked(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 100 {
		t.Fatalf("go list -deps gave %d packages; want rootguard's whole graph", len(deps))
	}
	for _, p := range deps {
		for _, banned := range []string{"github.com/Admiral-Piett/goaws", "github.com/johannesboyne/gofakes3", "github.com/aws/aws-lambda-runtime-interface-emulator"} {
			if strings.HasPrefix(p, banned) {
				t.Errorf("rootguard links %s", p)
			}
		}
	}
}
