package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"
	"unicode/utf16"
)

// userAgent is what Meta's webhook requests carry.
const userAgent = "facebookexternalua"

// Sign is the X-Hub-Signature-256 value of body under secret:
// "sha256=" + lowercase hex HMAC-SHA256 (§2).
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// envelope wraps values in Meta's webhook envelope (§3): one entry for the
// WABA, one "messages" change per value, each value completed with
// messaging_product and metadata.
func (s *Sandbox) envelope(values ...map[string]any) []byte {
	changes := make([]any, len(values))
	for i, v := range values {
		v["messaging_product"] = "whatsapp"
		v["metadata"] = map[string]any{
			"display_phone_number": s.DisplayPhoneNumberDigits(),
			"phone_number_id":      s.opts.PhoneNumberID,
		}
		changes[i] = map[string]any{"field": "messages", "value": v}
	}
	return s.encode(map[string]any{
		"object": "whatsapp_business_account",
		"entry":  []any{map[string]any{"id": s.opts.WABAID, "changes": changes}},
	})
}

// encode renders a webhook body: compact JSON without HTML escaping and,
// with EscapeNonASCII, every non-ASCII character as \uXXXX.
func (s *Sandbox) encode(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("sandbox: encode webhook: %v", err)) // only maps of JSON values are encoded
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if s.opts.EscapeNonASCII {
		b = escapeNonASCII(b)
	}
	return b
}

// escapeNonASCII rewrites non-ASCII runes of a JSON text as \u escapes
// (surrogate pairs above U+FFFF). They only occur inside strings, so the
// JSON value is unchanged.
func escapeNonASCII(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b))
	for _, r := range string(b) {
		switch {
		case r < 0x80:
			out.WriteByte(byte(r))
		case r > 0xFFFF:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&out, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&out, `\u%04x`, r)
		}
	}
	return out.Bytes()
}

// deliver posts body once, synchronously, applying the hold and duplicate
// switches. When the receiver does not answer 200 it keeps redelivering the
// same bytes in the background and returns the first attempt's failure.
func (s *Sandbox) deliver(ctx context.Context, body []byte) error {
	_, err := s.deliverHeld(ctx, body)
	return err
}

// deliverHeld is deliver also reporting whether body was held.
func (s *Sandbox) deliverHeld(ctx context.Context, body []byte) (held bool, err error) {
	s.mu.Lock()
	if s.hold > 0 && !s.closed {
		s.hold--
		s.held = append(s.held, body)
		s.mu.Unlock()
		return true, nil
	}
	dup := s.duplicates > 0
	if dup {
		s.duplicates--
	}
	s.mu.Unlock()
	return false, s.send(ctx, body, dup)
}

// send is one delivery (twice when dup) plus background redelivery on
// failure.
func (s *Sandbox) send(ctx context.Context, body []byte, dup bool) error {
	err := s.attempt(ctx, body, 1)
	if dup {
		// A duplicate is an independent delivery of the same bytes; if both
		// fail, one redelivery loop is enough.
		if derr := s.attempt(ctx, body, 1); derr == nil {
			err = nil
		}
	}
	if err != nil {
		s.redeliver(body)
	}
	return err
}

// redeliver retries body in the background: immediately, then RetryBase,
// doubling up to MaxRetryDelay, within MaxRetries and RetryHorizon.
func (s *Sandbox) redeliver(body []byte) {
	o := s.opts
	s.goAsync(func(ctx context.Context) {
		var delay, elapsed time.Duration
		for n := 1; o.MaxRetries <= 0 || n <= o.MaxRetries; n++ {
			if !sleep(ctx, delay) {
				return
			}
			if s.attempt(ctx, body, n+1) == nil {
				return
			}
			if delay == 0 {
				delay = o.RetryBase
			} else {
				delay = min(2*delay, o.MaxRetryDelay)
			}
			if elapsed += delay; elapsed > o.RetryHorizon {
				break
			}
		}
		o.Log.Warn("sandbox: webhook never acknowledged; dropping it", "bytes", len(body))
	})
}

