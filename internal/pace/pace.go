// Package pace keeps calls to a throttled AWS API flowing at the rate AWS
// allows: an adaptive limiter that finds that rate by itself, and a
// retryer that tells it when AWS throttles while the SDK retries.
package pace

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
)

// Adaptive paces one API by additive increase, multiplicative decrease
// (AIMD), the way TCP finds the capacity of a path:
//
//   - It starts at the initial pace (a conservative rate) and, until the
//     first throttle, grows fast but never past what AWS is seen to
//     accept: every call that goes through adds 1/rtt calls per second
//     (rtt the observed round trip), and the pace stays within Probe
//     times the successes of the last half second (or since the first
//     success, if that is more recent). An API that never throttles is
//     soon called as fast as the callers can go, with no setting to
//     raise, while a token bucket that runs dry meets a pace at most
//     Probe times what it has been giving, not one that doubled every
//     round trip past it.
//   - The first throttle halves the lower of the pace and the rate AWS
//     accepted over the last second (or since the first success): that
//     second includes the bucket's stored burst, which it will not give
//     again. A later throttle cuts the pace to Decrease times the lower
//     of the pace and the rate AWS accepted: over the last second or,
//     while throttles keep coming, since this throttling began (the token
//     bucket is empty then, so that is its refill rate). Throttles come in
//     bursts (every call in flight when the limit was hit is refused), so
//     one cut is made per burst: the next throttle counts only after the
//     calls in flight at the cut have had time to come back. Until a rate
//     is measured (5 successes, or half a second), AWS is taken to accept
//     at least one call per round trip, so that a limiter started at a
//     pace far above the limit comes down at once.
//   - After the first throttle the pace grows additively: Increase calls
//     per second every second, or a tenth of the pace if that is more,
//     probing gently for the limit, and again never past Probe times what
//     AWS accepted in the last half second.
//   - However high the pace, no more calls are in flight than the pace
//     allows in two observed round trips (plus one), so a slow answer
//     never lets a queue of calls build up and hit AWS at once.
//
// Calls are spaced evenly (1/pace apart); retries of throttled calls are
// paced with the rest (see ObservingRetryer), so they do not wait out the
// SDK's exponential backoff.
type Adaptive struct {
	mu        sync.Mutex
	rate      float64 // calls per second now
	min, max  float64 // max 0: no cap
	slowStart bool
	next      time.Time // when the next call may start
	inflight  int
	rtt       float64   // smoothed round trip, seconds
	cutUntil  time.Time // throttles before this belong to the last burst
	freed     chan struct{}
	calls     int64
	throttles int64
	// Successes per tenth of a second over the last second (a ring
	// starting at win[0]'s tenth), and those since throttling began.
	win                        [10]int64
	winAt                      time.Time // the start of the newest tenth
	winHead                    int
	episodeStart, lastThrottle time.Time
	episodeOK                  int64
	firstOK                    time.Time // the first success: a younger window is shorter
	initial                    float64
	now                        func() time.Time // the clock (tests set their own)

	// Tuning; the defaults suit AWS's token-bucket throttles.
	Increase float64 // calls/s added per second after the slow start (5, or a tenth of the pace)
	Decrease float64 // factor applied on a throttle after the first (0.85)
	Probe    float64 // the pace grows to at most Probe x the accepted rate (1.5)
}

// NewAdaptive returns a limiter starting at initial calls per second,
// never below min, nor above max unless max is 0 (no cap).
func NewAdaptive(initial, min, max float64) *Adaptive {
	if !(initial > 0) || math.IsInf(initial, 0) { // NaN and Inf pace nothing
		initial = 50
	}
	if min <= 0 {
		min = 1
	}
	if max > 0 && initial > max {
		initial = max
	}
	return &Adaptive{rate: initial, initial: initial, min: min, max: max, slowStart: true, rtt: 0.05,
		freed: make(chan struct{}), now: time.Now, Increase: 5, Decrease: 0.85, Probe: 1.5}
}

// Do makes one paced call: it waits for the pace and a free slot, runs
// fn, and learns from the outcome (a throttle that outlasted the SDK's
// retries cuts the pace too).
func (a *Adaptive) Do(ctx context.Context, fn func(context.Context) error) error {
	if err := a.acquire(ctx, true); err != nil {
		return err
	}
	start := a.now()
	err := fn(ctx)
	a.release(a.now().Sub(start), err)
	return err
}

// Wait blocks until the next call may go, or ctx ends. Prefer Do, which
// also bounds the calls in flight and learns from each outcome.
func (a *Adaptive) Wait(ctx context.Context) error { return a.acquire(ctx, false) }

func (a *Adaptive) acquire(ctx context.Context, slot bool) error {
	for {
		a.mu.Lock()
		at, ok := a.reserve(a.now(), slot)
		if !ok {
			freed := a.freed
			a.mu.Unlock()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-freed:
			case <-time.After(50 * time.Millisecond): // the cap may have grown
			}
			continue
		}
		d := at.Sub(a.now())
		a.mu.Unlock()
		if d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				if slot {
					a.release(0, ctx.Err())
				}
				return ctx.Err()
			case <-t.C:
			}
		}
		return nil
	}
}

