package middleware

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestRequestID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		incoming string // "" = header absent
		accepted bool
	}{
		{name: "Generated"},
		{name: "Accepted", incoming: "req-01.abc_DEF", accepted: true},
		{name: "AcceptedAt64Chars", incoming: strings.Repeat("a", 64), accepted: true},
		{name: "RejectedTooLong", incoming: strings.Repeat("a", 65)},
		{name: "RejectedSpace", incoming: "has space"},
		{name: "RejectedNewline", incoming: "abc\ninjected"},
		{name: "RejectedQuote", incoming: `abc"def`},
		{name: "RejectedNonASCII", incoming: "pedido-ção"},
		{name: "RejectedSlash", incoming: "a/b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var fromCtx string
			h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fromCtx = RequestIDFrom(r.Context())
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.incoming != "" {
				req.Header[RequestIDHeader] = []string{tt.incoming} // raw, to keep bad bytes
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			got := rec.Header().Get(RequestIDHeader)
			if got == "" || got != fromCtx {
				t.Fatalf("header %q and context %q must be equal and non-empty", got, fromCtx)
			}
			if tt.accepted {
				if got != tt.incoming {
					t.Errorf("id = %q, want incoming %q", got, tt.incoming)
				}
				return
			}
			u, err := uuid.Parse(got)
			if err != nil {
				t.Fatalf("generated id %q is not a UUID: %v", got, err)
			}
			if u.Version() != 7 {
				t.Errorf("generated id version = %d, want 7", u.Version())
			}
		})
	}
}

func TestRequestIDFrom_Missing(t *testing.T) {
	t.Parallel()
	if got := RequestIDFrom(httptest.NewRequest(http.MethodGet, "/", nil).Context()); got != "" {
		t.Errorf("RequestIDFrom without middleware = %q, want empty", got)
	}
}
