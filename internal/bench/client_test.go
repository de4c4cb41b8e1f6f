package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/config"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp"
)

// The load generator posts the bytes json.Marshal made of Meta's shape
// before it built them by hand.
func TestAppendWebhook_SameAsMarshal(t *testing.T) {
	for _, tt := range []struct {
		customer, i int
	}{{0, 0}, {7, 7}, {999, 123456}, {12345678, 2}, {123456789, 99}} {
		waID := fmt.Sprintf("55119%08d", tt.customer)
		wamid := fmt.Sprintf("wamid.bench.%d.%d", 1764329400123456789, tt.i)
		want := marshalWebhook(waID, wamid, tt.i, 1764329400)
		got := appendWebhook([]byte("junk"), appendPadded([]byte("55119"), tt.customer, 8), []byte(wamid), tt.i, 1764329400)
		if string(got[4:]) != string(want) {
			t.Errorf("customer %d, message %d\n got: %s\nwant: %s", tt.customer, tt.i, got[4:], want)
		}
	}
}

// marshalWebhook is how the body was built before appendWebhook.
func marshalWebhook(waID, wamid string, i int, unix int64) []byte {
	type (
		text struct {
			Body string `json:"body"`
		}
		message struct {
			From      string `json:"from"`
			ID        string `json:"id"`
			Timestamp string `json:"timestamp"`
			Type      string `json:"type"`
			Text      text   `json:"text"`
		}
		profile struct {
			Name string `json:"name"`
		}
		contact struct {
			Profile profile `json:"profile"`
			WAID    string  `json:"wa_id"`
		}
		metadata struct {
			DisplayPhoneNumber string `json:"display_phone_number"`
			PhoneNumberID      string `json:"phone_number_id"`
		}
		value struct {
			MessagingProduct string    `json:"messaging_product"`
			Metadata         metadata  `json:"metadata"`
			Contacts         []contact `json:"contacts"`
			Messages         []message `json:"messages"`
		}
		change struct {
			Field string `json:"field"`
			Value value  `json:"value"`
		}
		entry struct {
			ID      string   `json:"id"`
			Changes []change `json:"changes"`
		}
		envelope struct {
			Object string  `json:"object"`
			Entry  []entry `json:"entry"`
		}
	)
	b, _ := json.Marshal(envelope{Object: "whatsapp_business_account", Entry: []entry{{ID: "200000000000001", Changes: []change{{
		Field: "messages",
		Value: value{
			MessagingProduct: "whatsapp",
			Metadata:         metadata{DisplayPhoneNumber: "5511400000000", PhoneNumberID: config.SandboxPhoneNumberID},
			Contacts:         []contact{{Profile: profile{Name: "Cliente " + waID[len(waID)-4:]}, WAID: waID}},
			Messages: []message{{From: waID, ID: wamid, Timestamp: strconv.FormatInt(unix, 10), Type: "text",
				Text: text{Body: fmt.Sprintf("Olá, mensagem número %d", i)}}},
		},
	}}}}})
	return b
}

func TestSigner(t *testing.T) {
	s := newSigner()
	for _, body := range []string{"", "{}", `{"a":1}`} {
		sig := string(s.appendSignature(nil, []byte(body)))
		if !whatsapp.VerifySignature(appSecret, []byte(body), sig) || sig != sign([]byte(body)) {
			t.Errorf("signature of %q = %s", body, sig)
		}
	}
}

func request(path, body string) []byte {
	return []byte("POST " + path + " HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}

// conn against net/http's server: every way it sizes a body, and a
// connection it closes.
func TestConn_GoServer(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/ok":
			if string(body) != `{"n":1}` || r.Header.Get("Content-Type") != "application/json" {
				w.WriteHeader(400)
				return
			}
			w.WriteHeader(200)
			io.WriteString(w, "EVENT_RECEIVED")
		case "/empty":
			w.WriteHeader(401)
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			io.WriteString(w, `{"error":{"code":"bad_request"}}`)
		case "/chunked":
			w.WriteHeader(202)
			for range 3 {
				io.WriteString(w, strings.Repeat("x", 5000))
				w.(http.Flusher).Flush()
			}
		case "/nocontent":
			w.WriteHeader(204)
		case "/close":
			w.Header().Set("Connection", "close")
			io.WriteString(w, "bye")
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := &conn{ctx: t.Context(), addr: srv.Listener.Addr().String()}
	defer c.close()
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/ok", 200}, {"/empty", 401}, {"/json", 400}, {"/chunked", 202}, {"/ok", 200},
		{"/nocontent", 204}, {"/close", 200}, {"/ok", 200}, {"/ok", 200},
	} {
		status, err := c.do(request(tt.path, `{"n":1}`))
		if err != nil || status != tt.status {
			t.Fatalf("%s: status %d, err %v; want %d", tt.path, status, err, tt.status)
		}
	}
	srv.Close() // waits for the handlers, so conns is settled
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2: one until /close, one after", n)
	}
}

