package audit

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// adaptiveLimiter paces one API: it starts at an initial rate, slows down
// by a quarter when AWS throttles (at most once a second, since throttles
// come in bursts), and speeds up a little with every success, up to a cap.
type adaptiveLimiter struct {
	mu           sync.Mutex
	lim          *rate.Limiter
	min, max     float64
	lastDecrease time.Time
	throttles    int
}

func newAdaptiveLimiter(initial, min, max float64) *adaptiveLimiter {
	return &adaptiveLimiter{lim: rate.NewLimiter(rate.Limit(initial), 1), min: min, max: max}
}

// Wait blocks until the next call may go.
func (a *adaptiveLimiter) Wait(ctx context.Context) error { return a.lim.Wait(ctx) }

// Throttled records a throttling answer.
func (a *adaptiveLimiter) Throttled() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.throttles++
	now := time.Now()
	if now.Sub(a.lastDecrease) < time.Second {
		return
	}
	a.lastDecrease = now
	a.lim.SetLimit(rate.Limit(max(a.min, float64(a.lim.Limit())*0.75)))
}

// Succeeded records a call that went through.
func (a *adaptiveLimiter) Succeeded() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lim.SetLimit(rate.Limit(min(a.max, float64(a.lim.Limit())+0.2)))
}

// Rate is the current pace, in calls per second.
func (a *adaptiveLimiter) Rate() float64 { return float64(a.lim.Limit()) }
