package middleware

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	common := map[string]string{
		"X-Content-Type-Options":     "nosniff",
		"X-Frame-Options":            "DENY",
		"Referrer-Policy":            "strict-origin-when-cross-origin",
		"Content-Security-Policy":    ContentSecurityPolicy,
		"Cross-Origin-Opener-Policy": "same-origin",
	}
	tests := []struct {
		name       string
		production bool
		wantHSTS   string
	}{
		{name: "Development", production: false, wantHSTS: ""},
		{name: "Production", production: true, wantHSTS: "max-age=63072000; includeSubDomains"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			SecurityHeaders(tt.production)(okHandler).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			for k, v := range common {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if got := rec.Header().Get("Strict-Transport-Security"); got != tt.wantHSTS {
				t.Errorf("Strict-Transport-Security = %q, want %q", got, tt.wantHSTS)
			}
		})
	}
}

func TestContentSecurityPolicy(t *testing.T) {
	t.Parallel()
	want := "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
		"media-src 'self' blob:; connect-src 'self' ws: wss:; font-src 'self' data:; object-src 'none'; " +
		"base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
	if ContentSecurityPolicy != want {
		t.Errorf("ContentSecurityPolicy =\n%s\nwant\n%s", ContentSecurityPolicy, want)
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	const allowed = "https://app.example.com"
	tests := []struct {
		name        string
		origins     []string
		method      string
		origin      string // "" = no Origin header
		preflight   bool
		wantAllow   string
		wantCreds   string
		wantExpose  string
		wantMaxAge  string
		wantNextRan bool
	}{
		{name: "ListedOriginEchoed", origins: []string{allowed}, method: http.MethodGet, origin: allowed,
			wantAllow: allowed, wantCreds: "true", wantExpose: "X-Request-Id, Retry-After", wantNextRan: true},
		{name: "TrailingSlashInConfig", origins: []string{allowed + "/"}, method: http.MethodGet, origin: allowed,
			wantAllow: allowed, wantCreds: "true", wantExpose: "X-Request-Id, Retry-After", wantNextRan: true},
		{name: "UnlistedOrigin", origins: []string{allowed}, method: http.MethodGet, origin: "https://evil.example",
			wantNextRan: true},
		{name: "NoOrigin", origins: []string{allowed}, method: http.MethodGet, wantNextRan: true},
		{name: "EmptyListAllowsNobody", origins: nil, method: http.MethodGet, origin: allowed, wantNextRan: true},
		{name: "WildcardIgnored", origins: []string{"*"}, method: http.MethodGet, origin: "https://evil.example",
			wantNextRan: true},
		{name: "PreflightListed", origins: []string{allowed}, method: http.MethodOptions, origin: allowed, preflight: true,
			wantAllow: allowed, wantCreds: "true", wantMaxAge: "600"},
		{name: "PreflightUnlisted", origins: []string{allowed}, method: http.MethodOptions,
			origin: "https://evil.example", preflight: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			nextRan := false
			h := CORS(tt.origins)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { nextRan = true }))
			req := httptest.NewRequest(tt.method, "/api/v1/me", nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			if tt.preflight {
				req.Header.Set("Access-Control-Request-Method", http.MethodPatch)
				req.Header.Set("Access-Control-Request-Headers", "authorization, content-type, x-request-id")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			hd := rec.Header()
			checks := map[string]string{
				"Access-Control-Allow-Origin":      tt.wantAllow,
				"Access-Control-Allow-Credentials": tt.wantCreds,
				"Access-Control-Expose-Headers":    tt.wantExpose,
				"Access-Control-Max-Age":           tt.wantMaxAge,
			}
			for k, v := range checks {
				if got := hd.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tt.preflight && tt.wantAllow != "" {
				if got := hd.Get("Access-Control-Allow-Methods"); got != http.MethodPatch {
					t.Errorf("Access-Control-Allow-Methods = %q, want PATCH", got)
				}
				if got := hd.Get("Access-Control-Allow-Headers"); got == "" {
					t.Error("Access-Control-Allow-Headers missing for allowed request headers")
				}
			}
			if nextRan != tt.wantNextRan {
				t.Errorf("next ran = %t, want %t", nextRan, tt.wantNextRan)
			}
		})
	}
}
