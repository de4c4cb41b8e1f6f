// Package sandbox simulates the WhatsApp Cloud API for development and
// tests: the Graph endpoints a business calls (send, media, templates,
// mark as read) with Meta's validation and error codes, and the customers
// on the other side, whose messages it delivers as signed webhooks and who
// "receive" what the business sends, with sent → delivered → read statuses.
//
// It imports nothing from the rest of the project on purpose: it plays
// Meta, so it must not share code (or bugs) with the client it checks. Its
// wire formats follow whatsapp-cloud-api.md.
package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Defaults of the simulated business number.
const (
	DefaultPhoneNumberID      = "100000000000001"
	DefaultDisplayPhoneNumber = "+55 11 4000-0000"
	DefaultWABAID             = "200000000000001"
)

// Options configures a Sandbox.
type Options struct {
	AppSecret          string // signs webhooks
	AccessToken        string // the bearer token the Graph endpoints accept
	PhoneNumberID      string
	DisplayPhoneNumber string
	WABAID             string
	// WebhookURL receives the webhooks (SetWebhookURL may set it later).
	WebhookURL string
	// HTTPClient posts the webhooks (nil: a client with a 10 s timeout).
	HTTPClient *http.Client
	// AutoStatuses emits sent → delivered → read for every accepted message,
	// StatusDelay apart.
	AutoStatuses bool
	StatusDelay  time.Duration
	// RetryBase is the first redelivery delay of an unacknowledged webhook;
	// it doubles up to MaxRetries times (Meta retries for days; tests use
	// milliseconds).
	RetryBase  time.Duration
	MaxRetries int
	// MessagesPerSecond is the throughput limit per number (130429 above).
	MessagesPerSecond int
	Now               func() time.Time
	Log               *slog.Logger
}

// Customer is a simulated WhatsApp user.
type Customer struct {
	WAID string // digits only, e.g. 5511987654321
	Name string
}

// Sent is a message the business sent, as the sandbox accepted it.
type Sent struct {
	WAMID string
	To    string // as given in the request
	WAID  string // digits
	Type  string
	Body  map[string]any
	At    time.Time
}

// Received is a message a customer sent through the sandbox.
type Received struct {
	WAMID string
	WAID  string
	Type  string
	Text  string
	At    time.Time
}

// Sandbox is the simulator. It is safe for concurrent use.
type Sandbox struct {
	opts Options

	mu         sync.Mutex
	webhookURL string
	lastIn     map[string]time.Time // wa_id → last inbound message (opens the 24 h window)
	names      map[string]string
	sent       []Sent
	received   []Received
	media      map[string]mediaObject
	failures   []graphFailure
	duplicates int
	window     []time.Time // send timestamps inside the last second
	sentCond   chan struct{}
	publicURL  string // where Handler is reachable (media URLs, paging)

	wg     sync.WaitGroup
	closed chan struct{}
	once   sync.Once
}

type mediaObject struct {
	data     []byte
	mimeType string
	created  time.Time
}

type graphFailure struct{ status, code int }

// New returns a Sandbox; Close stops its background deliveries.
func New(o Options) *Sandbox {
	if o.PhoneNumberID == "" {
		o.PhoneNumberID = DefaultPhoneNumberID
	}
	if o.DisplayPhoneNumber == "" {
		o.DisplayPhoneNumber = DefaultDisplayPhoneNumber
	}
	if o.WABAID == "" {
		o.WABAID = DefaultWABAID
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.RetryBase <= 0 {
		o.RetryBase = time.Second
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 8
	}
	if o.MessagesPerSecond <= 0 {
		o.MessagesPerSecond = 80
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Sandbox{
		opts: o, webhookURL: o.WebhookURL, lastIn: map[string]time.Time{}, names: map[string]string{},
		media: map[string]mediaObject{}, sentCond: make(chan struct{}), closed: make(chan struct{}),
	}
}

// SetWebhookURL points webhook deliveries at u.
func (s *Sandbox) SetWebhookURL(u string) {
	s.mu.Lock()
	s.webhookURL = u
	s.mu.Unlock()
}

// Close stops redeliveries and status emitters and waits for them.
func (s *Sandbox) Close() {
	s.once.Do(func() { close(s.closed) })
	s.wg.Wait()
}

// PhoneNumberID is the simulated business number's id.
func (s *Sandbox) PhoneNumberID() string { return s.opts.PhoneNumberID }

// FailNext makes the next n send calls fail with the given HTTP status and
// Graph error code (e.g. 500 and 1, then recovery).
func (s *Sandbox) FailNext(n, httpStatus, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, graphFailure{httpStatus, code})
	}
}

