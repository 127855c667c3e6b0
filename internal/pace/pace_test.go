package pace

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

var throttle = &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}

// at returns a limiter on a clock stopped at now (tests move it).
func at(initial, min, max float64) (*Adaptive, *time.Time) {
	a := NewAdaptive(initial, min, max)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return now }
	return a, &now
}

// seen puts ok successes in the current tenth of the window, the first
// success age ago (0: none yet).
func seen(a *Adaptive, now time.Time, ok int64, age time.Duration) {
	a.winAt, a.win[a.winHead] = now, ok
	if age > 0 {
		a.firstOK = now.Add(-age)
	}
}

// TestSucceeded pins the increase: 1/rtt per success in the slow start,
// Increase (or a tenth of the pace) per second after it, and never past
// Probe (1.5) x the rate accepted over the last half second, nor past the
// cap.
func TestSucceeded(t *testing.T) {
	for _, c := range []struct {
		name      string
		rate, max float64
		slowStart bool
		ok        int64         // successes already in the last half second
		age       time.Duration // since the first success
		want      float64
	}{
		// rtt 50 ms: a success adds 20/s; 40 successes in 0.4 s are 100/s.
		{"slow start adds 1/rtt", 50, 0, true, 39, time.Second, 70},
		{"slow start stops at 1.5 x accepted", 140, 0, true, 39, time.Second, 150},
		{"callers asking for less do not lower the pace", 200, 0, true, 39, time.Second, 200},
		{"the first success does not raise the initial pace", 50, 0, true, 0, 0, 50},
		{"a young run is measured over its age", 50, 0, true, 9, 100 * time.Millisecond, 70},
		{"a young run is capped by its own rate", 140, 0, true, 9, 100 * time.Millisecond, 150},
		{"additive increase: 5/s per second", 50, 0, false, 39, time.Second, 50.1},
		{"additive increase: a tenth of the pace per second", 100, 0, false, 79, time.Second, 100.1},
		{"additive increase stops at 1.5 x accepted", 150, 0, false, 39, time.Second, 150},
		{"the cap holds", 55, 60, true, 39, time.Second, 60},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, now := at(50, 1, c.max)
			a.rate, a.slowStart = c.rate, c.slowStart
			seen(a, *now, c.ok, c.age)
			a.Succeeded()
			if r := a.Rate(); math.Abs(r-c.want) > 1e-9 {
				t.Errorf("rate = %v, want %v", r, c.want)
			}
		})
	}
}

// TestThrottled pins the decrease: the first throttle halves the lower of
// the pace and the rate accepted, later ones cut it by Decrease (0.85),
// once per burst, measuring while throttling goes on the successes since
// it began.
func TestThrottled(t *testing.T) {
	for _, c := range []struct {
		name      string
		rate      float64
		slowStart bool
		ok        int64         // successes in the last second
		age       time.Duration // since the first success
		episode   int64         // successes since the throttling began a second ago (-1: none)
		inBurst   bool
		want      float64
	}{
		{"first throttle halves the accepted rate", 400, true, 90, 5 * time.Second, -1, false, 45},
		{"first throttle in a young run", 400, true, 40, 500 * time.Millisecond, -1, false, 40},
		{"first throttle halves a pace below the accepted rate", 60, true, 90, 5 * time.Second, -1, false, 30},
		{"first throttle after a second of few successes", 100, true, 3, 5 * time.Second, -1, false, 1.5},
		// rtt 50 ms: unmeasured, AWS is taken to accept 20/s.
		{"first throttle before any success: one call per round trip", 100, true, 0, 0, -1, false, 10},
		{"first throttle, too few successes to measure", 100, true, 1, 100 * time.Millisecond, -1, false, 10},
		{"first throttle, too few successes but faster than one a round trip", 100, true, 3, 100 * time.Millisecond, -1, false, 15},
		{"an unpaced start comes down at once", 1e6, true, 0, 0, -1, false, 10},
		{"later throttle: 0.85 x accepted", 60, false, 50, 5 * time.Second, -1, false, 42.5},
		{"later throttle after a second of few successes", 60, false, 3, 5 * time.Second, -1, false, 2.55},
		{"later throttle, too few successes to measure", 60, false, 1, 200 * time.Millisecond, -1, false, 17},
		{"throttling goes on: 0.85 x its successes per second", 500, false, 90, 5 * time.Second, 40, false, 34},
		{"the same burst counts once", 60, false, 50, 5 * time.Second, -1, true, 60},
		{"the floor holds", 1, false, 50, 5 * time.Second, -1, false, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, now := at(50, 1, 0)
			a.rate, a.slowStart = c.rate, c.slowStart
			seen(a, *now, c.ok, c.age)
			if c.episode >= 0 {
				a.episodeStart, a.episodeOK = now.Add(-time.Second), c.episode
				a.lastThrottle = now.Add(-300 * time.Millisecond)
			}
			if c.inBurst {
				a.cutUntil = now.Add(time.Millisecond)
			}
			a.Throttled()
			if r := a.Rate(); math.Abs(r-c.want) > 1e-9 {
				t.Errorf("rate = %v, want %v", r, c.want)
			}
			if a.slowStart {
				t.Error("still in the slow start after a throttle")
			}
			if s := a.Stats(); s.Throttled != 1 {
				t.Errorf("throttles counted = %d", s.Throttled)
			}
		})
	}
}

