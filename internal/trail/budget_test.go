package trail

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestBudgetBoundsGrownWindows runs many decoders at once, each on an
// input whose values (near the per-value cap) need a grown window, with a
// budget room for two: every record is read, and no more than two grown
// windows ever exist (a decoder that waits for the budget holds none, and
// a window given back is reused, not allocated again). Before, 8 decoders
// waiting with half-grown windows held four times the budget.
func TestBudgetBoundsGrownWindows(t *testing.T) {
	const maxValue = 4 << 20
	b := NewBudget(2 * (maxValue + (64 << 10) - baseBuffer))
	pad := strings.Repeat("x", 3<<20)
	var wg sync.WaitGroup
	ids := make([][]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var in strings.Builder
			for j := range 3 {
				fmt.Fprintf(&in, `{"Records":[{"eventID":"%d-%d","pad":"%s"},%s]}`+"\n", i, j, pad, recID(fmt.Sprintf("%d-%d-root", i, j)))
			}
			got, dmg, err := decodeHostile(t, strings.NewReader(in.String()), Options{MaxValue: maxValue, Budget: b})
			if err != nil || len(dmg) != 0 {
				t.Errorf("decoder %d: damage %v, err %v", i, dmg, err)
			}
			ids[i] = got
		}()
	}
	wg.Wait()
	for i, got := range ids {
		if len(got) != 6 {
			t.Errorf("decoder %d read %v, want 6 records", i, got)
		}
	}
	if n := len(b.free); n == 0 || n > 2 {
		t.Errorf("%d grown windows allocated, want 1 or 2 (the budget's room)", n)
	}
	if !b.sem.TryAcquire(b.total) {
		t.Error("the budget was not given back")
	}
}
