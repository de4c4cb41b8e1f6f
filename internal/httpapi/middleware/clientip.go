package middleware

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

type clientIPKey struct{}

// ResolveClientIP decides once per request which address is the client's and
// stores it for ClientIP.
//
// With trustProxy false (the default to use) the address is the TCP peer,
// r.RemoteAddr, and X-Real-IP / X-Forwarded-For are ignored: any client can
// send those headers, and honouring them without a proxy that overwrites them
// would let an attacker choose a fresh rate-limit or login-guard bucket on
// every request.
//
// With trustProxy true (only when the server is reachable solely through one
// reverse proxy that sets X-Real-IP to the peer it saw, nginx's
// "proxy_set_header X-Real-IP $remote_addr", and/or appends that peer to
// X-Forwarded-For, $proxy_add_x_forwarded_for) the address is
// X-Real-IP when it parses, else the right-most entry of X-Forwarded-For —
// the one our proxy appended. The left-most entry is deliberately not used:
// the client writes it. Unparseable headers fall back to r.RemoteAddr.
func ResolveClientIP(trustProxy bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ip := peerIP(r)
			if trustProxy {
				if p, ok := proxyIP(r.Header); ok {
					ip = p
				}
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientIPKey{}, ip)))
		})
	}
}

// ClientIP returns the client's address as resolved by ResolveClientIP, or,
// when that did not run, the host part of r.RemoteAddr (RemoteAddr itself if
// it has no port). It never reads proxy headers on its own.
func ClientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(clientIPKey{}).(string); ok {
		return ip
	}
	return peerIP(r)
}

func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// proxyIP reads the client address a trusted proxy reported.
func proxyIP(h http.Header) (string, bool) {
	if a, err := netip.ParseAddr(strings.TrimSpace(h.Get("X-Real-IP"))); err == nil {
		return a.Unmap().String(), true
	}
	// Several X-Forwarded-For lines form one list, in order.
	xff := h.Values("X-Forwarded-For")
	if len(xff) == 0 {
		return "", false
	}
	last := xff[len(xff)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	if a, err := netip.ParseAddr(strings.TrimSpace(last)); err == nil {
		return a.Unmap().String(), true
	}
	return "", false
}
