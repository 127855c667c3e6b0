package monitor

import (
	"math"
	"strings"
	"testing"

	"github.com/rootguard/rootguard/internal/mode"
)

// FuzzConfigFromEnv: the scheduled audit's environment is a
// configuration it can run with (a history location, strict OU paths
// each trimmed and written as audit reports them, a finite positive
// AssumeRoot rate) or an
// error naming each variable that is not.
func FuzzConfigFromEnv(f *testing.F) {
	for _, s := range [][4]string{{"s3://hist/audits", "Root/Prod, Root/Core", "true", "20"}, {"", "", "", ""},
		{"hist/audits", " , ,", "yes", "NaN"}, {"s3://h", "Root", "false", "+Inf"}, {"s3:///x", "a,b", "", "5/s"}, {"s3://h", "/Workloads/Prod,Root//X,Root/Prod/", "", ""}} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, hist, strict, hub, rate string) {
		env := map[string]string{"HISTORY": hist, "TOPIC_ARN": "arn:aws:sns:us-east-1:1:t", "STRICT_OUS": strict, "SECURITY_HUB": hub, "ASSUME_ROOT_RATE": rate}
		c, err := ConfigFromEnv(func(k string) string { return env[k] })
		if err != nil {
			for _, name := range []string{"HISTORY", "SECURITY_HUB", "ASSUME_ROOT_RATE", "STRICT_OUS"} {
				if strings.Contains(err.Error(), name) {
					return
				}
			}
			t.Fatalf("error %q names no variable", err)
		}
		if c.History.Bucket == "" {
			t.Fatalf("HISTORY %q accepted without a bucket", hist)
		}
		for _, ou := range c.StrictOUs {
			if ou == "" || ou != strings.TrimSpace(ou) || strings.Contains(ou, ",") || mode.CheckOUPath(ou) != nil {
				t.Fatalf("STRICT_OUS %q gave OU %q", strict, ou)
			}
		}
		if r := c.Audit.AssumeRootRate; rate != "" && (!(r > 0) || math.IsInf(r, 0)) {
			t.Fatalf("ASSUME_ROOT_RATE %q accepted as %v", rate, r)
		}
	})
}
