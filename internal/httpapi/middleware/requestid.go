package middleware

import (
	"context"
	"net/http"

	"github.com/google/uuid"
)

// RequestIDHeader is the header a request id is read from and echoed in.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an accepted incoming id; longer ones are replaced.
const maxRequestIDLen = 64

type requestIDKey struct{}

// RequestID gives every request an id: a sane incoming X-Request-Id (1–64
// characters of [A-Za-z0-9._-], e.g. set by a proxy) is kept, anything else
// is replaced by a fresh UUIDv7. The id is set on the response header
// X-Request-Id before next runs and stored in the context for RequestIDFrom.
// It also installs the user holder used by SetUserID (see the package doc),
// so mount it first.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		ctx, _ = ensureUserHolder(ctx)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// RequestIDFrom returns the request id stored by RequestID, or "" when the
// request did not pass through it.
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// validRequestID reports whether an incoming id is safe to echo and log:
// it goes into a response header and into log lines, so it must be short and
// free of anything a log parser or a header could misread.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	// NewV7 fails only when crypto/rand does, which since Go 1.24 crashes
	// the process instead of returning an error.
	return uuid.Must(uuid.NewV7()).String()
}
