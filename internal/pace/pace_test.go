package pace

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

var throttle = &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}

func TestAIMD(t *testing.T) {
	a := NewAdaptive(50, 1, 0)
	// Slow start: each success adds 1/rtt (rtt 50 ms before any is seen),
	// doubling the pace every round trip.
	for range 10 {
		a.Succeeded()
	}
	if r := a.Rate(); r != 250 {
		t.Fatalf("after 10 successes in the slow start: %v, want 250", r)
	}
	// The first throttle cuts to Decrease times what AWS accepted over the
	// last second (10 successes: 10/s), not to half a pace that overshot.
	young := NewAdaptive(50, 1, 0)
	a.mu.Lock()
	a.firstOK = a.firstOK.Add(-2 * time.Second) // as if the run began two seconds ago
	a.mu.Unlock()
	for range 10 {
		young.Succeeded()
	}
	a.Throttled()
	if r := a.Rate(); r != 8.5 {
		t.Fatalf("after the first throttle: %v, want 8.5", r)
	}
	// The rest of the burst counts once.
	a.Throttled()
	a.Throttled()
	if r := a.Rate(); r != 8.5 {
		t.Errorf("after the burst: %v, want 8.5", r)
	}
	// Additive increase: about Increase calls/s per second of successes.
	a.Succeeded()
	if r := a.Rate(); r < 9.08 || r > 9.1 {
		t.Errorf("after one success: %v, want 8.5 + 5/8.5", r)
	}
	// A later burst of the same throttling measures the rate since it
	// began: 1 success in almost no time measures nothing, so the cut is
	// Decrease.
	a.mu.Lock()
	a.cutUntil = time.Time{}
	a.mu.Unlock()
	before := a.Rate()
	a.Throttled()
	if r := a.Rate(); r < before*0.849 || r > before*0.851 {
		t.Errorf("after a later throttle: %v, want %v", r, before*0.85)
	}
	if s := a.Stats(); s.Throttled != 4 {
		t.Errorf("stats = %+v", s)
	}
	// A run younger than a second measures over its own age: 10 successes
	// in half a second are 20/s.
	young.mu.Lock()
	young.firstOK = young.firstOK.Add(-500 * time.Millisecond)
	young.mu.Unlock()
	young.Throttled()
	if r := young.Rate(); r < 16.9 || r > 17.1 {
		t.Errorf("after the first throttle half a second in: %v, want 20 x 0.85", r)
	}
	// With no success seen, the slow start halves.
	h := NewAdaptive(100, 1, 0)
	h.Throttled()
	if r := h.Rate(); r != 50 {
		t.Errorf("a throttle before any success: %v, want 50", r)
	}
	// Above the tenth of the pace, additive increase scales with it.
	s := NewAdaptive(1000, 1, 0)
	s.Throttled() // 500, no longer in slow start
	s.Succeeded()
	if r := s.Rate(); r < 500.099 || r > 500.101 {
		t.Errorf("additive increase at 500/s: %v, want 500 + 50/500", r)
	}
	// The cap and the floor hold.
	b := NewAdaptive(10, 2, 12)
	for range 10 {
		b.Succeeded()
	}
	if b.Rate() != 12 {
		t.Errorf("above the cap: %v", b.Rate())
	}
	for range 20 {
		b.mu.Lock()
		b.cutUntil = time.Time{}
		b.mu.Unlock()
		b.Throttled()
	}
	if b.Rate() != 2 {
		t.Errorf("below the floor: %v", b.Rate())
	}
}

// TestThrottlingGoesOn: while throttles keep coming, the cut follows the
// successes since the throttling began (the bucket's refill rate).
func TestThrottlingGoesOn(t *testing.T) {
	a := NewAdaptive(1000, 1, 0)
	a.Throttled() // 500; the throttling begins
	a.mu.Lock()
	a.episodeStart = a.episodeStart.Add(-time.Second) // as if it began a second ago
	a.cutUntil = time.Time{}
	a.mu.Unlock()
	for range 40 {
		a.Succeeded()
	}
	a.Throttled()
	if r := a.Rate(); r < 33.9 || r > 34.1 {
		t.Errorf("after 40 successes in the second of throttling: %v, want 40 x 0.85", r)
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
		t.Errorf("peak in flight = %d, want at most the limiter's bound %d (100/s x round trip + 1)", p, b)
	}
	if s := a.Stats(); s.Calls != 32 {
		t.Errorf("calls = %d", s.Calls)
	}
}

func TestDoLearns(t *testing.T) {
	a := NewAdaptive(1000, 1, 0)
	if err := a.Do(t.Context(), func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	// One success adds 1/rtt (rtt about 40 ms after one instant call).
	if r := a.Rate(); r < 1020 || r > 1026 {
		t.Errorf("after a success: %v", r)
	}
	first := a.Rate()
	if err := a.Do(t.Context(), func(context.Context) error { return throttle }); !errors.Is(err, throttle) {
		t.Fatal(err)
	}
	if a.Rate() != first/2 {
		t.Errorf("after a throttle: %v, want %v", a.Rate(), first/2)
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
