package middleware

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for LoginGuard.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestLoginGuard(t *testing.T) {
	t.Parallel()
	const window = 15 * time.Minute
	// A step either advances the clock, records a failure or success, or
	// checks; the guard allows 3 failures.
	type step struct {
		advance   time.Duration
		fail      []string // ip, email
		succeed   []string // ip, email
		check     []string // ip, email
		blocked   bool
		wantRetry time.Duration
	}
	f := func(ip, email string) step { return step{fail: []string{ip, email}} }
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "BelowMaxNotBlocked", steps: []step{
			f("1.1.1.1", "a@x.io"), f("1.1.1.1", "a@x.io"),
			{check: []string{"1.1.1.1", "a@x.io"}},
		}},
		{name: "ByIP", steps: []step{
			f("1.1.1.1", "a@x.io"), f("1.1.1.1", "b@x.io"), f("1.1.1.1", "c@x.io"),
			{check: []string{"1.1.1.1", "fresh@x.io"}, blocked: true, wantRetry: window},
			{check: []string{"2.2.2.2", "fresh@x.io"}},
		}},
		{name: "ByEmailCaseInsensitive", steps: []step{
			f("1.1.1.1", "Victim@X.io"), f("2.2.2.2", "victim@x.io"), f("3.3.3.3", " VICTIM@x.io "),
			{check: []string{"4.4.4.4", "victim@X.IO"}, blocked: true, wantRetry: window},
			{check: []string{"4.4.4.4", "other@x.io"}},
		}},
		{name: "RetryAfterCountsDown", steps: []step{
			f("1.1.1.1", "a@x.io"), {advance: 2 * time.Minute}, f("1.1.1.1", "a@x.io"), f("1.1.1.1", "a@x.io"),
			{advance: 3 * time.Minute},
			{check: []string{"1.1.1.1", "a@x.io"}, blocked: true, wantRetry: 10 * time.Minute},
		}},
		{name: "RetryAfterIsLongestBlock", steps: []step{
			f("1.1.1.1", "x@x.io"), f("1.1.1.1", "y@x.io"), f("1.1.1.1", "z@x.io"), // IP window starts at 0
			{advance: 5 * time.Minute},
			f("2.2.2.2", "v@x.io"), f("3.3.3.3", "v@x.io"), f("4.4.4.4", "v@x.io"), // e-mail window at 5m
			{check: []string{"1.1.1.1", "v@x.io"}, blocked: true, wantRetry: window},
		}},
		{name: "WindowExpiry", steps: []step{
			f("1.1.1.1", "a@x.io"), f("1.1.1.1", "a@x.io"), f("1.1.1.1", "a@x.io"),
			{advance: window - time.Second},
			{check: []string{"1.1.1.1", "a@x.io"}, blocked: true, wantRetry: time.Second},
			{advance: time.Second},
			{check: []string{"1.1.1.1", "a@x.io"}},
			// A new failure starts a new window at one.
			f("1.1.1.1", "a@x.io"), f("1.1.1.1", "a@x.io"),
			{check: []string{"1.1.1.1", "a@x.io"}},
		}},
		{name: "SucceedClearsEmailNotIP", steps: []step{
			f("1.1.1.1", "a@x.io"), f("1.1.1.1", "a@x.io"), f("1.1.1.1", "a@x.io"),
			{succeed: []string{"1.1.1.1", "A@x.io"}},
			{check: []string{"1.1.1.1", "a@x.io"}, blocked: true, wantRetry: window}, // the IP still is
			{check: []string{"9.9.9.9", "a@x.io"}},                                   // the e-mail is not
		}},
		{name: "IPv6GroupedBySlash64", steps: []step{
			f("2001:db8::1", "a@x.io"), f("2001:db8::2", "b@x.io"), f("2001:db8::3", "c@x.io"),
			{check: []string{"2001:db8::ffff", "d@x.io"}, blocked: true, wantRetry: window},
			{check: []string{"2001:db8:0:1::1", "d@x.io"}},
		}},
		{name: "EmptyKeysSkipped", steps: []step{
			f("", "a@x.io"), f("", "a@x.io"), f("", "a@x.io"),
			f("1.1.1.1", ""), f("1.1.1.1", ""),
			{check: []string{"", "a@x.io"}, blocked: true, wantRetry: window},
			{check: []string{"1.1.1.1", ""}},
			{check: []string{"", ""}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			g := NewLoginGuard(3, window, clock.Now)
			for i, s := range tt.steps {
				switch {
				case s.advance != 0:
					clock.Advance(s.advance)
				case s.fail != nil:
					g.Fail(s.fail[0], s.fail[1])
				case s.succeed != nil:
					g.Succeed(s.succeed[0], s.succeed[1])
				case s.check != nil:
					retry, blocked := g.Check(s.check[0], s.check[1])
					if blocked != s.blocked || retry != s.wantRetry {
						t.Fatalf("step %d Check(%q, %q) = %s, %t; want %s, %t",
							i, s.check[0], s.check[1], retry, blocked, s.wantRetry, s.blocked)
					}
				}
			}
		})
	}
}

func TestLoginGuard_BoundedUnderEmailSpray(t *testing.T) {
	t.Parallel()
	const window = 15 * time.Minute
	clock := newFakeClock()
	g := NewLoginGuard(10, window, clock.Now)
	g.maxEntries = 100
	size := func() int {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.entries)
	}

	for i := range 5000 {
		clock.Advance(time.Millisecond)
		g.Fail(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), fmt.Sprintf("spray-%d@x.io", i))
		if n := size(); n > g.maxEntries {
			t.Fatalf("after %d failures the guard holds %d entries, cap %d", i+1, n, g.maxEntries)
		}
	}
	// Still enforcing for a sprayer that keeps using one address.
	for i := range 10 {
		g.Fail("203.0.113.5", fmt.Sprintf("another-%d@x.io", i))
	}
	if _, blocked := g.Check("203.0.113.5", "new@x.io"); !blocked {
		t.Error("an IP with 10 recent failures is not blocked at the cap")
	}

	// Once the window passes, the periodic sweep empties the map.
	clock.Advance(window)
	g.Check("192.0.2.1", "someone@x.io")
	if n := size(); n != 0 {
		t.Errorf("after the window the guard still holds %d entries", n)
	}
}

func TestLoginGuard_Concurrent(t *testing.T) {
	t.Parallel()
	g := NewLoginGuard(DefaultLoginMaxFailures, DefaultLoginWindow, nil)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				ip, email := fmt.Sprintf("10.0.0.%d", w), fmt.Sprintf("u%d@x.io", i%7)
				g.Check(ip, email)
				g.Fail(ip, email)
				if i%5 == 0 {
					g.Succeed(ip, email)
				}
			}
		})
	}
	wg.Wait()
	if _, blocked := g.Check("10.0.0.1", "nobody@x.io"); !blocked {
		t.Error("an IP with 200 failures is not blocked")
	}
}

func TestNewLoginGuard_PanicsOnBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		max    int
		window time.Duration
	}{
		{name: "ZeroMax", max: 0, window: time.Minute},
		{name: "ZeroWindow", max: 1, window: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Error("did not panic")
				}
			}()
			NewLoginGuard(tt.max, tt.window, nil)
		})
	}
}
