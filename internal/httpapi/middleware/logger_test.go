package middleware

import (
	"bufio"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

func TestLogger(t *testing.T) {
	t.Parallel()
	const (
		queryToken = "query-secret-token"
		authToken  = "header-secret-token"
	)
	tests := []struct {
		name       string
		target     string
		status     int
		userID     string // set by a fake auth middleware when non-empty
		wantLevel  string
		wantRoute  string // "" = key absent
		wantPath   string
		wantUserID bool
	}{
		{name: "OKWithUserAndQueryToken", target: "/api/v1/conversations/c1?token=" + queryToken,
			status: 200, userID: "u-1", wantLevel: "INFO",
			wantRoute: "/api/v1/conversations/{id}", wantPath: "/api/v1/conversations/c1", wantUserID: true},
		{name: "ClientErrorIsInfo", target: "/api/v1/conversations/c2", status: 404,
			wantLevel: "INFO", wantRoute: "/api/v1/conversations/{id}", wantPath: "/api/v1/conversations/c2"},
		{name: "ServerErrorIsError", target: "/api/v1/conversations/c3", status: 503,
			wantLevel: "ERROR", wantRoute: "/api/v1/conversations/{id}", wantPath: "/api/v1/conversations/c3"},
		{name: "UnmatchedHasNoRoute", target: "/nowhere?token=" + queryToken, status: 404,
			wantLevel: "INFO", wantPath: "/nowhere"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log, buf := newTestLogger()
			r := chi.NewRouter()
			r.Use(RequestID, Logger(log))
			r.Route("/api/v1", func(r chi.Router) {
				r.Use(func(next http.Handler) http.Handler { // stands in for auth
					return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
						if tt.userID != "" {
							SetUserID(req.Context(), tt.userID)
						}
						next.ServeHTTP(w, req)
					})
				})
				r.Get("/conversations/{id}", func(w http.ResponseWriter, _ *http.Request) {
					w.WriteHeader(tt.status)
					_, _ = w.Write([]byte("hello"))
				})
			})

			req := httptest.NewRequest(http.MethodGet, tt.target, nil)
			req.RemoteAddr = "203.0.113.7:5555"
			req.Header.Set("Authorization", "Bearer "+authToken)
			req.Header.Set(RequestIDHeader, "rid-"+tt.name)
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)

			raw := buf.String()
			for _, secret := range []string{queryToken, authToken, "token="} {
				if strings.Contains(raw, secret) {
					t.Errorf("log leaks %q: %s", secret, raw)
				}
			}
			lines := buf.lines(t)
			if len(lines) != 1 {
				t.Fatalf("got %d log lines, want 1: %s", len(lines), raw)
			}
			l := lines[0]
			wantBytes := 5
			if tt.wantRoute == "" {
				wantBytes = len("404 page not found\n")
			}
			want := map[string]any{
				"level":      tt.wantLevel,
				"request_id": "rid-" + tt.name,
				"method":     "GET",
				"path":       tt.wantPath,
				"status":     float64(tt.status),
				"bytes":      float64(wantBytes),
				"ip":         "203.0.113.7",
			}
			for k, v := range want {
				if l[k] != v {
					t.Errorf("%s = %#v, want %#v", k, l[k], v)
				}
			}
			if got, ok := l["route"]; (tt.wantRoute != "") != ok || (ok && got != tt.wantRoute) {
				t.Errorf("route = %#v (present %t), want %q", got, ok, tt.wantRoute)
			}
			if got, ok := l["user_id"]; ok != tt.wantUserID || (ok && got != tt.userID) {
				t.Errorf("user_id = %#v (present %t), want %q", got, ok, tt.userID)
			}
			if d, ok := l["duration_ms"].(float64); !ok || d < 0 {
				t.Errorf("duration_ms = %#v, want a non-negative number", l["duration_ms"])
			}
			for _, k := range []string{"query", "headers", "authorization", "body"} {
				if _, ok := l[k]; ok {
					t.Errorf("unexpected key %q in log line", k)
				}
			}
		})
	}
}

