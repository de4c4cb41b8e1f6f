package sandbox

import "time"

// bucket is a token bucket on the sandbox's clock (Options.Now), so tests
// with a fake clock get exact limits. Callers hold Sandbox.mu.
type bucket struct {
	unlimited bool
	capacity  float64
	perSecond float64 // refill rate
	tokens    float64
	last      time.Time
}

// newRateBucket allows perSecond messages per second, starting full;
// perSecond < 0 means no limit.
func newRateBucket(perSecond int, now time.Time) *bucket {
	if perSecond < 0 {
		return &bucket{unlimited: true}
	}
	n := float64(perSecond)
	return &bucket{capacity: n, perSecond: n, tokens: n, last: now}
}

// newPairBucket allows burst messages at once, refilled one per refill.
func newPairBucket(burst int, refill time.Duration, now time.Time) *bucket {
	return &bucket{capacity: float64(burst), perSecond: 1 / refill.Seconds(), tokens: float64(burst), last: now}
}

// take spends one token if there is one.
func (b *bucket) take(now time.Time) bool {
	if b.unlimited {
		return true
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(b.capacity, b.tokens+elapsed*b.perSecond)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}
