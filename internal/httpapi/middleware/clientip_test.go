package middleware

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestClientIP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		mount      bool // run ResolveClientIP first
		trustProxy bool
		remoteAddr string
		realIP     string
		xff        []string
		want       string
	}{
		{name: "NoMiddlewareUsesRemoteAddr", remoteAddr: "198.51.100.1:1234",
			realIP: "1.1.1.1", xff: []string{"2.2.2.2"}, want: "198.51.100.1"},
		{name: "RemoteAddrWithoutPort", remoteAddr: "198.51.100.1", want: "198.51.100.1"},
		{name: "IPv6RemoteAddr", remoteAddr: "[2001:db8::1]:443", want: "2001:db8::1"},
		{name: "UntrustedIgnoresHeaders", mount: true, remoteAddr: "198.51.100.1:1234",
			realIP: "1.1.1.1", xff: []string{"2.2.2.2"}, want: "198.51.100.1"},
		{name: "TrustedPrefersXRealIP", mount: true, trustProxy: true, remoteAddr: "10.0.0.2:1",
			realIP: "203.0.113.9", xff: []string{"2.2.2.2"}, want: "203.0.113.9"},
		{name: "TrustedXFFRightMost", mount: true, trustProxy: true, remoteAddr: "10.0.0.2:1",
			xff: []string{"6.6.6.6, 203.0.113.9"}, want: "203.0.113.9"},
		{name: "TrustedXFFAcrossHeaderLines", mount: true, trustProxy: true, remoteAddr: "10.0.0.2:1",
			xff: []string{"6.6.6.6", "203.0.113.10"}, want: "203.0.113.10"},
		{name: "TrustedGarbageFallsBack", mount: true, trustProxy: true, remoteAddr: "10.0.0.2:1",
			realIP: "not-an-ip", xff: []string{"also, garbage"}, want: "10.0.0.2"},
		{name: "TrustedNoHeaders", mount: true, trustProxy: true, remoteAddr: "10.0.0.2:1", want: "10.0.0.2"},
		{name: "TrustedMappedIPv4", mount: true, trustProxy: true, remoteAddr: "10.0.0.2:1",
			realIP: "::ffff:203.0.113.9", want: "203.0.113.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got string
			var h http.Handler = http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = ClientIP(r) })
			if tt.mount {
				h = ResolveClientIP(tt.trustProxy)(h)
			}
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tt.remoteAddr
			if tt.realIP != "" {
				req.Header.Set("X-Real-IP", tt.realIP)
			}
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if got != tt.want {
				t.Errorf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}
