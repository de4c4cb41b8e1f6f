package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp/sandbox"
)

func TestDelivery_RetriedUntilAcknowledged(t *testing.T) {
	e := setup(t, sandbox.Options{})
	e.hook.answer(500, 500)
	wamid, err := e.sb.SendText(t.Context(), ana, "oi")
	if !errors.Is(err, sandbox.ErrNotAcknowledged) {
		t.Errorf("SendText error = %v, want ErrNotAcknowledged", err)
	}
	first, second, third := e.hook.next(t), e.hook.next(t), e.hook.next(t)
	if first.answered != 500 || second.answered != 500 || third.answered != 200 {
		t.Errorf("answers = %d %d %d", first.answered, second.answered, third.answered)
	}
	if !bytes.Equal(first.raw, second.raw) || !bytes.Equal(first.raw, third.raw) {
		t.Error("redeliveries changed the bytes")
	}
	inbound(t, third, ana, wamid, "text")
	if err := e.sb.WaitDeliveries(ctxTimeout(t), 3); err != nil {
		t.Fatal(err)
	}
	e.sb.Close() // nothing left to redeliver
	e.hook.none(t)
	var attempts []int
	for _, d := range e.sb.Deliveries() {
		attempts = append(attempts, d.Attempt, d.Status)
	}
	if len(attempts) != 6 || attempts[0] != 1 || attempts[2] != 2 || attempts[4] != 3 || attempts[5] != 200 {
		t.Errorf("Deliveries (attempt, status) = %v", attempts)
	}
}

// logSink turns log records into a channel, to learn when the sandbox gives up.
type logSink struct{ ch chan string }

func (l logSink) Enabled(context.Context, slog.Level) bool      { return true }
func (l logSink) Handle(_ context.Context, r slog.Record) error { l.ch <- r.Message; return nil }
func (l logSink) WithAttrs([]slog.Attr) slog.Handler            { return l }
func (l logSink) WithGroup(string) slog.Handler                 { return l }

func TestDelivery_GivesUpAfterMaxRetries(t *testing.T) {
	logs := logSink{make(chan string, 100)}
	e := setup(t, sandbox.Options{MaxRetries: 2, Log: slog.New(logs)})
	e.hook.answer(500, 500, 500, 500, 500)
	if _, err := e.sb.SendText(t.Context(), ana, "oi"); err == nil {
		t.Fatal("no error for a 500")
	}
	select {
	case msg := <-logs.ch:
		if msg != "sandbox: webhook never acknowledged; dropping it" {
			t.Errorf("log = %q", msg)
		}
	case <-time.After(waitFor):
		t.Fatal("never gave up")
	}
	if n := len(e.sb.Deliveries()); n != 3 {
		t.Errorf("attempts = %d, want 1 + 2 retries", n)
	}
}

// Close cancels a redelivery blocked on a slow receiver and waits for it.
func TestDelivery_CloseStopsRedeliveries(t *testing.T) {
	h := newHook(t)
	sb := sandbox.New(sandbox.Options{AppSecret: secret, WebhookURL: h.srv.URL, RetryBase: time.Hour})
	h.answer(500)
	if _, err := sb.SendText(t.Context(), ana, "oi"); err == nil {
		t.Fatal("no error for a 500")
	}
	h.next(t)
	h.mu.Lock()
	h.block = make(chan struct{}) // the immediate redelivery hangs
	h.mu.Unlock()
	h.next(t)
	closed := make(chan struct{})
	go func() { sb.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(waitFor):
		t.Fatal("Close did not return")
	}
	// After Close nothing is redelivered.
	h.mu.Lock()
	h.block = nil
	h.mu.Unlock()
	h.answer(500)
	if _, err := sb.SendText(t.Context(), ana, "again"); err == nil {
		t.Fatal("no error for a 500")
	}
	h.next(t)
	if n := len(sb.Deliveries()); n != 3 {
		t.Errorf("deliveries = %d, want 3", n)
	}
}

func TestDelivery_DuplicateNext(t *testing.T) {
	e := setup(t, sandbox.Options{})
	e.sb.DuplicateNext(1)
	wamid, err := e.sb.SendText(t.Context(), ana, "oi")
	if err != nil {
		t.Fatal(err)
	}
	a, b := e.hook.next(t), e.hook.next(t)
	inbound(t, a, ana, wamid, "text")
	inbound(t, b, ana, wamid, "text")
	if !bytes.Equal(a.raw, b.raw) {
		t.Error("duplicate differs")
	}
	if _, err := e.sb.SendText(t.Context(), ana, "once"); err != nil {
		t.Fatal(err)
	}
	e.hook.next(t)
	e.hook.none(t)
}

