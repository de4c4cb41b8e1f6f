package sandbox

import (
	"context"
	"crypto/rand"
	"fmt"
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
	DefaultVerifiedName       = "SupportWhatsApp Sandbox"
)

// Defaults of the delivery and rate-limit knobs.
const (
	DefaultRetryBase         = time.Second
	DefaultMaxRetryDelay     = time.Hour
	DefaultRetryHorizon      = 7 * 24 * time.Hour // Meta drops unacknowledged webhooks after 7 days
	DefaultMessagesPerSecond = 80                 // Meta's default throughput per number
	DefaultPairRefill        = 6 * time.Second    // one message per 6 s to the same user
	DefaultTemplatePageSize  = 2
)

// ServiceWindow is WhatsApp's customer service window (§9).
const ServiceWindow = 24 * time.Hour

// Options configures a Sandbox. The zero value of every knob is the safe
// default: no fault injection, Meta's limits.
type Options struct {
	AppSecret string // signs webhooks (X-Hub-Signature-256)
	// AccessToken is the bearer token the Graph endpoints accept (header or
	// access_token query parameter). "" accepts any non-empty token.
	AccessToken        string
	PhoneNumberID      string // default DefaultPhoneNumberID
	DisplayPhoneNumber string // default DefaultDisplayPhoneNumber; webhooks carry its digits
	WABAID             string // default DefaultWABAID
	VerifiedName       string // default DefaultVerifiedName (GET /{phone-number-id})
	// WebhookURL receives the webhooks (SetWebhookURL may set it later).
	WebhookURL string
	// HTTPClient posts the webhooks (nil: a client with a 10 s timeout).
	HTTPClient *http.Client
	// Now is the clock of timestamps, the 24 h window, rate limits and media
	// expiry (nil: time.Now). Delays and retries use real timers.
	Now func() time.Time
	Log *slog.Logger // nil: discard

	// AutoStatuses emits a status webhook sequence for every accepted
	// message (default sent → delivered → read; see SetStatusPlan),
	// StatusDelay before each. Reactions only get sent; voice notes also
	// get played.
	AutoStatuses bool
	StatusDelay  time.Duration

	// Redelivery of a webhook not answered 200: immediately, then after
	// RetryBase, doubling up to MaxRetryDelay, until MaxRetries redeliveries
	// (0: no count limit) or until the delays add up to RetryHorizon.
	// Defaults: 1 s, 1 h, 7 days. Tests use milliseconds.
	RetryBase     time.Duration
	MaxRetryDelay time.Duration
	MaxRetries    int
	RetryHorizon  time.Duration

	// MessagesPerSecond is the throughput token bucket of the number
	// (130429 beyond it): 0 → 80, negative → unlimited. See Throughput.
	MessagesPerSecond int
	// PairBurst enables the per-recipient bucket (131056): PairBurst
	// messages at once (Meta: 45), refilled one per PairRefill (default
	// 6 s). 0 disables it.
	PairBurst  int
	PairRefill time.Duration

	// SyncWindowErrors answers a free-form message outside the 24 h window
	// with a synchronous 400 / 131047 instead of the default 200 followed by
	// a failed status carrying 131047.
	SyncWindowErrors bool
	// LegacyConversation adds the conversation object to statuses, as
	// webhooks before v24.0 did.
	LegacyConversation bool
	// EscapeNonASCII writes non-ASCII characters of webhook bodies as
	// \uXXXX (and signs those bytes), catching receivers that verify a
	// re-encoded body.
	EscapeNonASCII bool
	// InboundMediaURL adds the url field to inbound media objects (Meta
	// began sending it in Nov 2025; it may be absent).
	InboundMediaURL bool

	// Templates are the WhatsApp Business Account's templates (nil:
	// DefaultTemplates()). TemplatePageSize is the default page of
	// GET /message_templates (default 2, smaller than Meta's 25 so clients
	// exercise paging; the limit parameter overrides it).
	Templates        []Template
	TemplatePageSize int
}

// Customer is a simulated WhatsApp user.
type Customer struct {
	WAID string // digits with country code, e.g. 5511987654321
	Name string // WhatsApp profile name, sent in contacts[].profile.name
}

// Sent is a message the business sent and the sandbox accepted (answered
// 200 with a wamid).
type Sent struct {
	WAMID string
	To    string // as given in the request
	WAID  string // digits of To
	Type  string
	Body  map[string]any // the decoded request; shared, do not modify
	At    time.Time
	// Status is the last status emitted for it ("" before any), and
	// ErrorCode the code of a failed one.
	Status    string
	ErrorCode int
}

// Received is a message a customer sent through the sandbox.
type Received struct {
	WAMID string
	WAID  string
	Type  string
	Text  string // body, caption, button or row title, emoji, place name…
	At    time.Time
}

