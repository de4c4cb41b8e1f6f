package sandbox_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp/sandbox"
)

const (
	secret      = "s3cret"
	token       = "tok"
	verifyToken = "verify-me"
	waitFor     = 10 * time.Second // upper bound of every channel wait; never slept
)

// validSignature is the receiver's own check of X-Hub-Signature-256 (§2),
// written here rather than shared with the sandbox.
func validSignature(raw []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	want, err := hex.DecodeString(hexSig)
	if err != nil || len(want) != sha256.Size {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(raw)
	return hmac.Equal(want, m.Sum(nil))
}

// delivery is one POST the test receiver got.
type delivery struct {
	raw      []byte
	header   http.Header
	sigOK    bool
	answered int
	body     map[string]any
}

// hook is a webhook receiver: it verifies signatures itself (401 when
// invalid), answers scripted statuses and then 200, and reports every POST
// on ch. It also answers Meta's GET handshake for verifyToken.
type hook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	script []int
	block  chan struct{} // when set, POSTs wait for it or for the request to end
	ch     chan delivery
}

func newHook(t *testing.T) *hook {
	h := &hook{ch: make(chan delivery, 10000)}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		if q.Get("hub.mode") != "subscribe" || q.Get("hub.verify_token") != verifyToken {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, q.Get("hub.challenge"))
		return
	}
	raw, _ := io.ReadAll(r.Body)
	d := delivery{raw: raw, header: r.Header.Clone(), sigOK: validSignature(raw, r.Header.Get("X-Hub-Signature-256")), answered: 200}
	h.mu.Lock()
	block := h.block
	if !d.sigOK {
		d.answered = http.StatusUnauthorized
	} else if len(h.script) > 0 {
		d.answered, h.script = h.script[0], h.script[1:]
	}
	h.mu.Unlock()
	_ = json.Unmarshal(raw, &d.body)
	h.ch <- d
	if block != nil {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}
	w.WriteHeader(d.answered)
}

// answer makes the next POSTs answer these statuses, then 200.
func (h *hook) answer(statuses ...int) {
	h.mu.Lock()
	h.script = append(h.script, statuses...)
	h.mu.Unlock()
}

func (h *hook) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-h.ch:
		return d
	case <-time.After(waitFor):
		t.Fatal("no webhook arrived")
		return delivery{}
	}
}

// none checks nothing is waiting on the channel right now.
func (h *hook) none(t *testing.T) {
	t.Helper()
	select {
	case d := <-h.ch:
		t.Fatalf("unexpected webhook: %s", d.raw)
	default:
	}
}

// clock is a settable Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is a sandbox wired to a test receiver and served over HTTP.
type env struct {
	sb    *sandbox.Sandbox
	hook  *hook
	graph *httptest.Server
	clock *clock
}

// setup builds a sandbox with a fake clock, a 1 ms retry base and no
// status delay; o overrides the rest.
func setup(t *testing.T, o sandbox.Options) *env {
	t.Helper()
	h := newHook(t)
	c := newClock()
	o.AppSecret, o.AccessToken, o.WebhookURL = secret, token, h.srv.URL
	if o.Now == nil {
		o.Now = c.Now
	}
	if o.RetryBase == 0 {
		o.RetryBase = time.Millisecond
	}
	sb := sandbox.New(o)
	graph := httptest.NewServer(sb.Handler())
	t.Cleanup(func() { graph.Close(); sb.Close() })
	return &env{sb: sb, hook: h, graph: graph, clock: c}
}

func (e *env) messagesURL() string {
	return e.graph.URL + "/v26.0/" + sandbox.DefaultPhoneNumberID + "/messages"
}

// response is a decoded Graph answer.
type response struct {
	status int
	header http.Header
	raw    []byte
	json   map[string]any
}

func (r response) errorCode() int {
	e, _ := r.json["error"].(map[string]any)
	f, _ := e["code"].(float64)
	return int(f)
}

func (r response) errorObject() map[string]any {
	e, _ := r.json["error"].(map[string]any)
	return e
}

func do(t *testing.T, method, url, tok, contentType string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.json); err != nil {
			t.Fatalf("%s %s: bad JSON %q", method, url, raw)
		}
	}
	return out
}

func postJSON(t *testing.T, url, tok string, body any) response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	return do(t, http.MethodPost, url, tok, "application/json", r)
}

// send posts a message and requires a 200, returning the wamid.
func (e *env) send(t *testing.T, body map[string]any) string {
	t.Helper()
	r := postJSON(t, e.messagesURL(), token, body)
	if r.status != 200 {
		t.Fatalf("send %v: %d %s", body, r.status, r.raw)
	}
	return r.json["messages"].([]any)[0].(map[string]any)["id"].(string)
}

// upload posts a multipart media upload; typeField "" leaves the type
// field out (the part's Content-Type then counts).
func (e *env) upload(t *testing.T, product, typeField, partType, filename string, data []byte) response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if product != "" {
		_ = mw.WriteField("messaging_product", product)
	}
	if typeField != "" {
		_ = mw.WriteField("type", typeField)
	}
	if data != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="`+filename+`"`)
		if partType != "" {
			h.Set("Content-Type", partType)
		}
		w, _ := mw.CreatePart(h)
		_, _ = w.Write(data)
	}
	_ = mw.Close()
	return do(t, http.MethodPost, e.graph.URL+"/v26.0/"+sandbox.DefaultPhoneNumberID+"/media", token, mw.FormDataContentType(), &buf)
}

func text(to, body string) map[string]any {
	return map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
		"text": map[string]any{"body": body}}
}

// value checks the §3 envelope of a webhook and returns its only change's
// value.
func value(t *testing.T, d delivery) map[string]any {
	t.Helper()
	if !d.sigOK {
		t.Fatalf("bad signature on %s", d.raw)
	}
	if ct := d.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	b := d.body
	if b["object"] != "whatsapp_business_account" {
		t.Fatalf("object = %v", b["object"])
	}
	entries := b["entry"].([]any)
	if len(entries) != 1 {
		t.Fatalf("entries = %d", len(entries))
	}
	entry := entries[0].(map[string]any)
	if entry["id"] != sandbox.DefaultWABAID {
		t.Errorf("entry.id = %v, want the WABA id", entry["id"])
	}
	changes := entry["changes"].([]any)
	if len(changes) != 1 {
		t.Fatalf("changes = %d", len(changes))
	}
	return checkChange(t, changes[0].(map[string]any))
}

func checkChange(t *testing.T, change map[string]any) map[string]any {
	t.Helper()
	if change["field"] != "messages" {
		t.Errorf("field = %v", change["field"])
	}
	v := change["value"].(map[string]any)
	meta := v["metadata"].(map[string]any)
	if v["messaging_product"] != "whatsapp" || meta["phone_number_id"] != sandbox.DefaultPhoneNumberID || meta["display_phone_number"] != "551140000000" {
		t.Errorf("value head = %v", v)
	}
	return v
}

// status returns the only status of a statuses webhook.
func status(t *testing.T, d delivery) map[string]any {
	t.Helper()
	v := value(t, d)
	if _, ok := v["contacts"]; ok {
		t.Errorf("statuses webhook carries contacts: %v", v)
	}
	list := v["statuses"].([]any)
	if len(list) != 1 {
		t.Fatalf("statuses = %v", list)
	}
	return list[0].(map[string]any)
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	t.Cleanup(cancel)
	return ctx
}

var ana = sandbox.Customer{WAID: "5511912345678", Name: "Ana Souza"}
