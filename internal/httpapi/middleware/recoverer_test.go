package middleware

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRecoverer(t *testing.T) {
	t.Parallel()
	log, buf := newTestLogger()
	h := RequestID(Logger(log)(Recoverer(log)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("nil map write")
	}))))
	req := httptest.NewRequest(http.MethodPost, "/api/v1/things?token=x", nil)
	req.Header.Set(RequestIDHeader, "rid-panic")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	er := decodeError(t, rec.Header(), rec.Body.Bytes())
	if er.Error.Code != "internal_error" {
		t.Errorf("code = %q, want internal_error", er.Error.Code)
	}
	if er.Error.RequestID != "rid-panic" {
		t.Errorf("requestId = %q, want rid-panic", er.Error.RequestID)
	}
	if !strings.Contains(er.Error.Message, "rid-panic") {
		t.Errorf("message %q does not quote the request id", er.Error.Message)
	}

	lines := buf.lines(t)
	if len(lines) != 2 {
		t.Fatalf("got %d log lines, want the panic and the request: %v", len(lines), lines)
	}
	p := lines[0]
	if p["level"] != "ERROR" || p["request_id"] != "rid-panic" || p["panic"] != "nil map write" {
		t.Errorf("panic line = %v", p)
	}
	if stack, _ := p["stack"].(string); !strings.Contains(stack, "recoverer_test.go") {
		t.Errorf("stack does not reach the panicking handler: %q", stack)
	}
	if req := lines[1]; req["status"] != float64(500) || req["level"] != "ERROR" {
		t.Errorf("request line = %v, want status 500 at ERROR", req)
	}
}

func TestRecoverer_ErrAbortHandlerRepanics(t *testing.T) {
	t.Parallel()
	log, buf := newTestLogger()
	h := Recoverer(log)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	rec := httptest.NewRecorder()
	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler", p)
			}
		}()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	if rec.Body.Len() != 0 {
		t.Errorf("wrote %q, want nothing", rec.Body.String())
	}
	if buf.String() != "" {
		t.Errorf("logged %q, want nothing", buf.String())
	}
}

func TestRecoverer_AfterHeadersWritten(t *testing.T) {
	t.Parallel()
	log, buf := newTestLogger()
	h := Recoverer(log)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte("partial"))
		panic("late")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusAccepted || rec.Body.String() != "partial" {
		t.Errorf("response = %d %q, want the handler's 202 partial untouched", rec.Code, rec.Body.String())
	}
	if lines := buf.lines(t); len(lines) != 1 || lines[0]["panic"] != "late" {
		t.Errorf("log = %v, want the panic logged once", lines)
	}
}