// Request is one Graph API call the sandbox answered.
type Request struct {
	Method string
	Path   string // without the query
	Status int    // HTTP status
	Code   int    // Graph error code, 0 on success
	At     time.Time
}

// Delivery is one webhook POST attempt.
type Delivery struct {
	Body    []byte // the exact bytes signed and posted
	Attempt int    // 1 for the first delivery, 2… for redeliveries
	Status  int    // HTTP status answered, 0 on a transport error
	Err     error  // transport error, or nil
	At      time.Time
}

// ReadReceipt is a mark-as-read call of the business.
type ReadReceipt struct {
	WAMID  string
	Typing bool // a typing indicator came with it
	At     time.Time
}

// maxLog bounds the Requests and Deliveries logs (oldest dropped).
const maxLog = 10000

// defaultStatusPlan is what a customer's phone reports for a message.
var defaultStatusPlan = []string{"sent", "delivered", "read"}

// Sandbox is the simulator. It is safe for concurrent use. Close stops its
// background goroutines (redeliveries, status emitters).
type Sandbox struct {
	opts   Options
	urlKey []byte // signs media download URLs

	// ctx ends at Close; every background goroutine runs under it and is
	// counted in wg.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// mu guards everything below.
	mu          sync.Mutex
	closed      bool
	webhookURL  string
	publicURL   string               // where Handler is reachable; "" → taken from each request
	lastIn      map[string]time.Time // wa_id → last inbound message (opens the 24 h window)
	names       map[string]string    // wa_id → profile name
	unreachable map[string]bool
	sent        []Sent
	sentIdx     map[string]int      // wamid → index in sent
	meta        map[string]*outMeta // wamid → what its statuses need
	convs       map[string]conversation
	sentCond    chan struct{} // closed and replaced whenever sent grows
	deliveredC  chan struct{} // closed and replaced whenever a delivery attempt ends
	attempts    int           // delivery attempts ever made
	received    []Received
	inbound     map[string]string // wamid → wa_id of every inbound message
	media       map[string]*mediaObject
	templates   []Template
	failures    []graphError
	duplicates  int
	hold        int
	held        [][]byte
	statusPlan  []string
	throughput  *bucket
	pairs       map[string]*bucket
	latency     time.Duration
	requests    []Request
	deliveries  []Delivery
	reads       []ReadReceipt
}

// New returns a Sandbox configured by o (see Options for the defaults).
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
	if o.VerifiedName == "" {
		o.VerifiedName = DefaultVerifiedName
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.RetryBase <= 0 {
		o.RetryBase = DefaultRetryBase
	}
	if o.MaxRetryDelay <= 0 {
		o.MaxRetryDelay = DefaultMaxRetryDelay
	}
	if o.RetryHorizon <= 0 {
		o.RetryHorizon = DefaultRetryHorizon
	}
	if o.MessagesPerSecond == 0 {
		o.MessagesPerSecond = DefaultMessagesPerSecond
	}
	if o.PairRefill <= 0 {
		o.PairRefill = DefaultPairRefill
	}
	if o.TemplatePageSize <= 0 {
		o.TemplatePageSize = DefaultTemplatePageSize
	}
	templates := o.Templates
	if templates == nil {
		templates = DefaultTemplates()
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sandbox{
		opts: o, urlKey: key, ctx: ctx, cancel: cancel,
		webhookURL: o.WebhookURL, lastIn: map[string]time.Time{}, names: map[string]string{},
		unreachable: map[string]bool{}, sentIdx: map[string]int{}, meta: map[string]*outMeta{},
		sentCond: make(chan struct{}), deliveredC: make(chan struct{}), inbound: map[string]string{}, media: map[string]*mediaObject{},
		templates: append([]Template(nil), templates...), pairs: map[string]*bucket{},
	}
	s.throughput = newRateBucket(o.MessagesPerSecond, o.Now())
	return s
}

// Close stops redeliveries and status emitters, cancels their in-flight
// webhook posts and waits for them. Held webhooks are dropped. Customer
// methods still work after Close but nothing is retried.
func (s *Sandbox) Close() {
	s.mu.Lock()
	s.closed = true
	s.held = nil
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// goAsync runs f in a background goroutine under the sandbox's context,
// unless the sandbox is closed. Adding to wg under mu, after checking
// closed, keeps Add from racing with Close's Wait.
func (s *Sandbox) goAsync(f func(ctx context.Context)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f(s.ctx)
	}()
	return true
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// SetWebhookURL points webhook deliveries at u.
func (s *Sandbox) SetWebhookURL(u string) {
	s.mu.Lock()
	s.webhookURL = u
	s.mu.Unlock()
}

// SetBaseURL tells the sandbox the absolute URL its Handler is served at,
// for the media download and paging URLs it hands out. Without it they are
// built from each request's Host.
func (s *Sandbox) SetBaseURL(u string) {
	s.mu.Lock()
	s.publicURL = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

// PhoneNumberID is the simulated business number's id.
func (s *Sandbox) PhoneNumberID() string { return s.opts.PhoneNumberID }

// WABAID is the simulated WhatsApp Business Account's id.
func (s *Sandbox) WABAID() string { return s.opts.WABAID }

// DisplayPhoneNumberDigits is the business number as webhooks carry it
// (metadata.display_phone_number and context.from): digits only.
func (s *Sandbox) DisplayPhoneNumberDigits() string { return digits(s.opts.DisplayPhoneNumber) }

// ---- Fault injection and customer behaviour ----

// FailNext makes the next n message sends (POST /messages, not mark-as-read)
// fail with httpStatus and Graph error code (e.g. 500 and 1), after which
// the sandbox recovers. Calls add up.
func (s *Sandbox) FailNext(n, httpStatus, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, graphError{status: httpStatus, code: code,
			details: "failure injected by the sandbox"})
	}
}

// DuplicateNext delivers each of the next n webhooks twice (same bytes), as
// Meta may.
func (s *Sandbox) DuplicateNext(n int) {
	s.mu.Lock()
	s.duplicates += n
	s.mu.Unlock()
}

// HoldNext keeps the next n webhooks instead of posting them; the customer
// methods return at once with a nil error. ReleaseHeld or ReleaseHeldBatch
// posts them later, reordered or batched.
func (s *Sandbox) HoldNext(n int) {
	s.mu.Lock()
	s.hold += n
	s.mu.Unlock()
}

// Held reports how many webhooks are held.
func (s *Sandbox) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held)
}

