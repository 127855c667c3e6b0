package pace

import (
	"context"
	"math"
	"testing"
	"time"
)

// TestNewAdaptiveNotANumber: an initial rate that is not a finite positive
// number (NaN and Inf parse as floats from a flag or the environment)
// falls back to the default, so the interval and the in-flight cap stay
// in range and a call goes through.
func TestNewAdaptiveNotANumber(t *testing.T) {
	for _, r := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, -3} {
		a := NewAdaptive(r, 0, 0)
		if a.Rate() != 50 || a.interval() <= 0 || a.inflightCap() < 1 {
			t.Errorf("NewAdaptive(%v): rate %v, interval %v, cap %d", r, a.Rate(), a.interval(), a.inflightCap())
		}
		ctx, cancel := contextWithTimeout(t, time.Second)
		if err := a.Wait(ctx); err != nil {
			t.Errorf("NewAdaptive(%v): Wait: %v", r, err)
		}
		cancel()
	}
}

func contextWithTimeout(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}
