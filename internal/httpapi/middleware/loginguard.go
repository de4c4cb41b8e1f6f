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
// It lives in memory, one per process, safe for concurrent use. Check and Fail
// are separate calls, so a burst of concurrent attempts may overshoot max by
// the number in flight; that is the price of not holding a lock across the
// password hash. The login handler uses it directly:
//
//	if wait, blocked := guard.Check(ip, email); blocked { 429, Retry-After: wait }
//	if passwordWrong { guard.Fail(ip, email) } else { guard.Succeed(ip, email) }
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
	}
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