// TestInflightCap: no more calls in flight than the pace allows in two
// round trips, and one more.
func TestInflightCap(t *testing.T) {
	for _, c := range []struct {
		rate, rtt float64
		want      int
	}{
		{50, 0.05, 6}, {50, 0.03, 4}, {1000, 0.03, 61}, {1, 1, 3},
	} {
		a, now := at(c.rate, 1, 0)
		a.rtt = c.rtt
		for i := range c.want {
			if _, ok := a.reserve(*now, true); !ok {
				t.Fatalf("%v/s, rtt %v: call %d refused, want %d in flight", c.rate, c.rtt, i+1, c.want)
			}
		}
		if _, ok := a.reserve(*now, true); ok {
			t.Errorf("%v/s, rtt %v: call %d let through, want at most %d in flight", c.rate, c.rtt, c.want+1, c.want)
		}
	}
}

// TestDoBoundsInFlight: never more calls in flight than the pace times
// the round trip allows, plus one (the bound the limiter itself computes
// from the round trip it observes, checked at every call).
func TestDoBoundsInFlight(t *testing.T) {
	a := NewAdaptive(100, 1, 100) // 100/s, 40 ms calls: about 5 in flight
	var in, peak, bound atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = a.Do(t.Context(), func(context.Context) error {
				n := in.Add(1)
				a.mu.Lock()
				c := int64(a.inflightCap())
				a.mu.Unlock()
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				for b := bound.Load(); c > b && !bound.CompareAndSwap(b, c); b = bound.Load() {
				}
				time.Sleep(40 * time.Millisecond)
				in.Add(-1)
				return nil
			})
		}()
	}
	wg.Wait()
	if p, b := peak.Load(), bound.Load(); p > b || p >= 32 {
		t.Errorf("peak in flight = %d, want at most the limiter's bound %d (100/s x 2 round trips + 1)", p, b)
	}
	if s := a.Stats(); s.Calls != 32 {
		t.Errorf("calls = %d", s.Calls)
	}
}

