package remediate

import (
	"strings"
	"testing"

	"github.com/rootguard/rootguard/internal/awssim"
)

// FuzzQueueParts: unlock sqs --queue-url gives a queue name only when it
// is one SQS allows (so "q/extra" is refused as not a queue URL rather
// than sent to AWS), a Region only of a Region's form, and reads back
// the parts of every queue URL SQS writes.
func FuzzQueueParts(f *testing.F) {
	for _, s := range [][3]string{{"eu-west-1", "123456789012", "audit"}, {"us-east-1", "123456789012", "orders.fifo"},
		{"us-gov-west-1", "210987654321", strings.Repeat("q", 80)}, {"x", "1", "q/extra"}, {"eu-west-1", "123456789012", "q?x=1"},
		{"attacker.example", "123456789012", "q"}, {"", "", ""}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, region, account, name string) {
		u := awssim.QueueURL(region, account, name)
		r, a, n := queueParts(u)
		if n != "" && !reQueueName().MatchString(n) {
			t.Fatalf("queueParts(%q): queue name %q", u, n)
		}
		if r != "" && !reRegionName().MatchString(r) {
			t.Fatalf("queueParts(%q): Region %q", u, r)
		}
		if reRegionName().MatchString(region) && reAccount().MatchString(account) && reQueueName().MatchString(name) && (r != region || a != account || n != name) {
			t.Fatalf("queueParts(%q) = %q, %q, %q", u, r, a, n)
		}
		// The legacy form, https://REGION.queue.amazonaws.com/ACCOUNT/NAME.
		if reRegionName().MatchString(region) && reAccount().MatchString(account) && reQueueName().MatchString(name) {
			if r, a, n := queueParts("https://" + region + ".queue.amazonaws.com/" + account + "/" + name); r != region || a != account || n != name {
				t.Fatalf("legacy URL: %q, %q, %q", r, a, n)
			}
		}
	})
}
