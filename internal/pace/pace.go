// Package pace keeps calls to a throttled AWS API flowing at the rate AWS
// allows: an adaptive limiter, and a retryer that tells it when AWS
// throttles while the SDK retries.
package pace

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"
)

// Adaptive paces one API: it starts at an initial rate, slows down by a
// quarter when AWS throttles (at most once a second, since throttles come
// in bursts), and speeds up a little with every success, up to a cap.
type Adaptive struct {
	mu           sync.Mutex
	lim          *rate.Limiter
	min, max     float64
	lastDecrease time.Time
}

// NewAdaptive returns a limiter starting at initial calls per second,
// never below min nor above max.
func NewAdaptive(initial, min, max float64) *Adaptive {
	return &Adaptive{lim: rate.NewLimiter(rate.Limit(initial), 1), min: min, max: max}
}

// Wait blocks until the next call may go, or ctx ends.
func (a *Adaptive) Wait(ctx context.Context) error { return a.lim.Wait(ctx) }

// Throttled records a throttling answer.
func (a *Adaptive) Throttled() {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	if now.Sub(a.lastDecrease) < time.Second {
		return
	}
	a.lastDecrease = now
	a.lim.SetLimit(rate.Limit(max(a.min, float64(a.lim.Limit())*0.75)))
}

// Succeeded records a call that went through.
func (a *Adaptive) Succeeded() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lim.SetLimit(rate.Limit(min(a.max, float64(a.lim.Limit())+0.2)))
}

// Rate is the current pace, in calls per second.
func (a *Adaptive) Rate() float64 { return float64(a.lim.Limit()) }

// ObservingRetryer wraps an SDK retryer and calls Throttled for each
// throttling answer it is asked to retry. Give it to the client that makes
// only the paced calls.
type ObservingRetryer struct {
	aws.RetryerV2
	Throttled func()
}

// RetryDelay implements aws.Retryer.
func (o *ObservingRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	if IsThrottle(err) {
		o.Throttled()
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
