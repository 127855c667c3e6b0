package alert

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzClassify: the function's payload is EventBridge's, but a payload it
// reads wrong is an alert lost. Whatever the bytes, reading the envelope,
// classifying it and naming its delivery do not panic; a payload that is
// not an object with a detail object is never taken for root activity;
// and root activity always has a delivery id.
func FuzzClassify(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"rootguard":"flush"}`))
	f.Add([]byte(`{"version":"0","id":"x","source":"aws.signin","detail":"{}"}`))
	f.Add([]byte(`{"version":"0","id":"g","source":"aws.guardduty","detail":{"type":"Policy:IAMUser/RootCredentialUsage","service":{"count":"x"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := decodeEvent(b)
		if err != nil {
			return
		}
		fd, ok, err := classify(&ev)
		if len(ev.Detail) == 0 || ev.Detail[0] != '{' {
			if ok || !errors.Is(err, errNotClassified) {
				t.Fatalf("detail %q: ok=%v err=%v", ev.Detail, ok, err)
			}
			return
		}
		if ok && deliveryID(&ev, &fd) == "" {
			t.Fatalf("root activity without a delivery id: %+v", fd)
		}
	})
}
