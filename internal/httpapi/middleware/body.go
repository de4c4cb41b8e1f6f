package middleware

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// MaxBody limits request bodies to n bytes (n > 0, else it panics at mount).
// A request whose Content-Length already exceeds n is answered 413 with code
// payload_too_large without calling next, and its connection is closed
// rather than drained. Otherwise the body is wrapped in http.MaxBytesReader,
// so a chunked or lying body fails on read with an error for which IsTooLarge
// reports true; the handler (its JSON decoder) turns that into the same 413.
// Routes that take bigger bodies (media upload) mount their own MaxBody.
func MaxBody(n int64) func(http.Handler) http.Handler {
	if n <= 0 {
		panic(fmt.Sprintf("middleware.MaxBody: limit must be positive, got %d", n))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				// Closing spares the server reading a body nobody wants.
				w.Header().Set("Connection", "close")
				WriteError(w, r, http.StatusRequestEntityTooLarge, helpdesk.CodeTooLarge,
					fmt.Sprintf("request body is larger than %d bytes", n), nil)
				return
			}
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, n)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// IsTooLarge reports whether err is, or wraps, the *http.MaxBytesError a
// body limited by MaxBody returns once the limit is passed.
func IsTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
