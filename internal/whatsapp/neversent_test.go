package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

// TestNeverSent: only failures that prove the request never reached the
// server say so; a request the server may have read is ambiguous.
func TestNeverSent(t *testing.T) {
	msg := OutboundMessage{To: "+5511999990000", Type: "text", Text: &Text{Body: "oi"}}
	send := func(c *Client) error {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		_, err := c.SendMessage(ctx, "token", "pn", msg)
		if err == nil {
			t.Fatal("SendMessage succeeded")
		}
		return err
	}

	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		err = send(&Client{BaseURL: "http://" + addr})
		if !NeverSent(err) || Classify(err) != Transient {
			t.Errorf("%v: NeverSent = %v, class %v; want true, transient", err, NeverSent(err), Classify(err))
		}
	})
	t.Run("unknown host", func(t *testing.T) {
		err := send(&Client{BaseURL: "http://graph.invalid"})
		if !NeverSent(err) {
			t.Errorf("%v: NeverSent = false, want true", err)
		}
	})
	t.Run("certificate refused", func(t *testing.T) {
		var reached atomic.Int32
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
		srv.StartTLS()
		defer srv.Close()
		err := send(&Client{BaseURL: srv.URL, HTTP: &http.Client{}}) // does not trust the test CA
		if !NeverSent(err) || reached.Load() != 0 {
			t.Errorf("%v: NeverSent = %v after %d requests reached the server; want true, 0", err, NeverSent(err), reached.Load())
		}
	})
	t.Run("connection dropped after the request", func(t *testing.T) {
		var reached atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reached.Add(1)
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
		}))
		defer srv.Close()
		err := send(&Client{BaseURL: srv.URL})
		if NeverSent(err) || reached.Load() != 1 {
			t.Errorf("%v: NeverSent = %v after %d requests reached the server; want false, 1", err, NeverSent(err), reached.Load())
		}
	})
	t.Run("timeout awaiting the answer", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
		defer srv.Close()
		defer close(release)
		err := send(&Client{BaseURL: srv.URL, HTTP: &http.Client{Timeout: 200 * time.Millisecond}})
		if NeverSent(err) {
			t.Errorf("%v: NeverSent = true, want false", err)
		}
	})

	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"dial error wrapped twice", fmt.Errorf("send text message: %w", &url.Error{Op: "Post", URL: "x", Err: dial}), true},
		{"proxy unreachable", &url.Error{Op: "Post", Err: &net.OpError{Op: "proxyconnect", Net: "tcp", Err: errors.New("refused")}}, true},
		{"dns error alone", &net.DNSError{Err: "no such host", Name: "graph.facebook.com", IsNotFound: true}, true},
		{"read error", &url.Error{Op: "Post", Err: &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}}, false},
		{"write error", &net.OpError{Op: "write", Net: "tcp", Err: errors.New("broken pipe")}, false},
		{"Meta's answer", &APIError{HTTPStatus: 500, Code: 1}, false},
		{"cancelled", context.Canceled, false},
		{"deadline", context.DeadlineExceeded, false},
		{"invalid request", fmt.Errorf("send message: %w", ErrInvalidRequest), false},
		{"unexpected response", ErrUnexpectedResponse, false},
	} {
		if got := NeverSent(tc.err); got != tc.want {
			t.Errorf("%s: NeverSent(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
