package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// maxMessageBody bounds a send request's JSON.
const maxMessageBody = 1 << 20

// handleMessages is POST /{phone-number-id}/messages: a send (§6) or a
// mark-as-read. Order of checks: body, injected failure, validation (100,
// 131009, 131021, 132xxx), the window when SyncWindowErrors (131047),
// throughput (130429), pair rate (131056). An accepted message answers 200
// with a wamid; problems Meta reports later (outside the window,
// undeliverable, unknown reaction target, unusable media) become a failed
// status webhook.
func (s *Sandbox) handleMessages(r *http.Request) reply {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxMessageBody+1))
	if err != nil {
		return errReply(invalidParam("could not read the request body"))
	}
	if len(raw) > maxMessageBody {
		return errReply(invalidParam("the request body is larger than %d bytes", maxMessageBody))
	}
	var req map[string]any
	if err := json.Unmarshal(raw, &req); err != nil || req == nil {
		return errReply(invalidParam("the request body must be a JSON object"))
	}
	mp, present := req["messaging_product"]
	if !present {
		return errReply(invalidParam("The parameter messaging_product is required."))
	}
	if mp != "whatsapp" {
		return errReply(invalidParam("Param messaging_product must be one of {WHATSAPP} - got %q.", toString(mp)))
	}
	if _, ok := req["status"]; ok {
		return s.handleMarkRead(req)
	}

	s.mu.Lock()
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		s.mu.Unlock()
		return errReply(&f)
	}
	s.mu.Unlock()

	c, gerr := s.checkMessage(req)
	if gerr != nil {
		return errReply(gerr)
	}

	now := s.opts.Now()
	s.mu.Lock()
	last, seen := s.lastIn[c.waID]
	inWindow := seen && now.Before(last.Add(ServiceWindow))
	outside := c.typ != "template" && !inWindow
	if outside && s.opts.SyncWindowErrors {
		s.mu.Unlock()
		return errReply(newGraphError(131047, "%s", lookupCode(131047).details))
	}
	if !s.throughput.take(now) {
		s.mu.Unlock()
		return errReply(newGraphError(130429, "%s", lookupCode(130429).details))
	}
	if s.opts.PairBurst > 0 {
		b, ok := s.pairs[c.waID]
		if !ok {
			b = newPairBucket(s.opts.PairBurst, s.opts.PairRefill, now)
			s.pairs[c.waID] = b
		}
		if !b.take(now) {
			s.mu.Unlock()
			return errReply(newGraphError(131056, "%s", lookupCode(131056).details))
		}
	}
	wamid := newWAMID(c.waID, false)
	s.sentIdx[wamid] = len(s.sent)
	s.sent = append(s.sent, Sent{WAMID: wamid, To: c.to, WAID: c.waID, Type: c.typ, Body: req, At: now})
	close(s.sentCond)
	s.sentCond = make(chan struct{})

	meta := &outMeta{category: "service", free: true, voice: c.voice, reaction: c.typ == "reaction"}
	if c.tmpl != nil {
		meta.category = strings.ToLower(c.tmpl.Category)
		meta.free = meta.category == "utility" && inWindow // utility templates are free inside the window
	}
	meta.convID, meta.convEnd = s.conversation(c.waID, meta.category, now)
	s.meta[wamid] = meta
	unreachable := s.unreachable[c.waID]
	unknownTarget := c.reactTo != "" && !s.inChat(c.reactTo, c.waID)
	var plan []string
	if s.opts.AutoStatuses {
		plan = s.plan(meta)
	}
	s.mu.Unlock()

	after := func() {
		switch {
		case unreachable:
			s.failLater(wamid, 131026, "")
		case outside:
			s.failLater(wamid, 131047, "")
		case unknownTarget:
			s.failLater(wamid, 131009, "The message to react to ("+c.reactTo+") was not found in this chat or is too old.")
		case c.mediaProblem != "":
			s.failLater(wamid, 131053, c.mediaProblem)
		case plan != nil:
			s.emitPlan(wamid, plan)
		}
	}
	return reply{json: map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []any{map[string]any{"input": c.to, "wa_id": c.waID}},
		"messages":          []any{map[string]any{"id": wamid}},
	}, after: after}
}

// inChat reports whether wamid is a message of the chat with waID, either
// way. Callers hold mu.
func (s *Sandbox) inChat(wamid, waID string) bool {
	if from, ok := s.inbound[wamid]; ok {
		return from == waID
	}
	if i, ok := s.sentIdx[wamid]; ok {
		return s.sent[i].WAID == waID
	}
	return false
}

// handleMarkRead is {"messaging_product":"whatsapp","status":"read",
// "message_id":…, "typing_indicator":{"type":"text"}} → {"success": true}.
// Unknown wamids are accepted (whether Meta refuses them is not
// documented), but message_id must look like one.
func (s *Sandbox) handleMarkRead(req map[string]any) reply {
	if status, _ := req["status"].(string); status != "read" {
		return errReply(invalidParam("Param status must be one of {READ} - got %q.", toString(req["status"])))
	}
	id, _ := req["message_id"].(string)
	if id == "" {
		return errReply(invalidParam("The parameter message_id is required."))
	}
	if !strings.HasPrefix(id, "wamid.") {
		return errReply(invalidValue("Param message_id must be a WhatsApp message id (wamid.…) - got %q.", id))
	}
	typing := false
	if ti, ok := req["typing_indicator"]; ok {
		m, _ := ti.(map[string]any)
		if t, _ := m["type"].(string); t != "text" {
			return errReply(invalidParam("Param typing_indicator['type'] must be one of {TEXT}."))
		}
		typing = true
	}
	s.mu.Lock()
	s.reads = append(s.reads, ReadReceipt{WAMID: id, Typing: typing, At: s.opts.Now()})
	s.mu.Unlock()
	return reply{json: map[string]any{"success": true}}
}
