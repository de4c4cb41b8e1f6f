package middleware

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"
)

// Logger writes one structured line per request once it completes: at Error
// for a 5xx status, at Debug for a success of a request marked with
// LogSuccessAtDebug, at Info otherwise. Keys: request_id, method, path (the URL
// path only; query strings may carry tokens, e.g. ?token= on /ws), route (the
// chi route pattern, when one matched), status, bytes, duration_ms, ip
// (ClientIP) and user_id (when SetUserID was called). Headers, bodies and
// query strings are never logged.
//
// The response writer handed to next keeps http.Flusher, http.Hijacker and
// Unwrap (for http.ResponseController) working, so streaming and WebSocket
// upgrades pass through. Logger installs the user holder if RequestID did
// not. If a panic reaches it (no Recoverer inside, or http.ErrAbortHandler),
// it logs the request as a 500 and re-panics; an http.ErrAbortHandler line is
// at Info with aborted=true, since aborting is deliberate.
func Logger(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ctx, holder := ensureUserHolder(r.Context())
			r = r.WithContext(ctx)
			ww := chimw.NewWrapResponseWriter(w, r.ProtoMajor)

			defer func() {
				p := recover()
				status := ww.Status()
				if status == 0 {
					status = http.StatusOK // net/http's answer to a handler that wrote nothing
					if p != nil {
						status = http.StatusInternalServerError
					}
				}
				holder.mu.Lock()
				userID, quiet := holder.userID, holder.quiet
				holder.mu.Unlock()
				level := slog.LevelInfo
				switch {
				case status >= 500 && p != http.ErrAbortHandler:
					level = slog.LevelError
				case quiet && status < 400 && p == nil:
					level = slog.LevelDebug
				}
				if !log.Enabled(ctx, level) {
					if p != nil {
						panic(p)
					}
					return
				}
				attrs := make([]slog.Attr, 0, 11)
				attrs = append(attrs,
					slog.String("request_id", RequestIDFrom(ctx)),
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
				)
				if route := chi.RouteContext(ctx).RoutePattern(); route != "" {
					attrs = append(attrs, slog.String("route", route))
				}
				attrs = append(attrs,
					slog.Int("status", status),
					slog.Int("bytes", ww.BytesWritten()),
					slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
					slog.String("ip", ClientIP(r)),
				)
				if userID != "" {
					attrs = append(attrs, slog.String("user_id", userID))
				}
				if p == http.ErrAbortHandler {
					attrs = append(attrs, slog.Bool("aborted", true))
				}
				log.LogAttrs(ctx, level, "http request", attrs...)
				if p != nil {
					panic(p)
				}
			}()

			next.ServeHTTP(ww, r)
		})
	}
}
