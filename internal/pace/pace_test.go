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
	// Slow start: each success adds SlowStartGain.
	for range 10 {
		a.Succeeded()
	}
	if r := a.Rate(); r != 130 {
		t.Fatalf("after 10 successes in the slow start: %v, want 130", r)
	}
	// The first throttle halves the pace and ends the slow start.
	a.Throttled()
	if r := a.Rate(); r != 65 {
		t.Fatalf("after the first throttle: %v, want 65", r)
	}
	// The rest of the burst counts once.
	a.Throttled()
	a.Throttled()
	if r := a.Rate(); r != 65 {
		t.Errorf("after the burst: %v, want 65", r)
	}
	// Additive increase: about Increase calls/s per second of successes.
	for range 65 {
		a.Succeeded()
	}
	if r := a.Rate(); r < 69.5 || r > 70.5 {
		t.Errorf("after a second of successes: %v, want about 70", r)
	}
	// A later burst cuts by Decrease.
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

// TestDoBoundsInFlight: never more calls in flight than the pace times
// the round trip allows, plus one.
func TestDoBoundsInFlight(t *testing.T) {
	a := NewAdaptive(100, 1, 100) // 100/s, 40 ms calls: at most 5 in flight
	var in, peak atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = a.Do(t.Context(), func(context.Context) error {
				n := in.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(40 * time.Millisecond)
				in.Add(-1)
				return nil
			})
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 6 {
		t.Errorf("peak in flight = %d, want at most 6 (100/s x 40 ms + 1)", p)
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
	if a.Rate() != 1008 {
		t.Errorf("after a success: %v", a.Rate())
	}
	if err := a.Do(t.Context(), func(context.Context) error { return throttle }); !errors.Is(err, throttle) {
		t.Fatal(err)
	}
	if a.Rate() != 504 {
		t.Errorf("after a throttle: %v", a.Rate())
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
