package middleware

import (
	"net/http"
	"strings"

	"github.com/go-chi/cors"
)

// ContentSecurityPolicy is the policy SecurityHeaders sends: the React
// dashboard's scripts come only from our origin; inline styles are allowed
// because UI libraries set style attributes; media and images may be blob:
// or data: URLs (previews of WhatsApp media); connect-src adds ws:/wss: for
// the /ws socket, since 'self' does not cover WebSocket schemes in every
// browser.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; font-src 'self' data:; " +
	"object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"

// SecurityHeaders sets, before next runs, X-Content-Type-Options: nosniff,
// X-Frame-Options: DENY, Referrer-Policy: strict-origin-when-cross-origin,
// Content-Security-Policy (ContentSecurityPolicy) and
// Cross-Origin-Opener-Policy: same-origin; and, only when production is true,
// Strict-Transport-Security: max-age=63072000; includeSubDomains. HSTS is
// withheld otherwise because a browser remembers it for two years and would
// then refuse plain-HTTP development servers on the same host.
func SecurityHeaders(production bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
			h.Set("Content-Security-Policy", ContentSecurityPolicy)
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			if production {
				h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// CORS allows cross-origin calls from exactly allowedOrigins (scheme://host[:port],
// e.g. FRONTEND_URL), with credentials, methods GET POST PUT PATCH DELETE
// OPTIONS, request headers Authorization, Content-Type and X-Request-Id,
// exposed headers X-Request-Id and Retry-After, and a preflight max age of
// 600 s. A listed origin is echoed in Access-Control-Allow-Origin; any other
// gets no CORS headers, so the browser blocks the read. Preflights from any
// origin are answered here and never reach next.
//
// Entries are trimmed of spaces and a trailing "/" (Origin never has one).
// Blank entries and "*" are ignored: a wildcard together with credentials
// would hand every site the user's session. An empty list therefore allows no
// cross-origin caller at all — the same-origin deployment needs none —
// instead of go-chi/cors's default of allowing all.
func CORS(allowedOrigins []string) func(http.Handler) http.Handler {
	origins := make([]string, 0, len(allowedOrigins))
	for _, o := range allowedOrigins {
		o = strings.TrimSuffix(strings.TrimSpace(o), "/")
		if o == "" || o == "*" {
			continue
		}
		origins = append(origins, o)
	}
	opts := cors.Options{
		AllowedOrigins:   origins,
		AllowedMethods:   []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions},
		AllowedHeaders:   []string{"Authorization", "Content-Type", RequestIDHeader},
		ExposedHeaders:   []string{RequestIDHeader, "Retry-After"},
		AllowCredentials: true,
		MaxAge:           600,
	}
	if len(origins) == 0 {
		// go-chi/cors treats no origins and no func as "allow all".
		opts.AllowOriginFunc = func(*http.Request, string) bool { return false }
	}
	return cors.Handler(opts)
}
