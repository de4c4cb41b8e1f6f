package helpdesk

import (
	"fmt"
	"testing"
	"time"
)

// keysOnLanes returns two customer keys whose home lanes differ.
func keysOnLanes(t *testing.T, lanes int) (string, string) {
	t.Helper()
	a := "5511900000000"
	for i := 1; i < 1000; i++ {
		b := fmt.Sprintf("55119%08d", i)
		if homeLane(b, lanes) != homeLane(a, lanes) {
			return a, b
		}
	}
	t.Fatal("no two keys on different lanes")
	return "", ""
}

// A delivery carrying customers A and B goes to one lane; while it is in
// flight, B's next delivery must follow it on that lane (on B's own home
// lane it could be applied first).
func TestLaneRouterKeepsEachCustomersOrder(t *testing.T) {
	const lanes = 4
	a, b := keysOnLanes(t, lanes)
	var r laneRouter
	mixed := r.route([]string{a, b}, lanes)
	if got := r.route([]string{b}, lanes); got != mixed {
		t.Fatalf("B's next delivery went to lane %d, the delivery with A and B is on lane %d", got, mixed)
	}
	r.release([]string{b})
	r.release([]string{a, b})
	if got := r.route([]string{b}, lanes); got != homeLane(b, lanes) {
		t.Errorf("with nothing in flight B goes to lane %d, want its home lane %d", got, homeLane(b, lanes))
	}
	r.release([]string{b})

	// A on one lane and B on another, both in flight: a delivery with A and
	// B waits until one of them is done.
	la, lb := r.route([]string{a}, lanes), r.route([]string{b}, lanes)
	if la == lb {
		t.Fatalf("A and B share lane %d", la)
	}
	routed := make(chan int)
	go func() { routed <- r.route([]string{a, b}, lanes) }()
	select {
	case l := <-routed:
		t.Fatalf("the delivery with A and B went to lane %d while both were in flight on lanes %d and %d", l, la, lb)
	case <-time.After(50 * time.Millisecond):
	}
	r.release([]string{a})
	if got := <-routed; got != lb {
		t.Errorf("after A finished the delivery with A and B went to lane %d, want B's lane %d", got, lb)
	}
	if len(r.inFlight) != 2 {
		t.Errorf("in flight: %v", r.inFlight)
	}
}