func TestDelivery_HoldAndReleaseReordered(t *testing.T) {
	e := setup(t, sandbox.Options{})
	e.sb.HoldNext(2)
	first, _ := e.sb.SendText(t.Context(), ana, "primeira")
	second, _ := e.sb.SendText(t.Context(), ana, "segunda")
	e.hook.none(t)
	if e.sb.Held() != 2 {
		t.Fatalf("held = %d", e.sb.Held())
	}
	if err := e.sb.ReleaseHeld(t.Context()); err != nil {
		t.Fatal(err)
	}
	inbound(t, e.hook.next(t), ana, second, "text")
	inbound(t, e.hook.next(t), ana, first, "text")
}

func TestDelivery_ReleaseHeldBatch(t *testing.T) {
	e := setup(t, sandbox.Options{})
	e.sb.OpenWindow(ana.WAID)
	out := e.send(t, text("+"+ana.WAID, "oi"))
	e.sb.HoldNext(2)
	in, _ := e.sb.SendText(t.Context(), ana, "tudo bem?")
	if err := e.sb.EmitStatus(t.Context(), out, "delivered"); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.ReleaseHeldBatch(t.Context()); err != nil {
		t.Fatal(err)
	}
	d := e.hook.next(t)
	if !d.sigOK {
		t.Fatal("batch not signed")
	}
	changes := d.body["entry"].([]any)[0].(map[string]any)["changes"].([]any)
	if len(changes) != 2 {
		t.Fatalf("changes = %d", len(changes))
	}
	msg := checkChange(t, changes[0].(map[string]any))["messages"].([]any)[0].(map[string]any)
	st := checkChange(t, changes[1].(map[string]any))["statuses"].([]any)[0].(map[string]any)
	if msg["id"] != in || st["id"] != out || st["status"] != "delivered" {
		t.Errorf("batch = %s", d.raw)
	}
}

func TestDelivery_RawUnsignedAndBadSignature(t *testing.T) {
	e := setup(t, sandbox.Options{})
	body := []byte(`{"object":"whatsapp_business_account","entry":[`) // malformed on purpose
	for name, post := range map[string]func() (*http.Response, error){
		"raw":      func() (*http.Response, error) { return e.sb.PostRaw(t.Context(), body) },
		"unsigned": func() (*http.Response, error) { return e.sb.PostUnsigned(t.Context(), body) },
		"forged": func() (*http.Response, error) {
			return e.sb.PostWithSignature(t.Context(), body, sandbox.Sign("wrong", body))
		},
	} {
		res, err := post()
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		d := e.hook.next(t)
		want := name == "raw"
		if d.sigOK != want || !bytes.Equal(d.raw, body) {
			t.Errorf("%s: signature ok = %v, want %v", name, d.sigOK, want)
		}
		if name == "unsigned" && d.header.Get("X-Hub-Signature-256") != "" {
			t.Errorf("unsigned post has a signature")
		}
	}
	// One attempt each: no redelivery of manual posts.
	e.sb.Close()
	e.hook.none(t)
}

func TestDelivery_VerifyWebhook(t *testing.T) {
	e := setup(t, sandbox.Options{})
	if err := e.sb.VerifyWebhook(t.Context(), verifyToken); err != nil {
		t.Errorf("handshake: %v", err)
	}
	if err := e.sb.VerifyWebhook(t.Context(), "wrong"); err == nil {
		t.Error("handshake with a wrong token passed")
	}
}

func TestDelivery_NoWebhookURL(t *testing.T) {
	sb := sandbox.New(sandbox.Options{AppSecret: secret})
	defer sb.Close()
	if _, err := sb.SendText(t.Context(), ana, "oi"); !errors.Is(err, sandbox.ErrNoWebhookURL) {
		t.Errorf("err = %v", err)
	}
	h := newHook(t)
	sb.SetWebhookURL(h.srv.URL)
	if _, err := sb.SendText(t.Context(), ana, "oi"); err != nil {
		t.Fatal(err)
	}
	if !h.next(t).sigOK {
		t.Error("bad signature")
	}
}