// reserve takes the next paced slot at or after now and, with slot, a
// place in flight (lock held). It reports false, reserving nothing, when
// the calls in flight are already as many as the pace allows.
func (a *Adaptive) reserve(now time.Time, slot bool) (time.Time, bool) {
	if slot && a.inflight >= a.inflightCap() {
		return time.Time{}, false
	}
	at := a.next
	if at.Before(now) {
		at = now
	}
	a.next = at.Add(a.interval())
	if slot {
		a.inflight++
	}
	a.calls++
	return at, true
}

// interval is the spacing of calls at the current pace (lock held).
func (a *Adaptive) interval() time.Duration {
	return time.Duration(float64(time.Second) / a.rate)
}

// inflightCap is how many calls may be in flight (lock held): what the
// pace allows in two round trips (the round trip is an average: answers
// come back later than it half the time), and one more.
func (a *Adaptive) inflightCap() int {
	return int(math.Ceil(2*a.rate*a.rtt)) + 1
}

func (a *Adaptive) release(rtt time.Duration, err error) {
	a.mu.Lock()
	a.done(rtt)
	close(a.freed)
	a.freed = make(chan struct{})
	a.mu.Unlock()
	switch {
	case err == nil:
		a.Succeeded()
	case IsThrottle(err):
		a.Throttled()
	}
}

// done frees a place in flight and learns the round trip (lock held).
func (a *Adaptive) done(rtt time.Duration) {
	a.inflight--
	if rtt > 0 {
		// A call that waited out retries is not a round trip: a sample
		// counts at most twice the round trip known so far.
		a.rtt = 0.8*a.rtt + 0.2*math.Min(rtt.Seconds(), 2*a.rtt)
	}
}

// Throttled records a throttling answer.
func (a *Adaptive) Throttled() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.throttled(a.now())
}

func (a *Adaptive) throttled(now time.Time) {
	a.throttles++
	if now.Before(a.cutUntil) {
		a.lastThrottle = now
		return // the same burst
	}
	// The rate AWS accepts: since this throttling began if it goes on,
	// else over the last second (or since the first success).
	var ok int64
	var over float64
	if !a.lastThrottle.IsZero() && now.Sub(a.lastThrottle) < time.Second {
		ok, over = a.episodeOK, now.Sub(a.episodeStart).Seconds()
	} else {
		a.episodeStart, a.episodeOK = now, 0
		ok = a.windowOK(now, len(a.win))
		if !a.firstOK.IsZero() {
			over = math.Min(1, now.Sub(a.firstOK).Seconds())
		}
	}
	a.lastThrottle = now
	cut := a.Decrease
	if a.slowStart {
		// The first throttle: what was accepted so far includes the
		// bucket's stored burst, and the pace had grown past it.
		cut = 0.5
	}
	// A few successes in a short time measure nothing: AWS is then taken
	// to accept at least one call per round trip.
	accepted := 1 / a.rtt
	if over > 0 {
		if ok >= 5 || over >= 0.5 {
			accepted = float64(ok) / over
		} else {
			accepted = math.Max(accepted, float64(ok)/over)
		}
	}
	a.rate = math.Min(a.rate, accepted) * cut
	a.slowStart = false
	a.rate = math.Max(a.min, a.rate)
	// Calls already spaced at the old pace keep their slots; later ones
	// follow the new spacing.
	if n := now.Add(a.interval()); a.next.Before(n) {
		a.next = n
	}
	a.cutUntil = now.Add(time.Duration(2 * a.rtt * float64(time.Second)))
}

// windowOK counts the successes of the last n tenths of a second, the
// current one included (lock held), moving the window to now.
func (a *Adaptive) windowOK(now time.Time, n int) int64 {
	const tenth = 100 * time.Millisecond
	if a.winAt.IsZero() {
		a.winAt = now
	}
	for steps := 0; now.Sub(a.winAt) >= tenth; steps++ {
		if steps >= len(a.win) {
			a.win, a.winAt = [10]int64{}, now
			break
		}
		a.winHead = (a.winHead + 1) % len(a.win)
		a.win[a.winHead] = 0
		a.winAt = a.winAt.Add(tenth)
	}
	var sum int64
	for i := range min(n, len(a.win)) {
		sum += a.win[(a.winHead-i+len(a.win))%len(a.win)]
	}
	return sum
}

// accepted is the rate AWS accepted over the last half second, or since
// the first success if that is more recent (lock held).
func (a *Adaptive) accepted(now time.Time) float64 {
	const tenths = 5
	ok := a.windowOK(now, tenths)
	over := time.Duration(tenths-1)*100*time.Millisecond + now.Sub(a.winAt)
	over = min(over, now.Sub(a.firstOK))
	return float64(ok) / math.Max(over.Seconds(), a.rtt)
}

