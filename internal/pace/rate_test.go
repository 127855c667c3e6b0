package pace

import "testing"

func TestParseRate(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"50", 50, true}, {" 2.5 ", 2.5, true},
		{"5/s", 0, false}, {"0", 0, false}, {"-1", 0, false}, {"NaN", 0, false}, {"Inf", 0, false}, {"", 0, false},
	} {
		got, err := ParseRate(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