// conn against hand-written answers: a body that runs to the end of the
// connection is read, and garbage is refused with an error, not a status.
func TestConn_RawAnswers(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		status int
		errIs  error // nil: no error expected
	}{
		{"ContentLength", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, nil},
		{"UntilClose", "HTTP/1.1 200 OK\r\n\r\nall of it", 200, nil},
		{"HTTP10", "HTTP/1.0 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", 500, nil},
		{"Chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n0\r\nTrailer: y\r\n\r\n", 200, nil},
		{"NotHTTP", "SSH-2.0-OpenSSH\r\n\r\n", 0, errProtocol},
		{"BadStatus", "HTTP/1.1 2x0 OK\r\n\r\n", 0, errProtocol},
		{"Informational", "HTTP/1.1 100 Continue\r\n\r\n", 0, errProtocol},
		{"BadLength", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, errProtocol},
		{"TwoLengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok", 0, errProtocol},
		{"OtherEncoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0, errProtocol},
		{"BadChunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, errProtocol},
		{"ChunkWithoutCRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n", 0, errProtocol},
		{"HeaderWithoutColon", "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", 0, errProtocol},
		{"ShortBody", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok", 0, io.ErrUnexpectedEOF},
		{"Truncated", "HTTP/1.1 200 OK\r\nContent-Le", 0, io.ErrUnexpectedEOF},
		{"Nothing", "", 0, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := serveOnce(t, tt.answer)
			c := &conn{ctx: t.Context(), addr: addr}
			defer c.close()
			status, err := c.do(request("/", "{}"))
			if tt.errIs == nil && err != nil || tt.errIs != nil && !errors.Is(err, tt.errIs) {
				t.Fatalf("err = %v, want %v", err, tt.errIs)
			}
			if status != tt.status {
				t.Errorf("status = %d, want %d", status, tt.status)
			}
			if err != nil && c.c != nil {
				t.Error("the connection was kept after an error")
			}
		})
	}
}

// serveOnce accepts one connection, reads one request's head and body,
// writes answer and closes.
func serveOnce(t *testing.T, answer string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		_, _ = io.WriteString(c, answer)
	}()
	return ln.Addr().String()
}

// A kept-alive connection the server has closed is redialled once, as
// net/http's client does, without a failure.
func TestConn_ServerClosedIdle(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for range 2 { // each connection answers one request, then closes
			c, err := ln.Accept()
			if err != nil {
				return
			}
			req, err := http.ReadRequest(bufio.NewReader(c))
			if err == nil {
				_, _ = io.Copy(io.Discard, req.Body)
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			}
			c.Close()
		}
	}()
	c := &conn{ctx: t.Context(), addr: ln.Addr().String()}
	defer c.close()
	for i := range 2 {
		if status, err := c.do(request("/", "{}")); err != nil || status != 200 {
			t.Fatalf("request %d: status %d, err %v", i, status, err)
		}
	}
}

// Cancelling the context fails a request whose answer never comes.
func TestConn_Cancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			_, _ = io.Copy(io.Discard, c) // never answers
		}
	}()
	ctx, cancel := context.WithCancel(t.Context())
	c := &conn{ctx: ctx, addr: ln.Addr().String()}
	defer c.close()
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := c.do(request("/", "{}")); err == nil {
		t.Fatal("a cancelled request succeeded")
	}
}

// A request whose answer had begun when the connection was reset reached
// the server: it must not be sent again.
func TestConn_NoResendAfterAnswerBegan(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var requests atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					if requests.Add(1) != 2 {
						_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
						continue
					}
					// The second request: start the answer, then reset.
					_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\n")
					time.Sleep(50 * time.Millisecond)
					_ = c.(*net.TCPConn).SetLinger(0)
					return
				}
			}()
		}
	}()
	c := &conn{ctx: t.Context(), addr: ln.Addr().String()}
	defer c.close()
	if status, err := c.do(request("/", "{}")); err != nil || status != 200 {
		t.Fatalf("first request: status %d, err %v", status, err)
	}
	_, err = c.do(request("/", "{}"))
	if n := requests.Load(); n != 2 {
		t.Errorf("the server got %d requests, want 2: the second was sent again after its answer began (err %v)", n, err)
	}
	if err == nil {
		t.Error("a reset answer succeeded")
	}
}
