package pace

import (
	"container/heap"
	"fmt"
	"math"
	"testing"
	"time"
)

// sim runs an audit-like workload through the limiter's logic on a
// virtual clock, deterministically: workers each open a session (one
// paced call, round trip rtt), then spend work on the account before the
// next. The API is a token bucket of limit calls per second holding one
// second's worth and starting full, as AWS's and awssim's are (limit 0:
// none). A throttled call is retried in the next paced slot, as
// ObservingRetryer does. It returns when the last session opened, and the
// calls and throttles the limiter counted.
type sim struct {
	workers, sessions int
	initial, limit    float64
	rtt, work         time.Duration
}

type simResult struct {
	end              time.Duration
	calls, throttles int64
	maxInflight      int
}

type event struct {
	at  time.Duration
	seq int
	fn  func()
}

type events []event

func (e events) Len() int { return len(e) }
func (e events) Less(i, j int) bool {
	return e[i].at < e[j].at || e[i].at == e[j].at && e[i].seq < e[j].seq
}
func (e events) Swap(i, j int) { e[i], e[j] = e[j], e[i] }
func (e *events) Push(x any)   { *e = append(*e, x.(event)) }
func (e *events) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

func (s sim) run() simResult {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	var now time.Duration
	a := NewAdaptive(s.initial, 1, 0)
	a.now = func() time.Time { return t0.Add(now) }
	var q events
	seq := 0
	after := func(at time.Duration, fn func()) {
		seq++
		heap.Push(&q, event{at, seq, fn})
	}
	tokens, last := s.limit, time.Duration(0)
	take := func() bool {
		if s.limit == 0 {
			return true
		}
		tokens = math.Min(s.limit, tokens+s.limit*(now-last).Seconds())
		last = now
		if tokens < 1 {
			return false
		}
		tokens--
		return true
	}
	var res simResult
	left, opened := s.sessions, 0
	var waiting []func()
	var open func()
	// send makes one attempt of a call started at start.
	var send func(start time.Duration)
	send = func(start time.Duration) {
		after(now+s.rtt/2, func() {
			ok := take()
			after(now+s.rtt/2, func() {
				if !ok {
					a.throttled(a.now())
					at, _ := a.reserve(a.now(), false)
					after(at.Sub(t0), func() { send(start) })
					return
				}
				a.done(now - start)
				a.succeeded(a.now())
				opened++
				if opened == s.sessions {
					res.end = now
				}
				w := waiting
				waiting = nil
				for _, fn := range w {
					fn()
				}
				after(now+s.work, open)
			})
		})
	}
	open = func() {
		if left == 0 {
			return
		}
		at, ok := a.reserve(a.now(), true)
		if !ok {
			waiting = append(waiting, open)
			return
		}
		res.maxInflight = max(res.maxInflight, a.inflight)
		left--
		after(at.Sub(t0), func() { send(now) })
	}
	for range s.workers {
		after(0, open)
	}
	for q.Len() > 0 {
		e := heap.Pop(&q).(event)
		now = e.at
		e.fn()
	}
	st := a.Stats()
	res.calls, res.throttles = st.Calls, st.Throttled
	return res
}

// TestSimulatedAudit: under a token bucket the pace finds the limit with
// throttled calls under 5% of all calls, and the run ends within 1.15 x
// the floor (sessions / limit); with no limit it ends within 1.15 x the
// same run at an unlimited pace. Virtual time: nothing here is timed.
func TestSimulatedAudit(t *testing.T) {
	for _, c := range []struct {
		sessions int
		limit    float64
	}{
		{862, 50}, {4313, 50}, {862, 20}, {4313, 200}, {862, 0}, {4313, 0},
	} {
		t.Run(fmt.Sprintf("%d sessions, limit %v", c.sessions, c.limit), func(t *testing.T) {
			s := sim{workers: 64, sessions: c.sessions, initial: 50, limit: c.limit,
				rtt: 30 * time.Millisecond, work: 250 * time.Millisecond}
			got := s.run()
			floor := time.Duration(float64(c.sessions) / c.limit * float64(time.Second))
			if c.limit == 0 {
				u := s
				u.initial = 1e6
				floor = u.run().end
			}
			ratio := got.end.Seconds() / floor.Seconds()
			pct := 100 * float64(got.throttles) / float64(got.calls)
			t.Logf("%v (floor %v, %.2fx), %d calls, %d throttled (%.1f%%), at most %d in flight",
				got.end, floor, ratio, got.calls, got.throttles, pct, got.maxInflight)
			if ratio > 1.15 {
				t.Errorf("run took %.2fx its floor, want at most 1.15x", ratio)
			}
			if pct >= 5 {
				t.Errorf("%.1f%% of calls throttled, want under 5%%", pct)
			}
			if got.calls-got.throttles != int64(c.sessions) {
				t.Errorf("%d calls, %d throttled: want %d sessions opened", got.calls, got.throttles, c.sessions)
			}
		})
	}
}
