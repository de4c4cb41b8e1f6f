package middleware

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// fakeAuth stands in for the auth middleware: it records the user named by
// the X-Test-User header.
func fakeAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := r.Header.Get("X-Test-User"); u != "" {
			SetUserID(r.Context(), u)
		}
		next.ServeHTTP(w, r)
	})
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	type call struct {
		user, ip   string
		wantStatus int
	}
	const ip = "192.0.2.10:4000"
	tests := []struct {
		name   string
		key    KeyFunc
		window time.Duration
		calls  []call
	}{
		{
			name: "429AfterMax", key: KeyByIP, window: time.Minute,
			calls: []call{{"", ip, 200}, {"", ip, 200}, {"", ip, 200}, {"", ip, 429}, {"", ip, 429}},
		},
		{
			name: "IPsHaveOwnBuckets", key: KeyByIP, window: time.Minute,
			calls: []call{{"", ip, 200}, {"", ip, 200}, {"", ip, 200}, {"", ip, 429},
				{"", "192.0.2.11:4000", 200}},
		},
		{
			name: "IPv6SameSlash64SharesBucket", key: KeyByIP, window: time.Minute,
			calls: []call{{"", "[2001:db8::1]:1", 200}, {"", "[2001:db8::2]:1", 200},
				{"", "[2001:db8::3]:1", 200}, {"", "[2001:db8::4]:1", 429}},
		},
		{
			name: "UsersBehindOneIPHaveOwnBuckets", key: KeyByUserOrIP, window: time.Minute,
			calls: []call{{"alice", ip, 200}, {"alice", ip, 200}, {"alice", ip, 200}, {"alice", ip, 429},
				{"bob", ip, 200}, {"bob", ip, 200}, {"bob", ip, 200}, {"bob", ip, 429},
				{"", ip, 200}}, // anonymous traffic from that IP is a third bucket
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Mounted after auth, as on authenticated route groups.
			h := RequestID(fakeAuth(RateLimit(3, tt.window, tt.key)(okHandler)))
			wantRetry := strconv.Itoa(int(tt.window / time.Second))
			for i, c := range tt.calls {
				req := httptest.NewRequest(http.MethodGet, "/api/v1/conversations", nil)
				req.RemoteAddr = c.ip
				if c.user != "" {
					req.Header.Set("X-Test-User", c.user)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != c.wantStatus {
					t.Fatalf("call %d (%s@%s): status = %d, want %d", i, c.user, c.ip, rec.Code, c.wantStatus)
				}
				if rec.Code != http.StatusTooManyRequests {
					continue
				}
				if got := rec.Header().Get("Retry-After"); got != wantRetry {
					t.Errorf("call %d: Retry-After = %q, want %q", i, got, wantRetry)
				}
				er := decodeError(t, rec.Header(), rec.Body.Bytes())
				if er.Error.Code != "rate_limited" || er.Error.RequestID == "" || er.Error.Message == "" {
					t.Errorf("call %d: error = %+v, want rate_limited with message and requestId", i, er.Error)
				}
			}
		})
	}
}

func TestRateLimit_MountsAreIndependent(t *testing.T) {
	t.Parallel()
	a := RateLimit(1, time.Minute, KeyByIP)(okHandler)
	b := RateLimit(1, time.Minute, KeyByIP)(okHandler)
	for _, step := range []struct {
		h    http.Handler
		want int
	}{{a, 200}, {a, 429}, {b, 200}, {b, 429}} {
		rec := httptest.NewRecorder()
		step.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Code != step.want {
			t.Fatalf("status = %d, want %d", rec.Code, step.want)
		}
	}
}

func TestKeyByUserOrIP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, user, remote, want string
	}{
		{name: "User", user: "u1", remote: "192.0.2.1:1", want: "user:u1"},
		{name: "Anonymous", remote: "192.0.2.1:1", want: "ip:192.0.2.1"},
		{name: "AnonymousIPv6", remote: "[2001:db8:1:2:3::9]:1", want: "ip:2001:db8:1:2::"},
		{name: "UserNamedLikeIP", user: "192.0.2.1", remote: "192.0.2.1:1", want: "user:192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got string
			h := RequestID(fakeAuth(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got = KeyByUserOrIP(r)
			})))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tt.remote
			if tt.user != "" {
				req.Header.Set("X-Test-User", tt.user)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if got != tt.want {
				t.Errorf("key = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		window time.Duration
		want   string
	}{
		{name: "Minute", window: time.Minute, want: "60"},
		{name: "SubSecondRoundsUpToOne", window: 300 * time.Millisecond, want: "1"},
		{name: "FractionRoundsUp", window: 1500 * time.Millisecond, want: "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := retryAfterSeconds(tt.window); got != tt.want {
				t.Errorf("retryAfterSeconds(%s) = %q, want %q", tt.window, got, tt.want)
			}
		})
	}
}