// DuplicateNext delivers each of the next n webhooks twice, as Meta may.
func (s *Sandbox) DuplicateNext(n int) {
	s.mu.Lock()
	s.duplicates += n
	s.mu.Unlock()
}

// OpenWindow records an inbound message from waID now, without a webhook,
// so free-form messages to it are accepted.
func (s *Sandbox) OpenWindow(waID string) {
	s.mu.Lock()
	s.lastIn[waID] = s.opts.Now()
	s.mu.Unlock()
}

// Sent returns every message the business sent, in order.
func (s *Sandbox) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// SentTo returns what the business sent to one customer.
func (s *Sandbox) SentTo(waID string) []Sent {
	var out []Sent
	for _, m := range s.Sent() {
		if m.WAID == waID {
			out = append(out, m)
		}
	}
	return out
}

// ReceivedFrom returns what one customer sent through the sandbox.
func (s *Sandbox) ReceivedFrom(waID string) []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Received
	for _, r := range s.received {
		if r.WAID == waID {
			out = append(out, r)
		}
	}
	return out
}

// WaitSent blocks until at least n messages were sent or ctx ends.
func (s *Sandbox) WaitSent(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		count, ch := len(s.sent), s.sentCond
		s.mu.Unlock()
		if count >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d sent messages, have %d: %w", n, count, ctx.Err())
		}
	}
}

// SendText delivers a text message from c as a webhook and returns its
// wamid. The error reports a delivery the receiver did not acknowledge
// (the sandbox keeps retrying it in the background, as Meta does).
func (s *Sandbox) SendText(ctx context.Context, c Customer, body string) (string, error) {
	return s.SendInbound(ctx, c, map[string]any{"type": "text", "text": map[string]any{"body": body}})
}

// Reply sends text quoting the business message toWAMID.
func (s *Sandbox) Reply(ctx context.Context, c Customer, toWAMID, body string) (string, error) {
	return s.SendInbound(ctx, c, map[string]any{"type": "text", "text": map[string]any{"body": body},
		"context": map[string]any{"from": strings.TrimPrefix(s.opts.DisplayPhoneNumber, "+"), "id": toWAMID}})
}

// React reacts to a message with emoji ("" removes the reaction).
func (s *Sandbox) React(ctx context.Context, c Customer, toWAMID, emoji string) (string, error) {
	return s.SendInbound(ctx, c, map[string]any{"type": "reaction", "reaction": map[string]any{"message_id": toWAMID, "emoji": emoji}})
}

// TapButton answers an interactive button message.
func (s *Sandbox) TapButton(ctx context.Context, c Customer, toWAMID, id, title string) (string, error) {
	return s.SendInbound(ctx, c, map[string]any{"type": "interactive", "context": map[string]any{"id": toWAMID},
		"interactive": map[string]any{"type": "button_reply", "button_reply": map[string]any{"id": id, "title": title}}})
}

// ChooseListItem answers an interactive list message.
func (s *Sandbox) ChooseListItem(ctx context.Context, c Customer, toWAMID, id, title, description string) (string, error) {
	return s.SendInbound(ctx, c, map[string]any{"type": "interactive", "context": map[string]any{"id": toWAMID},
		"interactive": map[string]any{"type": "list_reply", "list_reply": map[string]any{"id": id, "title": title, "description": description}}})
}

// SendMedia sends a file from c (type image, audio, video, document or
// sticker); the file is downloadable through the media endpoints.
func (s *Sandbox) SendMedia(ctx context.Context, c Customer, kind, mimeType, filename, caption string, data []byte) (string, error) {
	id := s.storeMedia(data, mimeType)
	sum := sha256.Sum256(data)
	obj := map[string]any{"id": id, "mime_type": mimeType, "sha256": base64.StdEncoding.EncodeToString(sum[:])}
	if caption != "" && (kind == "image" || kind == "video" || kind == "document") {
		obj["caption"] = caption
	}
	if filename != "" && kind == "document" {
		obj["filename"] = filename
	}
	return s.SendInbound(ctx, c, map[string]any{"type": kind, kind: obj})
}

