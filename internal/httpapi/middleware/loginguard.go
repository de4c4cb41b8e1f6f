package middleware

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/httprate"
)

// Defaults for NewLoginGuard: 10 failed logins per 15 minutes.
const (
	DefaultLoginMaxFailures = 10
	DefaultLoginWindow      = 15 * time.Minute
)

// defaultLoginGuardEntries caps the tracked keys (IPs plus e-mails). An entry
// is a few dozen bytes, so the cap bounds the guard to a few megabytes
// however many random e-mails an attacker sprays.
const defaultLoginGuardEntries = 50_000

// LoginGuard counts failed logins per client IP and per e-mail address and
// blocks further attempts once either reaches max inside a fixed window that
// starts at the key's first failure. Per-IP stops one machine guessing many
// accounts; per-e-mail stops many machines guessing one account.
//
// It lives in memory, one per process, safe for concurrent use. Handlers use
// Begin, which counts the attempt before the password hash is checked so a
// parallel burst cannot overshoot max:
//
//	attempt, wait, blocked := guard.Begin(ip, email)
//	if blocked { 429, Retry-After: wait }
//	passwordRight → attempt.Succeed(); other error → attempt.Abandon()
//
// Check, Fail and Succeed are the lower-level steps.
type LoginGuard struct {
	max        int
	window     time.Duration
	now        func() time.Time
	maxEntries int

	mu        sync.Mutex // guards entries and lastSweep
	entries   map[guardKey]guardEntry
	lastSweep time.Time
}

type guardKey struct {
	email bool // false: value is an IP
	value string
}

type guardEntry struct {
	failures int
	start    time.Time // first failure of the current window
}

// NewLoginGuard returns a guard blocking after max failures within window;
// now is the clock (nil means time.Now). It panics when max < 1 or
// window <= 0.
func NewLoginGuard(max int, window time.Duration, now func() time.Time) *LoginGuard {
	if max < 1 || window <= 0 {
		panic(fmt.Sprintf("middleware.NewLoginGuard: need max >= 1 and window > 0, got %d, %s", max, window))
	}
	if now == nil {
		now = time.Now
	}
	return &LoginGuard{
		max:        max,
		window:     window,
		now:        now,
		maxEntries: defaultLoginGuardEntries,
		entries:    make(map[guardKey]guardEntry),
		lastSweep:  now(),
	}
}

// Check reports whether a login from ip for email must be refused without
// looking at the password: blocked is true when the IP or the e-mail (case-
// and space-insensitive) has max or more failures in its current window, and
// retryAfter is then how long until every blocking window has ended. It
// records nothing. An empty ip or email is not checked.
func (g *LoginGuard) Check(ip, email string) (retryAfter time.Duration, blocked bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.maybeSweep(now)
	for _, k := range g.keys(ip, email) {
		e, ok := g.entries[k]
		if !ok || g.expired(e, now) || e.failures < g.max {
			continue
		}
		blocked = true
		if wait := e.start.Add(g.window).Sub(now); wait > retryAfter {
			retryAfter = wait
		}
	}
	return retryAfter, blocked
}

// Fail records one failed login against both ip and email (either may be
// empty and is then skipped).
func (g *LoginGuard) Fail(ip, email string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.maybeSweep(now)
	for _, k := range g.keys(ip, email) {
		g.failLocked(k, now)
	}
}

// failLocked counts one failure against k and returns the start of the
// window it was counted in. g.mu is held.
func (g *LoginGuard) failLocked(k guardKey, now time.Time) time.Time {
	e, ok := g.entries[k]
	switch {
	case ok && !g.expired(e, now):
		e.failures++
	case !ok && len(g.entries) >= g.maxEntries:
		g.makeRoom(now)
		fallthrough
	default:
		e = guardEntry{failures: 1, start: now}
	}
	g.entries[k] = e
	return e.start
}

// Succeed clears email's failures after a successful login. The IP's count is
// kept on purpose: an attacker who owns one account must not be able to reset
// the counter of the address they are guessing other accounts from.
func (g *LoginGuard) Succeed(ip, email string) {
	_ = ip // kept in the signature so call sites read symmetrically with Fail
	email = normalizeEmail(email)
	if email == "" {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.entries, guardKey{email: true, value: email})
}

