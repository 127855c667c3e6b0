package alert_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/rootguard/rootguard/internal/alert"
)

// BenchmarkHandle measures one warm invocation per path against the local
// servers and splits its time: wire is spent in HTTP round trips to
// DynamoDB, SNS and Organizations (here dynalite, goaws and awssim on
// loopback: their own processing dominates it), self is the handler's own
// work — decoding, the rules, rendering, the SDK's serialisation and
// signing — the part that does not depend on where AWS is. Run:
// go test ./internal/alert -run '^$' -bench Handle -benchtime 500x
func BenchmarkHandle(b *testing.B) {
	for _, path := range []string{"alerted", "summarised", "duplicate", "dropped"} {
		b.Run(path, func(b *testing.B) {
			var wire wireClock
			e := newEnv(b, func(e *env, d *alert.Deps) {
				timed := func(c aws.Config) aws.Config {
					c = c.Copy()
					c.HTTPClient = timedHTTP{c: http.DefaultClient, wire: &wire}
					return c
				}
				d.DynamoDB = dynamodb.NewFromConfig(timed(e.db.Config))
				d.SNS = sns.NewFromConfig(timed(e.sns.Config))
				d.Organizations = organizations.NewFromConfig(timed(e.org.Config))
				e.cfg.Summary.MaxActions = 200
			})
			signin, read, other := event(b, "console_login_nomfa"), event(b, "root_listbuckets"), event(b, "iamuser_runinstances")
			e.handle(withIDs(b, signin, "warm-up", "warm-up")) // connections and the enrichment cache
			e.handle(signin)
			var selfs, wires []time.Duration
			for i := 0; b.Loop(); i++ {
				raw := other
				switch path {
				case "alerted":
					raw = withIDs(b, signin, fmt.Sprintf("eb-%d", i), fmt.Sprintf("bench-%08d", i))
				case "summarised":
					raw = withIDs(b, read, fmt.Sprintf("eb-%d", i), fmt.Sprintf("bench-%08d", i))
				case "duplicate":
					raw = signin
				}
				w0, start := wire.Load(), time.Now()
				if _, err := e.h.Handle(b.Context(), raw); err != nil {
					b.Fatal(err)
				}
				d, w := time.Since(start), wire.Load()-w0
				selfs, wires = append(selfs, d-w), append(wires, w)
				if i%100 == 99 && path == "alerted" {
					e.main.Receive(b, 0)
					e.chatbot.Receive(b, 0)
				}
			}
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(percentile(wires, 50)), "wire-p50-ms")
			b.ReportMetric(ms(percentile(selfs, 50)), "self-p50-ms")
			b.ReportMetric(ms(percentile(selfs, 99)), "self-p99-ms")
		})
	}
}

func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

// timedHTTP adds to wire the time during which at least one round trip
// was under way (concurrent publishes count once).
type timedHTTP struct {
	c    *http.Client
	wire *wireClock
}

type wireClock struct {
	mu       sync.Mutex
	inFlight int
	since    time.Time
	total    time.Duration
}

func (w *wireClock) Load() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.total
}

func (h timedHTTP) Do(r *http.Request) (*http.Response, error) {
	w := h.wire
	w.mu.Lock()
	if w.inFlight == 0 {
		w.since = time.Now()
	}
	w.inFlight++
	w.mu.Unlock()
	resp, err := h.c.Do(r)
	w.mu.Lock()
	if w.inFlight--; w.inFlight == 0 {
		w.total += time.Since(w.since)
	}
	w.mu.Unlock()
	return resp, err
}