// SendInbound delivers any inbound message of the contract (§4): msg holds
// "type" and the type's object (and optionally "context"); the sandbox adds
// from, id and timestamp, and the contact's profile name.
func (s *Sandbox) SendInbound(ctx context.Context, c Customer, msg map[string]any) (string, error) {
	wamid := newWAMID()
	now := s.opts.Now()
	m := map[string]any{"from": c.WAID, "id": wamid, "timestamp": fmt.Sprint(now.Unix())}
	for k, v := range msg {
		m[k] = v
	}
	typ, _ := m["type"].(string)
	text := ""
	if t, ok := m["text"].(map[string]any); ok {
		text, _ = t["body"].(string)
	}
	s.mu.Lock()
	s.lastIn[c.WAID] = now
	s.names[c.WAID] = c.Name
	s.received = append(s.received, Received{WAMID: wamid, WAID: c.WAID, Type: typ, Text: text, At: now})
	s.mu.Unlock()
	body := s.envelope(map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]any{"name": c.Name}, "wa_id": c.WAID}},
		"messages": []any{m},
	})
	return wamid, s.deliver(ctx, body)
}

// EmitStatus posts a status webhook (§5) for a sent message. errs are
// Graph error objects for a failed status ({"code": …, "title": …}).
func (s *Sandbox) EmitStatus(ctx context.Context, wamid, status string, errs ...map[string]any) error {
	s.mu.Lock()
	var to string
	for _, m := range s.sent {
		if m.WAMID == wamid {
			to = m.WAID
		}
	}
	s.mu.Unlock()
	st := map[string]any{"id": wamid, "status": status, "timestamp": fmt.Sprint(s.opts.Now().Unix()), "recipient_id": to}
	if len(errs) > 0 {
		list := make([]any, len(errs))
		for i, e := range errs {
			list[i] = e
		}
		st["errors"] = list
	}
	if status == "sent" || status == "delivered" {
		st["pricing"] = map[string]any{"billable": true, "pricing_model": "PMP", "category": "service", "type": "free_customer_service"}
	}
	return s.deliver(ctx, s.envelope(map[string]any{"statuses": []any{st}}))
}

// PostRaw signs body and posts it to the webhook URL once, without retries
// (tests of malformed input).
func (s *Sandbox) PostRaw(ctx context.Context, body []byte) (*http.Response, error) {
	return s.post(ctx, body, Sign(s.opts.AppSecret, body))
}

// Sign is the X-Hub-Signature-256 value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (s *Sandbox) envelope(value map[string]any) []byte {
	value["messaging_product"] = "whatsapp"
	value["metadata"] = map[string]any{
		"display_phone_number": strings.NewReplacer("+", "", " ", "", "-", "").Replace(s.opts.DisplayPhoneNumber),
		"phone_number_id":      s.opts.PhoneNumberID,
	}
	b, _ := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry": []any{map[string]any{
			"id":      s.opts.WABAID,
			"changes": []any{map[string]any{"field": "messages", "value": value}},
		}},
	})
	return b
}

// deliver posts body; when the receiver does not answer 200 it keeps
// retrying in the background with doubling delays, the same bytes each
// time, and returns the first attempt's failure.
func (s *Sandbox) deliver(ctx context.Context, body []byte) error {
	s.mu.Lock()
	dup := s.duplicates > 0
	if dup {
		s.duplicates--
	}
	s.mu.Unlock()
	err := s.attempt(ctx, body)
	if dup {
		_ = s.attempt(ctx, body)
	}
	if err == nil {
		return nil
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		delay := s.opts.RetryBase
		for range s.opts.MaxRetries {
			select {
			case <-s.closed:
				return
			case <-time.After(delay):
			}
			if s.attempt(context.Background(), body) == nil {
				return
			}
			delay *= 2
		}
		s.opts.Log.Warn("sandbox: webhook never acknowledged; giving up", "bytes", len(body))
	}()
	return err
}

func (s *Sandbox) attempt(ctx context.Context, body []byte) error {
	res, err := s.post(ctx, body, Sign(s.opts.AppSecret, body))
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("webhook answered %d", res.StatusCode)
	}
	return nil
}

func (s *Sandbox) post(ctx context.Context, body []byte, signature string) (*http.Response, error) {
	s.mu.Lock()
	u := s.webhookURL
	s.mu.Unlock()
	if u == "" {
		return nil, errors.New("sandbox: no webhook URL")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", signature)
	return s.opts.HTTPClient.Do(req)
}

func (s *Sandbox) storeMedia(data []byte, mimeType string) string {
	id := newDigits(16)
	s.mu.Lock()
	s.media[id] = mediaObject{data: data, mimeType: mimeType, created: s.opts.Now()}
	s.mu.Unlock()
	return id
}

// newWAMID returns an id shaped like Meta's: "wamid." + base64.
func newWAMID() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "wamid." + base64.StdEncoding.EncodeToString(b)
}

func newDigits(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	if b[0] == '0' {
		b[0] = '1'
	}
	return string(b)
}
