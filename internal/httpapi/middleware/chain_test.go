package middleware

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// TestChain mounts every piece in the order doc.go recommends and checks
// they compose: a panic is counted and logged as a 500, security headers and
// the request id reach error responses, and the per-user limiter sees the
// user set by auth.
func TestChain(t *testing.T) {
	t.Parallel()
	log, buf := newTestLogger()
	reg := prometheus.NewRegistry()
	metrics := NewMetrics(reg)

	r := chi.NewRouter()
	r.Use(RequestID, ResolveClientIP(false), metrics.Middleware, Logger(log), Recoverer(log),
		SecurityHeaders(true), CORS([]string{"https://app.example.com"}), MaxBody(1<<10))
	r.With(RateLimit(5, time.Minute, KeyByIP)).Post("/api/v1/auth/login", okHandler.ServeHTTP)
	r.Group(func(r chi.Router) {
		r.Use(fakeAuth, RateLimit(1, time.Minute, KeyByUserOrIP))
		r.Get("/api/v1/boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
		r.Get("/api/v1/me", okHandler.ServeHTTP)
	})

	tests := []struct {
		name       string
		method     string
		path, user string
		wantStatus int
		wantCode   string
	}{
		{name: "Login", method: http.MethodPost, path: "/api/v1/auth/login", wantStatus: 200},
		{name: "PanicBecomes500", method: http.MethodGet, path: "/api/v1/boom", user: "carol", wantStatus: 500, wantCode: "internal_error"},
		{name: "AliceFirst", method: http.MethodGet, path: "/api/v1/me", user: "alice", wantStatus: 200},
		{name: "AliceLimited", method: http.MethodGet, path: "/api/v1/me", user: "alice", wantStatus: 429, wantCode: "rate_limited"},
		{name: "BobSameIPNotLimited", method: http.MethodGet, path: "/api/v1/me", user: "bob", wantStatus: 200},
	}
	for _, tt := range tests { // sequential: later cases depend on earlier ones
		req := httptest.NewRequest(tt.method, tt.path, nil)
		req.RemoteAddr = "192.0.2.50:1000"
		if tt.user != "" {
			req.Header.Set("X-Test-User", tt.user)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != tt.wantStatus {
			t.Fatalf("%s: status = %d, want %d", tt.name, rec.Code, tt.wantStatus)
		}
		if rec.Header().Get("Strict-Transport-Security") == "" || rec.Header().Get(RequestIDHeader) == "" {
			t.Errorf("%s: security header or request id missing: %v", tt.name, rec.Header())
		}
		if tt.wantCode != "" {
			er := decodeError(t, rec.Header(), rec.Body.Bytes())
			if er.Error.Code != tt.wantCode || er.Error.RequestID != rec.Header().Get(RequestIDHeader) {
				t.Errorf("%s: error = %+v, want code %s and the response's request id", tt.name, er.Error, tt.wantCode)
			}
		}
	}

	var sawPanicLine bool
	for _, l := range buf.lines(t) {
		if l["path"] == "/api/v1/boom" && l["msg"] == "http request" {
			sawPanicLine = true
			if l["status"] != float64(500) || l["user_id"] != "carol" || l["route"] != "/api/v1/boom" {
				t.Errorf("request line for the panic = %v", l)
			}
		}
	}
	if !sawPanicLine {
		t.Error("no request line for the panicking request")
	}

	_, fams := scrape(t, reg)
	var counted float64
	for _, m := range fams["http_requests_total"].GetMetric() {
		if l := labelsOf(m); l["route"] == "/api/v1/boom" && l["status"] == "500" {
			counted = m.GetCounter().GetValue()
		}
	}
	if counted != 1 {
		t.Errorf("panic counted %v times as route /api/v1/boom status 500, want 1", counted)
	}
}
