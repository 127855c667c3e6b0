package pace

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

func TestAdaptive(t *testing.T) {
	a := NewAdaptive(50, 1, 60)
	a.Throttled()
	if r := a.Rate(); r != 37.5 {
		t.Errorf("after a throttle: %v, want 37.5", r)
	}
	a.Throttled() // within a second of the last decrease: a burst counts once
	if r := a.Rate(); r != 37.5 {
		t.Errorf("after a burst: %v", r)
	}
	for range 200 {
		a.Succeeded()
	}
	if r := a.Rate(); r != 60 {
		t.Errorf("after successes: %v, want the cap 60", r)
	}
	b := NewAdaptive(1, 1, 2)
	b.Throttled()
	if b.Rate() != 1 {
		t.Errorf("below the floor: %v", b.Rate())
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
}