func TestLogger_InstallsUserHolderWithoutRequestID(t *testing.T) {
	t.Parallel()
	log, buf := newTestLogger()
	h := Logger(log)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		SetUserID(r.Context(), "u-9")
		if got := UserIDFrom(r.Context()); got != "u-9" {
			t.Errorf("UserIDFrom = %q, want u-9", got)
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
	lines := buf.lines(t)
	if len(lines) != 1 || lines[0]["user_id"] != "u-9" || lines[0]["status"] != float64(200) {
		t.Fatalf("log lines = %v, want one with user_id u-9 and status 200", lines)
	}
}

func TestLogger_PanicIsLoggedAndRepanicked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		value     any
		wantLevel string
		aborted   bool
	}{
		{name: "Panic", value: "boom", wantLevel: "ERROR"},
		{name: "ErrAbortHandler", value: http.ErrAbortHandler, wantLevel: "INFO", aborted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log, buf := newTestLogger()
			h := Logger(log)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(tt.value) }))
			func() {
				defer func() {
					if p := recover(); p != tt.value {
						t.Errorf("re-panicked with %v, want %v", p, tt.value)
					}
				}()
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
			}()
			lines := buf.lines(t)
			if len(lines) != 1 {
				t.Fatalf("got %d lines, want 1", len(lines))
			}
			if lines[0]["level"] != tt.wantLevel || lines[0]["status"] != float64(500) {
				t.Errorf("level, status = %v, %v; want %s, 500", lines[0]["level"], lines[0]["status"], tt.wantLevel)
			}
			if _, ok := lines[0]["aborted"]; ok != tt.aborted {
				t.Errorf("aborted present = %t, want %t", ok, tt.aborted)
			}
		})
	}
}

// TestLogger_KeepsFlusherAndHijacker runs a real server, because WebSocket
// upgrades and streaming need the wrapped writer to still flush and hijack.
func TestLogger_KeepsFlusherAndHijacker(t *testing.T) {
	t.Parallel()
	log, _ := newTestLogger()
	firstChunkRead := make(chan struct{})
	r := chi.NewRouter()
	r.Use(RequestID, Logger(log))
	r.Get("/stream", func(w http.ResponseWriter, _ *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Error("writer lost http.Flusher")
		}
		_, _ = io.WriteString(w, "first\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		<-firstChunkRead // only arrives if the flush really reached the client
		_, _ = io.WriteString(w, "second\n")
	})
	r.Get("/hijack", func(w http.ResponseWriter, _ *http.Request) {
		if _, ok := w.(http.Hijacker); !ok {
			t.Error("writer lost http.Hijacker")
		}
		conn, bufrw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = bufrw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		_ = bufrw.Flush()
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	t.Run("Flush", func(t *testing.T) {
		res, err := http.Get(srv.URL + "/stream")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		br := bufio.NewReader(res.Body)
		line, err := br.ReadString('\n')
		if err != nil || line != "first\n" {
			t.Fatalf("first chunk = %q, %v", line, err)
		}
		close(firstChunkRead)
		line, err = br.ReadString('\n')
		if err != nil || line != "second\n" {
			t.Fatalf("second chunk = %q, %v", line, err)
		}
	})
	t.Run("Hijack", func(t *testing.T) {
		res, err := http.Get(srv.URL + "/hijack")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if string(b) != "hijacked" {
			t.Fatalf("body = %q, want hijacked", b)
		}
	})
}

// A request marked with LogSuccessAtDebug is logged at Debug when it
// succeeds, and as any other request when it fails.
func TestLogger_SuccessAtDebug(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status    int
		minLevel  slog.Level
		wantLevel string // "" = no line
	}{
		{200, slog.LevelInfo, ""},
		{200, slog.LevelDebug, "DEBUG"},
		{401, slog.LevelInfo, "INFO"},
		{503, slog.LevelInfo, "ERROR"},
	} {
		b := &logBuffer{}
		log := slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: tt.minLevel}))
		h := RequestID(Logger(log)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			LogSuccessAtDebug(r.Context())
			w.WriteHeader(tt.status)
		})))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/api/v1/webhooks/whatsapp", nil))
		lines := b.lines(t)
		switch {
		case tt.wantLevel == "" && len(lines) != 0:
			t.Errorf("status %d at minimum level %v: logged %v, want nothing", tt.status, tt.minLevel, lines)
		case tt.wantLevel != "" && (len(lines) != 1 || lines[0]["level"] != tt.wantLevel || lines[0]["status"] != float64(tt.status)):
			t.Errorf("status %d at minimum level %v: logged %v, want one %s line", tt.status, tt.minLevel, lines, tt.wantLevel)
		}
	}
}