// Throughput sets the number's throughput limit to perSecond messages per
// second (a token bucket of that size, full now); perSecond ≤ 0 removes it.
func (s *Sandbox) Throughput(perSecond int) {
	if perSecond <= 0 {
		perSecond = -1
	}
	s.mu.Lock()
	s.throughput = newRateBucket(perSecond, s.opts.Now())
	s.mu.Unlock()
}

// SetLatency delays every Graph API answer by d (slow responses); 0 turns
// it off.
func (s *Sandbox) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = d
	s.mu.Unlock()
}

// SetStatusPlan sets the statuses AutoStatuses emits for later messages, in
// order: e.g. ("sent", "read") skips delivered, ("sent", "read",
// "delivered") reorders, ("sent", "delivered") leaves messages unread until
// ReadChat. No arguments restores sent → delivered → read.
func (s *Sandbox) SetStatusPlan(statuses ...string) {
	s.mu.Lock()
	s.statusPlan = append([]string(nil), statuses...)
	s.mu.Unlock()
}

// OpenWindow records an inbound message from waID now, without a webhook,
// so free-form messages to it are accepted for 24 h.
func (s *Sandbox) OpenWindow(waID string) {
	s.mu.Lock()
	s.lastIn[waID] = s.opts.Now()
	s.mu.Unlock()
}

// CloseWindow forgets waID's last inbound message: only templates reach it.
func (s *Sandbox) CloseWindow(waID string) {
	s.mu.Lock()
	delete(s.lastIn, waID)
	s.mu.Unlock()
}

// Unreachable makes waID a number that is not on WhatsApp (or has blocked
// the business): sends to it are accepted, then fail with 131026.
func (s *Sandbox) Unreachable(waID string) {
	s.mu.Lock()
	s.unreachable[waID] = true
	s.mu.Unlock()
}

// ---- What happened ----

// Sent returns every message the business sent, in order of acceptance.
func (s *Sandbox) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// SentTo returns what the business sent to one customer (by wa_id).
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

// Requests returns the Graph API calls answered (the last 10000).
func (s *Sandbox) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Deliveries returns the webhook POST attempts (the last 10000).
func (s *Sandbox) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// ReadReceipts returns the business's mark-as-read calls.
func (s *Sandbox) ReadReceipts() []ReadReceipt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ReadReceipt(nil), s.reads...)
}

// WaitSent blocks until at least n messages were accepted or ctx ends.
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

// WaitDeliveries blocks until at least n webhook delivery attempts (first
// deliveries, duplicates and redeliveries, whatever the answer) have
// finished, or ctx ends.
func (s *Sandbox) WaitDeliveries(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		count, ch := s.attempts, s.deliveredC
		s.mu.Unlock()
		if count >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d webhook deliveries, have %d: %w", n, count, ctx.Err())
		}
	}
}

// appendLog appends v to a log bounded by maxLog. Callers hold mu.
func appendLog[T any](log []T, v T) []T {
	if len(log) >= maxLog {
		log = append(log[:0], log[len(log)-maxLog+1:]...)
	}
	return append(log, v)
}