func TestDoLearns(t *testing.T) {
	a, now := at(1000, 1, 0)
	call := func(err error) func(context.Context) error {
		return func(context.Context) error { *now = now.Add(30 * time.Millisecond); return err }
	}
	if err := a.Do(t.Context(), call(nil)); err != nil {
		t.Fatal(err)
	}
	// The round trip is learnt (0.8 x 50 ms + 0.2 x 30 ms), the success
	// counted; one success does not raise the initial pace.
	if a.rtt < 0.04599 || a.rtt > 0.04601 || a.firstOK.IsZero() || a.Rate() != 1000 {
		t.Errorf("after a success: rtt %v, first success %v, rate %v", a.rtt, a.firstOK, a.Rate())
	}
	if err := a.Do(t.Context(), call(throttle)); !errors.Is(err, throttle) {
		t.Fatal(err)
	}
	// One success in the 30 ms since the first: 33/s, halved.
	if r := a.Rate(); math.Abs(r-0.5/0.03) > 1e-6 {
		t.Errorf("after a throttle: %v, want %v", r, 0.5/0.03)
	}
	if s := a.Stats(); s != (Stats{Calls: 2, Throttled: 1}) || a.inflight != 0 {
		t.Errorf("stats %+v, %d in flight", s, a.inflight)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	slow := NewAdaptive(1, 1, 1)
	_ = slow.Wait(t.Context()) // the first slot is now; the next a second away
	if err := slow.Do(ctx, func(context.Context) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestObservingRetryer(t *testing.T) {
	n := 0
	o := &ObservingRetryer{RetryerV2: retry.NewStandard(), Throttled: func() { n++ }}
	for _, err := range []error{
		&smithy.GenericAPIError{Code: "Throttling"},
		&smithy.GenericAPIError{Code: "TooManyRequestsException"},
		&smithy.GenericAPIError{Code: "InternalFailure"},
		errors.New("connection reset"),
	} {
		_, _ = o.RetryDelay(1, err)
	}
	if n != 2 {
		t.Errorf("throttles seen = %d, want 2", n)
	}
	// With a limiter, a throttled call retries at the next paced slot,
	// not after the SDK's exponential backoff.
	a := NewAdaptive(10, 1, 10)
	p := &ObservingRetryer{RetryerV2: retry.NewStandard(), Throttled: a.Throttled, Limiter: a}
	d1, _ := p.RetryDelay(5, throttle)
	d2, _ := p.RetryDelay(5, throttle)
	if d1 > 250*time.Millisecond || d2 > d1+300*time.Millisecond || d2 <= d1 {
		t.Errorf("paced retry delays %v, %v: want successive slots at the (halved) pace", d1, d2)
	}
}

// TestRetryer: each operation is paced by its own limiter, every attempt
// takes a place in flight and teaches the limiter its answer, and a
// throttled attempt waits for the next paced slot, not the SDK's backoff.
func TestRetryer(t *testing.T) {
	r := NewRetryer(retry.NewStandard(), 50)
	ctx := func(op string) context.Context { return awsmiddleware.SetOperationName(t.Context(), op) }
	list, other := r.Limiter("ListPoliciesForTarget"), r.Limiter("DescribePolicy")
	if list == other || r.Limiter("ListPoliciesForTarget") != list {
		t.Fatal("want one limiter per operation")
	}
	release, err := r.GetAttemptToken(ctx("ListPoliciesForTarget"))
	if err != nil {
		t.Fatal(err)
	}
	if list.inflight != 1 || other.inflight != 0 {
		t.Errorf("in flight: %d and %d, want 1 and 0", list.inflight, other.inflight)
	}
	if err := release(throttle); err != nil {
		t.Fatal(err)
	}
	if s := list.Stats(); s != (Stats{Calls: 1, Throttled: 1}) || list.inflight != 0 || list.Rate() >= 50 {
		t.Errorf("after a throttled attempt: %+v, %d in flight, pace %v", s, list.inflight, list.Rate())
	}
	if s := other.Stats(); s != (Stats{}) || other.Rate() != 50 {
		t.Errorf("the other operation's limiter learnt it too: %+v, pace %v", s, other.Rate())
	}
	if d, err := r.RetryDelay(3, throttle); d != 0 || err != nil {
		t.Errorf("retry delay after a throttle = %v, %v; want 0 (the paced slot waits)", d, err)
	}
	fault := &smithy.GenericAPIError{Code: "InternalFailure"}
	if d, err := r.RetryDelay(3, fault); d == 0 || err != nil {
		t.Errorf("retry delay after a 5xx = %v, %v; want the SDK's backoff", d, err)
	}
	if s := r.Stats(); s != (Stats{Calls: 1, Throttled: 1}) {
		t.Errorf("stats = %+v", s)
	}
}
