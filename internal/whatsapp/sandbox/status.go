package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// outMeta is what the sandbox remembers about an accepted message to build
// its statuses.
type outMeta struct {
	category string // pricing category: service, utility, marketing, authentication
	free     bool   // free_customer_service (in the window) vs regular
	voice    bool   // an audio voice note: gets "played" after "read"
	reaction bool   // reactions only ever get "sent"
	priced   bool   // pricing already sent with delivered or read
	convID   string
	convEnd  time.Time
}

// EmitStatus posts a statuses webhook (§5) for a message the business sent
// (a wamid the sandbox answered). status is sent, delivered, read, played or
// failed; errs are error objects (see ErrorObject) and go with failed (a
// failed status without errs gets 131000). pricing goes with sent and with
// the first delivered or read; biz_opaque_callback_data is echoed.
//
// It fails with ErrUnknownMessage for a wamid never sent, and otherwise
// reports the first delivery attempt like SendInbound.
func (s *Sandbox) EmitStatus(ctx context.Context, wamid, status string, errs ...map[string]any) error {
	st, err := s.statusObject(wamid, status, errs)
	if err != nil {
		return err
	}
	return s.deliver(ctx, s.envelope(map[string]any{"statuses": []any{st}}))
}

func (s *Sandbox) statusObject(wamid, status string, errs []map[string]any) (map[string]any, error) {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.sentIdx[wamid]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownMessage, wamid)
	}
	m := &s.sent[i]
	meta := s.outMeta(wamid)
	st := map[string]any{"id": wamid, "status": status, "timestamp": unixString(now), "recipient_id": m.WAID}
	if biz, _ := m.Body["biz_opaque_callback_data"].(string); biz != "" {
		st["biz_opaque_callback_data"] = biz
	}
	if status == "failed" && len(errs) == 0 {
		errs = []map[string]any{ErrorObject(131000, "")}
	}
	if len(errs) > 0 {
		list := make([]any, len(errs))
		for i, e := range errs {
			list[i] = e
		}
		st["errors"] = list
	}
	m.Status, m.ErrorCode = status, 0
	if status == "failed" {
		m.ErrorCode = intOf(errs[0]["code"])
	}
	if status == "failed" || meta.reaction {
		return st, nil
	}
	pricing := status == "sent"
	if !pricing && !meta.priced && (status == "delivered" || status == "read") {
		pricing, meta.priced = true, true
	}
	if pricing {
		typ := "regular"
		if meta.free {
			typ = "free_customer_service"
		}
		st["pricing"] = map[string]any{"billable": !meta.free, "pricing_model": "PMP", "type": typ, "category": meta.category}
	}
	if s.opts.LegacyConversation {
		conv := map[string]any{"id": meta.convID, "origin": map[string]any{"type": meta.category}}
		if status == "sent" {
			conv["expiration_timestamp"] = unixString(meta.convEnd)
		}
		st["conversation"] = conv
	}
	return st, nil
}

// outMeta returns the remembered facts of wamid (zero ones for a message
// recorded without them). Callers hold mu.
func (s *Sandbox) outMeta(wamid string) *outMeta {
	if s.meta == nil {
		s.meta = map[string]*outMeta{}
	}
	m, ok := s.meta[wamid]
	if !ok {
		m = &outMeta{category: "service", free: true}
		s.meta[wamid] = m
	}
	return m
}

// emitPlan emits statuses for wamid in the background, StatusDelay before
// each.
func (s *Sandbox) emitPlan(wamid string, plan []string) {
	s.goAsync(func(ctx context.Context) {
		for _, st := range plan {
			if !sleep(ctx, s.opts.StatusDelay) {
				return
			}
			if err := s.EmitStatus(ctx, wamid, st); err != nil && !errors.Is(err, ErrNotAcknowledged) {
				s.opts.Log.Debug("sandbox: status not delivered", "wamid", wamid, "status", st, "err", err)
			}
		}
	})
}

// failLater emits a failed status with code for an accepted message, after
// StatusDelay, as Meta reports most delivery problems (§8).
func (s *Sandbox) failLater(wamid string, code int, details string) {
	s.goAsync(func(ctx context.Context) {
		if !sleep(ctx, s.opts.StatusDelay) {
			return
		}
		_ = s.EmitStatus(ctx, wamid, "failed", ErrorObject(code, details))
	})
}

// ReadChat makes customer waID open the chat: every message sent to it that
// is neither read nor failed gets a read status (use with a status plan
// that stops before read). It returns the joined delivery failures.
func (s *Sandbox) ReadChat(ctx context.Context, waID string) error {
	var unread []string
	s.mu.Lock()
	for _, m := range s.sent {
		meta := s.outMeta(m.WAMID)
		if m.WAID == waID && !meta.reaction && (m.Status == "" || m.Status == "sent" || m.Status == "delivered") {
			unread = append(unread, m.WAMID)
		}
	}
	s.mu.Unlock()
	var errs []error
	for _, wamid := range unread {
		errs = append(errs, s.EmitStatus(ctx, wamid, "read"))
	}
	return errors.Join(errs...)
}

// plan returns the statuses AutoStatuses emits for a message. Callers hold
// mu.
func (s *Sandbox) plan(meta *outMeta) []string {
	if meta.reaction {
		return []string{"sent"}
	}
	plan := s.statusPlan
	if len(plan) == 0 {
		plan = defaultStatusPlan
	}
	plan = append([]string(nil), plan...)
	if meta.voice && len(plan) > 0 && plan[len(plan)-1] == "read" {
		plan = append(plan, "played")
	}
	return plan
}

// conversation returns the pricing conversation of (waID, category),
// opening a new 24 h one when none is current. Callers hold mu.
func (s *Sandbox) conversation(waID, category string, now time.Time) (string, time.Time) {
	if s.convs == nil {
		s.convs = map[string]conversation{}
	}
	key := waID + "/" + category
	c, ok := s.convs[key]
	if !ok || !now.Before(c.end) {
		c = conversation{id: strings.ToLower(randomFrom("0123456789abcdef", 32)), end: now.Add(ServiceWindow)}
		s.convs[key] = c
	}
	return c.id, c.end
}

type conversation struct {
	id  string
	end time.Time
}

func unixString(t time.Time) string { return fmt.Sprint(t.Unix()) }

// intOf reads a JSON-ish number (int, float64, json.Number) as an int.
func intOf(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	case interface{ Int64() (int64, error) }:
		i, _ := n.Int64()
		return int(i)
	}
	return 0
}