// Succeeded records a call that went through.
func (a *Adaptive) Succeeded() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.succeeded(a.now())
}

func (a *Adaptive) succeeded(now time.Time) {
	if a.firstOK.IsZero() {
		a.firstOK = now
	}
	a.windowOK(now, 0)
	a.win[a.winHead]++
	a.episodeOK++
	before := a.rate
	if a.slowStart {
		// Doubling every round trip: rate x rtt successes come back per
		// round trip, each adding 1/rtt.
		a.rate += 1 / a.rtt
	} else {
		// Increase per second: one success adds inc/rate, and rate
		// successes come each second.
		a.rate += math.Max(a.Increase, a.rate/10) / a.rate
	}
	// Never past Probe times what AWS accepts (nor below where it was:
	// callers that ask for less than the pace slow nothing down); the
	// slow start may always reach the initial pace.
	lim := a.Probe * a.accepted(now)
	if a.slowStart {
		lim = math.Max(a.initial, lim)
	}
	if a.rate > lim {
		a.rate = math.Max(lim, before)
	}
	if a.max > 0 {
		a.rate = math.Min(a.max, a.rate)
	}
}

// Rate is the current pace, in calls per second.
func (a *Adaptive) Rate() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rate
}

// Stats are a limiter's counts: calls let through (first tries and paced
// retries) and throttling answers seen.
type Stats struct {
	Calls, Throttled int64
}

// Stats returns the counts so far.
func (a *Adaptive) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return Stats{Calls: a.calls, Throttled: a.throttles}
}

// retrySlot reserves the next paced slot for a retry and returns how long
// to wait for it.
func (a *Adaptive) retrySlot() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	at, _ := a.reserve(now, false)
	return at.Sub(now)
}

// ObservingRetryer wraps an SDK retryer for the client that makes only
// the paced calls. For each throttling answer it tells the limiter, and,
// when Limiter is set, waits for the next paced slot instead of the SDK's
// exponential backoff, so that a throttled call comes back as soon as the
// pace allows and not seconds later.
type ObservingRetryer struct {
	aws.RetryerV2
	Throttled func()
	Limiter   *Adaptive
}

// RetryDelay implements aws.Retryer.
func (o *ObservingRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	if IsThrottle(err) {
		if o.Throttled != nil {
			o.Throttled()
		}
		if o.Limiter != nil {
			return o.Limiter.retrySlot(), nil
		}
	}
	return o.RetryerV2.RetryDelay(attempt, err)
}

// IsThrottle reports whether an error is AWS saying "slow down".
func IsThrottle(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded":
		return true
	}
	return false
}

// Retryer paces every attempt of one SDK client (first tries and retries)
// through the SDK's retry middleware, each operation with its own
// Adaptive limiter, since AWS throttles each API on its own: an attempt
// waits for its operation's paced slot and place in flight
// (GetAttemptToken), its answer teaches the limiter, and a throttled
// attempt is retried at the next paced slot instead of after the SDK's
// exponential backoff. Other errors keep the wrapped retryer's backoff.
// Set it as a client's Retryer (one per client: its limiters are the
// client's).
type Retryer struct {
	aws.RetryerV2
	initial float64
	mu      sync.Mutex
	ops     map[string]*Adaptive
}

// NewRetryer wraps retryer, pacing each operation with a limiter that
// starts at initial calls per second (NewAdaptive(initial, 1, 0)).
func NewRetryer(retryer aws.RetryerV2, initial float64) *Retryer {
	return &Retryer{RetryerV2: retryer, initial: initial, ops: map[string]*Adaptive{}}
}

// Limiter returns the limiter of an operation (e.g. "ListPoliciesForTarget").
func (r *Retryer) Limiter(operation string) *Adaptive {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.ops[operation]
	if a == nil {
		a = NewAdaptive(r.initial, 1, 0)
		r.ops[operation] = a
	}
	return a
}

// Stats adds up the counts of every operation's limiter.
func (r *Retryer) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s Stats
	for _, a := range r.ops {
		as := a.Stats()
		s.Calls += as.Calls
		s.Throttled += as.Throttled
	}
	return s
}

// GetAttemptToken implements aws.RetryerV2: it waits for the operation's
// paced slot, and the release it returns reports the attempt's answer.
func (r *Retryer) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	a := r.Limiter(awsmiddleware.GetOperationName(ctx))
	if err := a.acquire(ctx, true); err != nil {
		return nil, err
	}
	start := a.now()
	release, err := r.RetryerV2.GetAttemptToken(ctx)
	if err != nil {
		a.release(0, err)
		return nil, err
	}
	return func(err error) error {
		a.release(a.now().Sub(start), err)
		return release(err)
	}, nil
}

// RetryDelay implements aws.Retryer: no wait after a throttle (the next
// attempt waits for its paced slot), the wrapped retryer's otherwise.
func (r *Retryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	if IsThrottle(err) {
		return 0, nil
	}
	return r.RetryerV2.RetryDelay(attempt, err)
}
