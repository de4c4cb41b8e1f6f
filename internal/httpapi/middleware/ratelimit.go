package middleware

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/httprate"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// KeyFunc names the bucket a request is counted in.
type KeyFunc func(r *http.Request) string

// KeyByIP buckets by client address (ClientIP), with IPv6 clients grouped by
// their /64 because one host usually controls the whole prefix.
func KeyByIP(r *http.Request) string {
	return "ip:" + httprate.CanonicalizeIP(ClientIP(r))
}

// KeyByUserOrIP buckets by the authenticated user (SetUserID) when there is
// one, else by KeyByIP. Mount the limiter that uses it after the auth
// middleware, so the user is known; before auth it degrades to per-IP.
// The prefixes keep a user id from ever sharing a bucket with an address.
func KeyByUserOrIP(r *http.Request) string {
	if id := UserIDFrom(r.Context()); id != "" {
		return "user:" + id
	}
	return KeyByIP(r)
}

// RateLimit allows max requests per key in any window (httprate's sliding
// window, counted in memory per process; each call to RateLimit has its own
// buckets). A request over the limit is answered 429 with code rate_limited
// and Retry-After set to the window in whole seconds (at least 1), the
// longest it can take for the estimate to fall back under max; next is not
// called. X-RateLimit-Limit, -Remaining and -Reset are set on every response.
// It panics at mount when max < 1, window <= 0 or key is nil.
//
// With N replicas each process counts on its own, so the effective limit is
// up to N×max; a shared counter (Redis) can replace it later without changing
// this signature.
func RateLimit(max int, window time.Duration, key KeyFunc) func(http.Handler) http.Handler {
	if max < 1 || window <= 0 || key == nil {
		panic(fmt.Sprintf("middleware.RateLimit: need max >= 1, window > 0 and a key func, got %d, %s, nil=%t",
			max, window, key == nil))
	}
	retryAfter := retryAfterSeconds(window)
	rl := httprate.NewRateLimiter(max, window,
		httprate.WithKeyFuncs(func(r *http.Request) (string, error) { return key(r), nil }),
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", retryAfter)
			WriteError(w, r, http.StatusTooManyRequests, helpdesk.CodeRateLimited,
				"too many requests, retry after "+retryAfter+" seconds", nil)
		}),
		// The in-memory counter never fails and our key funcs return no
		// error, so this is unreachable; answer in our shape all the same.
		httprate.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, _ error) {
			WriteError(w, r, http.StatusInternalServerError, helpdesk.CodeInternal, "rate limiter failed", nil)
		}),
	)
	return rl.Handler
}

// retryAfterSeconds is the Retry-After value for window: whole seconds,
// rounded up, at least 1 (0 would invite an immediate retry).
func retryAfterSeconds(window time.Duration) string {
	return strconv.Itoa(int(math.Max(1, math.Ceil(window.Seconds()))))
}
