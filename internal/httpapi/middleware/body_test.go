package middleware

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// readingHandler reads the whole body the way a JSON decoder would and turns
// a MaxBytesError into the API's 413.
func readingHandler(gotLen *int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		switch {
		case IsTooLarge(err):
			WriteError(w, r, http.StatusRequestEntityTooLarge, "payload_too_large", "too big", nil)
			return
		case err != nil:
			WriteError(w, r, http.StatusBadRequest, "bad_request", err.Error(), nil)
			return
		}
		*gotLen = len(b)
		w.WriteHeader(http.StatusNoContent)
	})
}

func TestMaxBody(t *testing.T) {
	t.Parallel()
	const limit = 1024
	tests := []struct {
		name          string
		size          int
		chunked       bool // ContentLength -1, as for Transfer-Encoding: chunked
		wantStatus    int
		wantNextRead  bool // next ran and read the whole body
		wantConnClose bool
	}{
		{name: "UnderLimit", size: 10, wantStatus: 204, wantNextRead: true},
		{name: "AtLimit", size: limit, wantStatus: 204, wantNextRead: true},
		{name: "ContentLengthOver", size: limit + 1, wantStatus: 413, wantConnClose: true},
		{name: "ChunkedUnder", size: limit, chunked: true, wantStatus: 204, wantNextRead: true},
		{name: "ChunkedOver", size: limit * 8, chunked: true, wantStatus: 413},
		{name: "NoBody", size: 0, wantStatus: 204, wantNextRead: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gotLen := -1
			h := RequestID(MaxBody(limit)(readingHandler(&gotLen)))
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", tt.size)))
			if tt.chunked {
				req.ContentLength = -1
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body.String())
			}
			if tt.wantNextRead != (gotLen == tt.size) {
				t.Errorf("next read %d bytes, want read of all %d = %t", gotLen, tt.size, tt.wantNextRead)
			}
			if got := rec.Header().Get("Connection") == "close"; got != tt.wantConnClose {
				t.Errorf("Connection: close = %t, want %t", got, tt.wantConnClose)
			}
			if tt.wantStatus == 413 {
				er := decodeError(t, rec.Header(), rec.Body.Bytes())
				if er.Error.Code != "payload_too_large" || er.Error.RequestID == "" {
					t.Errorf("error = %+v, want payload_too_large with a requestId", er.Error)
				}
			}
		})
	}
}

// TestMaxBody_StreamedChunkedBody sends a body of unknown length over a real
// connection, so the limit is enforced on the wire rather than on a recorder.
func TestMaxBody_StreamedChunkedBody(t *testing.T) {
	t.Parallel()
	const limit = 1024
	gotLen := -1
	srv := httptest.NewServer(MaxBody(limit)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != -1 || len(r.TransferEncoding) == 0 || r.TransferEncoding[0] != "chunked" {
			t.Errorf("request not chunked: ContentLength %d, TransferEncoding %v", r.ContentLength, r.TransferEncoding)
		}
		readingHandler(&gotLen).ServeHTTP(w, r)
	})))
	t.Cleanup(srv.Close)

	pr, pw := io.Pipe()
	go func() {
		chunk := []byte(strings.Repeat("y", 256))
		for range 64 { // 16 KiB in total, far over the limit
			if _, err := pw.Write(chunk); err != nil {
				return // the server stopped reading; that is the point
			}
		}
		_ = pw.Close()
	}()
	req, err := http.NewRequest(http.MethodPost, srv.URL, pr)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	_ = pr.CloseWithError(errors.New("done")) // unblock the writer in every case
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413 (%s)", res.StatusCode, body)
	}
	if er := decodeError(t, res.Header, body); er.Error.Code != "payload_too_large" {
		t.Errorf("code = %q, want payload_too_large", er.Error.Code)
	}
	if gotLen != -1 {
		t.Errorf("handler accepted %d bytes", gotLen)
	}
}

func TestMaxBody_PanicsOnNonPositiveLimit(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("MaxBody(0) did not panic")
		}
	}()
	MaxBody(0)
}

func TestIsTooLarge(t *testing.T) {
	t.Parallel()
	mbe := &http.MaxBytesError{Limit: 10}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "MaxBytesError", err: mbe, want: true},
		{name: "Wrapped", err: fmt.Errorf("decode body: %w", mbe), want: true},
		{name: "Other", err: io.ErrUnexpectedEOF, want: false},
		{name: "Nil", err: nil, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := IsTooLarge(tt.err); got != tt.want {
				t.Errorf("IsTooLarge(%v) = %t, want %t", tt.err, got, tt.want)
			}
		})
	}
}
