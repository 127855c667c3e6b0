package pace

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseRate reads a rate setting in calls per second, such as
// ASSUME_ROOT_RATE: a finite positive number ("5/s" is not 5, and NaN or
// Inf would leave the pace without a number).
func ParseRate(s string) (float64, error) {
	rate, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(rate > 0) || math.IsInf(rate, 0) {
		return 0, fmt.Errorf("%q: want a positive number", s)
	}
	return rate, nil
}
