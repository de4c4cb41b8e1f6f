package sandbox_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp/sandbox"
)

// nextStatuses reads n status webhooks and returns their status names.
func nextStatuses(t *testing.T, e *env, wamid string, n int) ([]string, []map[string]any) {
	t.Helper()
	var names []string
	var all []map[string]any
	for range n {
		st := status(t, e.hook.next(t))
		if st["id"] != wamid {
			t.Fatalf("status for %v, want %s", st["id"], wamid)
		}
		names = append(names, st["status"].(string))
		all = append(all, st)
	}
	return names, all
}

func TestStatus_AutoSentDeliveredRead(t *testing.T) {
	e := setup(t, sandbox.Options{AutoStatuses: true})
	e.sb.OpenWindow(ana.WAID)
	body := text("+"+ana.WAID, "Vou verificar agora mesmo.")
	body["biz_opaque_callback_data"] = "out-018f3c2a"
	wamid := e.send(t, body)
	names, sts := nextStatuses(t, e, wamid, 3)
	if len(names) != 3 || names[0] != "sent" || names[1] != "delivered" || names[2] != "read" {
		t.Fatalf("statuses = %v", names)
	}
	for i, st := range sts {
		ts, _ := st["timestamp"].(string)
		if _, err := strconv.ParseInt(ts, 10, 64); err != nil || st["recipient_id"] != ana.WAID || st["biz_opaque_callback_data"] != "out-018f3c2a" {
			t.Errorf("status %d = %v", i, st)
		}
		if _, ok := st["errors"]; ok {
			t.Errorf("status %d has errors", i)
		}
		if _, ok := st["conversation"]; ok {
			t.Errorf("conversation present without LegacyConversation: %v", st)
		}
		p, priced := st["pricing"].(map[string]any)
		if priced != (i < 2) { // sent and delivered only
			t.Errorf("status %s pricing = %v", names[i], st["pricing"])
		}
		if priced && (p["billable"] != false || p["pricing_model"] != "PMP" || p["type"] != "free_customer_service" || p["category"] != "service") {
			t.Errorf("pricing = %v", p)
		}
	}
	if got := e.sb.SentTo(ana.WAID); len(got) != 1 || got[0].Status != "read" {
		t.Errorf("SentTo = %+v", got)
	}
}

func TestStatus_VoiceNotePlayedReactionOnlySent(t *testing.T) {
	e := setup(t, sandbox.Options{AutoStatuses: true})
	in, _ := e.sb.SendText(t.Context(), ana, "oi")
	e.hook.next(t)
	voice := e.send(t, map[string]any{"messaging_product": "whatsapp", "to": ana.WAID, "type": "audio",
		"audio": map[string]any{"id": e.sb.AddMedia([]byte("OggS voice"), "audio/ogg; codecs=opus"), "voice": true}})
	if names, _ := nextStatuses(t, e, voice, 4); names[3] != "played" {
		t.Errorf("voice statuses = %v", names)
	}
	reaction := e.send(t, map[string]any{"messaging_product": "whatsapp", "to": ana.WAID, "type": "reaction",
		"reaction": map[string]any{"message_id": in, "emoji": "✅"}})
	names, sts := nextStatuses(t, e, reaction, 1)
	if names[0] != "sent" || sts[0]["pricing"] != nil {
		t.Errorf("reaction status = %v", sts[0])
	}
	e.sb.Close()
	e.hook.none(t)
}

// A plan without read leaves the message delivered until the customer
// opens the chat; a plan may skip or reorder.
func TestStatus_PlanAndReadChat(t *testing.T) {
	e := setup(t, sandbox.Options{AutoStatuses: true})
	e.sb.OpenWindow(ana.WAID)
	e.sb.SetStatusPlan("sent", "delivered")
	a := e.send(t, text(ana.WAID, "um"))
	nextStatuses(t, e, a, 2)
	if err := e.sb.ReadChat(t.Context(), ana.WAID); err != nil {
		t.Fatal(err)
	}
	names, sts := nextStatuses(t, e, a, 1)
	if names[0] != "read" || sts[0]["pricing"] != nil {
		t.Errorf("after ReadChat: %v", sts[0])
	}

	e.sb.SetStatusPlan("sent", "read", "delivered")
	b := e.send(t, text(ana.WAID, "dois"))
	names, sts = nextStatuses(t, e, b, 3)
	if names[1] != "read" || names[2] != "delivered" || sts[1]["pricing"] == nil || sts[2]["pricing"] != nil {
		t.Errorf("reordered = %v / %v", names, sts)
	}
	e.sb.SetStatusPlan()
	c := e.send(t, text(ana.WAID, "três"))
	if names, _ := nextStatuses(t, e, c, 3); names[2] != "read" {
		t.Errorf("default plan = %v", names)
	}
}

// §5 failed: errors [{code, title, message == title, error_data.details,
// href}], no pricing.
func TestStatus_FailedOutsideWindow(t *testing.T) {
	e := setup(t, sandbox.Options{AutoStatuses: true})
	wamid := e.send(t, text("+5511900000003", "oi"))
	st := status(t, e.hook.next(t))
	if st["status"] != "failed" || st["id"] != wamid || st["recipient_id"] != "5511900000003" || st["pricing"] != nil {
		t.Fatalf("status = %v", st)
	}
	errs := st["errors"].([]any)
	er := errs[0].(map[string]any)
	details, _ := er["error_data"].(map[string]any)["details"].(string)
	if len(errs) != 1 || er["code"] != 131047.0 || er["title"] != "Re-engagement message" || er["message"] != er["title"] || details == "" || er["href"] == nil {
		t.Errorf("errors = %v", errs)
	}
	if got := e.sb.Sent()[0]; got.Status != "failed" || got.ErrorCode != 131047 {
		t.Errorf("Sent = %+v", got)
	}
	e.sb.Close()
	e.hook.none(t) // no sent/delivered/read after a failure
}

func TestStatus_EmitStatusByHand(t *testing.T) {
	e := setup(t, sandbox.Options{LegacyConversation: true})
	wamid := e.send(t, map[string]any{"messaging_product": "whatsapp", "to": "+5511900000004", "type": "template",
		"template": map[string]any{"name": "hello_world", "language": map[string]any{"code": "en_US"}}})
	if err := e.sb.EmitStatus(t.Context(), wamid, "sent"); err != nil {
		t.Fatal(err)
	}
	st := status(t, e.hook.next(t))
	p := st["pricing"].(map[string]any)
	conv := st["conversation"].(map[string]any)
	if p["billable"] != true || p["type"] != "regular" || p["category"] != "utility" {
		t.Errorf("template outside the window: pricing = %v", p)
	}
	if conv["id"] == nil || conv["expiration_timestamp"] == nil || conv["origin"].(map[string]any)["type"] != "utility" {
		t.Errorf("conversation = %v", conv)
	}
	if err := e.sb.EmitStatus(t.Context(), wamid, "failed", sandbox.ErrorObject(131026, "")); err != nil {
		t.Fatal(err)
	}
	st = status(t, e.hook.next(t))
	er := st["errors"].([]any)[0].(map[string]any)
	if er["code"] != 131026.0 || er["title"] != "Message Undeliverable" || st["conversation"] != nil {
		t.Errorf("failed = %v", st)
	}
	if err := e.sb.EmitStatus(t.Context(), "wamid.nope", "read"); !errors.Is(err, sandbox.ErrUnknownMessage) {
		t.Errorf("unknown wamid: %v", err)
	}
}
