package middleware

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	chimw "github.com/go-chi/chi/v5/middleware"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// Recoverer turns a panic in next into a 500 with code internal_error whose
// message quotes the request id, so a user's report can be matched to the
// log, and logs the panic value and stack at Error with request_id.
//
// http.ErrAbortHandler is re-panicked untouched: net/http uses it to abort a
// response silently. When the handler had already started its response the
// status cannot change any more; the panic is still logged and nothing else
// is written. Mount it inside Logger and Metrics so they see the 500.
func Recoverer(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ww := chimw.NewWrapResponseWriter(w, r.ProtoMajor)
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if p == http.ErrAbortHandler {
					panic(p)
				}
				id := RequestIDFrom(r.Context())
				log.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
					slog.String("request_id", id),
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.String("panic", fmt.Sprint(p)),
					slog.String("stack", string(debug.Stack())),
				)
				if ww.Status() != 0 {
					return // headers are gone; the client sees a truncated response
				}
				msg := "internal error"
				if id != "" {
					msg = fmt.Sprintf("internal error (request id %s)", id)
				}
				WriteError(ww, r, http.StatusInternalServerError, helpdesk.CodeInternal, msg, nil)
			}()
			next.ServeHTTP(ww, r)
		})
	}
}
