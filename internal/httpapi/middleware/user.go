package middleware

import (
	"context"
	"sync"
)

// userHolder carries the authenticated user's id from the auth middleware,
// which runs late, back to middleware that ran earlier (Logger reads it after
// next returns). It is written and read by the request's goroutine in the
// usual case, but a handler may hand the context to another goroutine, so it
// is mutex-protected.
type userHolder struct {
	mu     sync.Mutex
	userID string
	quiet  bool // LogSuccessAtDebug
}

type userHolderKey struct{}

// ensureUserHolder returns ctx with a holder, reusing one already present so
// that RequestID and Logger can both install it without shadowing each other.
func ensureUserHolder(ctx context.Context) (context.Context, *userHolder) {
	if h, ok := ctx.Value(userHolderKey{}).(*userHolder); ok {
		return ctx, h
	}
	h := &userHolder{}
	return context.WithValue(ctx, userHolderKey{}, h), h
}

// SetUserID records the authenticated user of the request, for the log line
// (user_id) and for KeyByUserOrIP. The auth middleware calls it once the
// token is verified. It is a no-op when neither RequestID nor Logger ran
// before, so mount one of them ahead of auth. A later call replaces the id.
func SetUserID(ctx context.Context, id string) {
	if h, ok := ctx.Value(userHolderKey{}).(*userHolder); ok {
		h.mu.Lock()
		h.userID = id
		h.mu.Unlock()
	}
}

// UserIDFrom returns the id recorded by SetUserID, or "" when no user is
// authenticated (yet) or no holder was installed.
func UserIDFrom(ctx context.Context) string {
	h, ok := ctx.Value(userHolderKey{}).(*userHolder)
	if !ok {
		return ""
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.userID
}

// LogSuccessAtDebug has Logger write the request's line at Debug unless it
// fails (a status of 400 or more, or a panic): for requests that come as
// often as the traffic itself, such as Meta's webhook deliveries, whose
// bodies the inbox keeps anyway. Like SetUserID it needs RequestID or
// Logger mounted ahead.
func LogSuccessAtDebug(ctx context.Context) {
	if h, ok := ctx.Value(userHolderKey{}).(*userHolder); ok {
		h.mu.Lock()
		h.quiet = true
		h.mu.Unlock()
	}
}
