package middleware

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWriteError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		requestID     string // "" = request did not pass RequestID
		nilRequest    bool
		fields        map[string]string
		wantRequestID string
		wantFields    bool
	}{
		{name: "WithRequestID", requestID: "abc-123", wantRequestID: "abc-123"},
		{name: "WithoutRequestID"},
		{name: "NilRequest", nilRequest: true},
		{name: "WithFields", requestID: "r1", wantRequestID: "r1",
			fields: map[string]string{"email": "is required"}, wantFields: true},
		{name: "EmptyFieldsOmitted", fields: map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var req *http.Request
			if !tt.nilRequest {
				req = httptest.NewRequest(http.MethodGet, "/", nil)
				if tt.requestID != "" {
					req.Header.Set(RequestIDHeader, tt.requestID)
				}
			}
			rec := httptest.NewRecorder()
			write := func(w http.ResponseWriter, r *http.Request) {
				WriteError(w, r, http.StatusConflict, "conflict", "already taken", tt.fields)
			}
			if req != nil && tt.requestID != "" {
				RequestID(http.HandlerFunc(write)).ServeHTTP(rec, req)
			} else {
				write(rec, req)
			}

			if rec.Code != http.StatusConflict {
				t.Fatalf("status = %d, want 409", rec.Code)
			}
			er := decodeError(t, rec.Header(), rec.Body.Bytes())
			if er.Error.Code != "conflict" || er.Error.Message != "already taken" {
				t.Errorf("code, message = %q, %q", er.Error.Code, er.Error.Message)
			}
			if er.Error.RequestID != tt.wantRequestID {
				t.Errorf("requestId = %q, want %q", er.Error.RequestID, tt.wantRequestID)
			}
			if got := er.Error.Fields != nil; got != tt.wantFields {
				t.Errorf("fields present = %t, want %t (%v)", got, tt.wantFields, er.Error.Fields)
			}
			if tt.wantFields && er.Error.Fields["email"] != "is required" {
				t.Errorf("fields = %v", er.Error.Fields)
			}
		})
	}
}