// keys returns the guard's keys for a login attempt. IPv6 addresses are
// reduced to their /64, which one host typically controls.
func (g *LoginGuard) keys(ip, email string) []guardKey {
	keys := make([]guardKey, 0, 2)
	if ip = strings.TrimSpace(ip); ip != "" {
		keys = append(keys, guardKey{value: httprate.CanonicalizeIP(ip)})
	}
	if email = normalizeEmail(email); email != "" {
		keys = append(keys, guardKey{email: true, value: email})
	}
	return keys
}

func normalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

func (g *LoginGuard) expired(e guardEntry, now time.Time) bool {
	return now.Sub(e.start) >= g.window
}

// maybeSweep drops expired entries once per window, so the map shrinks back
// after a burst even if the burst's keys are never seen again. g.mu is held.
func (g *LoginGuard) maybeSweep(now time.Time) {
	if now.Sub(g.lastSweep) < g.window {
		return
	}
	for k, e := range g.entries {
		if g.expired(e, now) {
			delete(g.entries, k)
		}
	}
	g.lastSweep = now
}

// makeRoom is called when the map is full and a new key arrives: it drops
// every expired entry and, if none was, the entry whose window started
// first, which is the nearest to expiring anyway. g.mu is held.
func (g *LoginGuard) makeRoom(now time.Time) {
	var (
		oldest   guardKey
		oldestAt time.Time
		haveOld  bool
		before   = len(g.entries)
	)
	for k, e := range g.entries {
		if g.expired(e, now) {
			delete(g.entries, k)
			continue
		}
		if !haveOld || e.start.Before(oldestAt) {
			oldest, oldestAt, haveOld = k, e.start, true
		}
	}
	if len(g.entries) == before && haveOld {
		delete(g.entries, oldest)
	}
}

// LoginAttempt is one password check in flight, counted as a failure from
// the moment Begin admits it; Succeed or Abandon take that count back.
type LoginAttempt struct {
	g         *LoginGuard
	ip, email string
	keys      []guardKey
	starts    []time.Time // window start of each key when it was counted
}

// Begin admits a login attempt or refuses it like Check, but counts the
// attempt as a failure before the password is looked at, in the same
// critical section as the check. Concurrent attempts therefore cannot all
// pass a check that only the failures already finished would have tripped:
// a burst of 100 parallel guesses gets max password checks, not 100.
func (g *LoginGuard) Begin(ip, email string) (attempt *LoginAttempt, retryAfter time.Duration, blocked bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.maybeSweep(now)
	keys := g.keys(ip, email)
	for _, k := range keys {
		e, ok := g.entries[k]
		if !ok || g.expired(e, now) || e.failures < g.max {
			continue
		}
		blocked = true
		if wait := e.start.Add(g.window).Sub(now); wait > retryAfter {
			retryAfter = wait
		}
	}
	if blocked {
		return nil, retryAfter, true
	}
	attempt = &LoginAttempt{g: g, ip: ip, email: email, keys: keys, starts: make([]time.Time, len(keys))}
	for i, k := range keys {
		attempt.starts[i] = g.failLocked(k, now)
	}
	return attempt, 0, false
}

// Succeed ends an attempt whose password was right: the e-mail's failures
// are cleared and the IP's provisional failure is refunded (its earlier
// failures stay, as with LoginGuard.Succeed).
func (a *LoginAttempt) Succeed() {
	a.g.Succeed(a.ip, a.email)
	a.refund(func(k guardKey) bool { return !k.email })
}

// Abandon ends an attempt that failed for a reason other than the password
// (a database error): nothing is counted against the client.
func (a *LoginAttempt) Abandon() {
	a.refund(func(guardKey) bool { return true })
}

// refund takes back the provisional failure of the keys selected, unless the
// key's window has restarted since (the count then no longer holds it).
func (a *LoginAttempt) refund(selected func(guardKey) bool) {
	a.g.mu.Lock()
	defer a.g.mu.Unlock()
	for i, k := range a.keys {
		if !selected(k) {
			continue
		}
		e, ok := a.g.entries[k]
		if !ok || !e.start.Equal(a.starts[i]) || e.failures == 0 {
			continue
		}
		e.failures--
		a.g.entries[k] = e
	}
}
