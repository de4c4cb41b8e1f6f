// Package middleware holds the HTTP edge of the API: framework pieces with no
// domain logic, each a func(http.Handler) http.Handler that mounts on chi.
//
// # Order
//
// The router is expected to mount them outermost first:
//
//	r.Use(middleware.RequestID)                // id on ctx + X-Request-Id; installs the user holder
//	r.Use(middleware.ResolveClientIP(trust))   // before anything that reads ClientIP
//	r.Use(metrics.Middleware)                  // sees the final status, incl. recovered panics
//	r.Use(middleware.Logger(log))              // one line per request
//	r.Use(middleware.Recoverer(log))           // panic → 500 JSON; must sit inside Logger/Metrics
//	r.Use(middleware.SecurityHeaders(prod))
//	r.Use(middleware.CORS(origins))
//	r.Use(middleware.MaxBody(1 << 20))
//
// # Error responses
//
// Every error this package writes, and every error the rest of the API
// writes, goes through WriteError, which renders the one JSON shape
//
//	{"error":{"code":"rate_limited","message":"...","requestId":"...","fields":{...}}}
//
// with requestId present when the request carries one and fields only when
// non-empty. Codes are helpdesk's (helpdesk.CodeRateLimited, …).
//
// # Who is the caller
//
// Authentication happens in a later middleware, but the log line (written by
// Logger, which runs earlier) and the per-user rate limiter need to know the
// user. RequestID and Logger therefore put a small mutable holder in the
// request context; the auth middleware calls SetUserID(ctx, id) and anything
// running after it, or anything looking after next returns, reads UserIDFrom.
//
// # Rate limiting
//
// RateLimit takes a KeyFunc and keeps its own buckets, so each mount is an
// independent limit. The keying design is positional rather than clever:
//
//   - public routes (login, refresh) mount RateLimit(n, w, KeyByIP): there is
//     no user to key by;
//   - authenticated groups mount RateLimit(n, w, KeyByUserOrIP) AFTER the
//     auth middleware, so the user id is already in the holder and two agents
//     behind one office NAT get separate buckets.
//
// KeyByUserOrIP falls back to the IP when no user is set, so mounting it
// before auth is not wrong, merely per-IP. Failed logins are limited
// separately by LoginGuard, which the login handler calls directly. The
// WhatsApp webhook arrives from Meta's shared address pool and is verified by
// signature; an IP limit there would drop deliveries, so leave it unlimited or
// generous.
//
// # Client IP
//
// ClientIP returns the peer address from r.RemoteAddr unless
// ResolveClientIP(true) ran earlier. Proxy headers are ignored by default
// because any client can send them: trusting them without a proxy in front
// would let an attacker pick a fresh rate-limit bucket per request.
package middleware