// attempt posts body once, signed, and records it; only 200 counts as
// acknowledged.
func (s *Sandbox) attempt(ctx context.Context, body []byte, n int) error {
	status, err := s.post(ctx, body, Sign(s.opts.AppSecret, body), true)
	s.mu.Lock()
	s.deliveries = appendLog(s.deliveries, Delivery{Body: body, Attempt: n, Status: status, Err: err, At: s.opts.Now()})
	s.attempts++
	close(s.deliveredC)
	s.deliveredC = make(chan struct{})
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("%w: answered %d", ErrNotAcknowledged, status)
	}
	return nil
}

// post sends body to the webhook URL and returns the status, having read
// and closed the response.
func (s *Sandbox) post(ctx context.Context, body []byte, signature string, signed bool) (int, error) {
	res, err := s.postResponse(ctx, body, signature, signed)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, nil
}

func (s *Sandbox) postResponse(ctx context.Context, body []byte, signature string, signed bool) (*http.Response, error) {
	s.mu.Lock()
	u := s.webhookURL
	s.mu.Unlock()
	if u == "" {
		return nil, ErrNoWebhookURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("sandbox: webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if signed {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	return s.opts.HTTPClient.Do(req)
}

// ReleaseHeld posts the held webhooks one by one, newest first (so a
// receiver sees them out of order), each with the usual redelivery. It
// returns the joined failures of the first attempts.
func (s *Sandbox) ReleaseHeld(ctx context.Context) error {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	var errs []error
	for _, body := range slices.Backward(held) {
		errs = append(errs, s.send(ctx, body, false))
	}
	return errors.Join(errs...)
}

// ReleaseHeldBatch posts the held webhooks as one batched POST (all their
// changes in one entry, oldest first), as Meta may batch updates.
func (s *Sandbox) ReleaseHeldBatch(ctx context.Context) error {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	if len(held) == 0 {
		return nil
	}
	var changes []any
	for _, body := range held {
		var env struct {
			Entry []struct {
				Changes []json.RawMessage `json:"changes"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			return fmt.Errorf("sandbox: held webhook: %w", err)
		}
		for _, e := range env.Entry {
			for _, c := range e.Changes {
				changes = append(changes, c)
			}
		}
	}
	body := s.encode(map[string]any{
		"object": "whatsapp_business_account",
		"entry":  []any{map[string]any{"id": s.opts.WABAID, "changes": changes}},
	})
	return s.send(ctx, body, false)
}

// PostRaw signs body and posts it to the webhook URL once, without
// redelivery (tests of malformed input). The caller closes the response.
func (s *Sandbox) PostRaw(ctx context.Context, body []byte) (*http.Response, error) {
	return s.postResponse(ctx, body, Sign(s.opts.AppSecret, body), true)
}

// PostUnsigned posts body once without an X-Hub-Signature-256 header.
func (s *Sandbox) PostUnsigned(ctx context.Context, body []byte) (*http.Response, error) {
	return s.postResponse(ctx, body, "", false)
}

// PostWithSignature posts body once with the given X-Hub-Signature-256
// value (e.g. a signature under the wrong secret).
func (s *Sandbox) PostWithSignature(ctx context.Context, body []byte, signature string) (*http.Response, error) {
	return s.postResponse(ctx, body, signature, true)
}

// VerifyWebhook performs Meta's subscription handshake (§1) against the
// webhook URL: GET ?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…
// It fails unless the receiver answers 200 with exactly the challenge.
func (s *Sandbox) VerifyWebhook(ctx context.Context, verifyToken string) error {
	s.mu.Lock()
	u := s.webhookURL
	s.mu.Unlock()
	if u == "" {
		return ErrNoWebhookURL
	}
	target, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("sandbox: webhook URL: %w", err)
	}
	challenge := newDigits(10)
	q := target.Query()
	q.Set("hub.mode", "subscribe")
	q.Set("hub.challenge", challenge)
	q.Set("hub.verify_token", verifyToken)
	target.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return fmt.Errorf("sandbox: verify request: %w", err)
	}
	req.Header.Set("User-Agent", userAgent)
	res, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("sandbox: verify: %w", err)
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(io.LimitReader(res.Body, 1<<10))
	if res.StatusCode != http.StatusOK || string(got) != challenge {
		return fmt.Errorf("sandbox: verify: answered %d %q, want 200 %q", res.StatusCode, got, challenge)
	}
	return nil
}
