package httpapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/config"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// The webhook bodies below are written from the contract
// (whatsapp-cloud-api.md §3–§5): ids are strings, timestamps strings of Unix
// seconds, wa_id digits only.

const testAppSecret = "test-app-secret"

func sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(testAppSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func envelope(phoneNumberID string, value map[string]any) []byte {
	value["messaging_product"] = "whatsapp"
	value["metadata"] = map[string]any{"display_phone_number": "15550001111", "phone_number_id": phoneNumberID}
	b, _ := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry": []any{map[string]any{
			"id":      "200000000000001",
			"changes": []any{map[string]any{"field": "messages", "value": value}},
		}},
	})
	return b
}

func inboundText(from, name, wamid, body string, ts time.Time) []byte {
	return envelope(config.SandboxPhoneNumberID, map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]any{"name": name}, "wa_id": from}},
		"messages": []any{map[string]any{
			"from": from, "id": wamid, "timestamp": fmt.Sprint(ts.Unix()), "type": "text",
			"text": map[string]any{"body": body},
		}},
	})
}

func statusBody(wamid, status string, ts time.Time) []byte {
	st := map[string]any{"id": wamid, "status": status, "timestamp": fmt.Sprint(ts.Unix()), "recipient_id": "5511912345678"}
	if status == "failed" {
		st["errors"] = []any{map[string]any{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
			"error_data": map[string]any{"details": "Message failed to send because more than 24 hours have passed"}}}
	}
	return envelope(config.SandboxPhoneNumberID, map[string]any{"statuses": []any{st}})
}

func (e *testEnv) postWebhook(body []byte, signature string) resp {
	e.t.Helper()
	var opts []reqOpt
	if signature != "" {
		opts = append(opts, withHeader("X-Hub-Signature-256", signature))
	}
	return e.call("POST", "/api/v1/webhooks/whatsapp", "", body, opts...)
}

var webhookEnv = map[string]string{"WHATSAPP_APP_SECRET": testAppSecret}

func TestWebhookVerification(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		ok := e.call("GET", "/api/v1/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token="+e.srv.Config.WebhookVerifyToken, "", nil)
		if ok.status != 200 || string(ok.raw) != "1158201444" || !strings.HasPrefix(ok.header.Get("Content-Type"), "text/plain") {
			t.Errorf("handshake = %d %q %q", ok.status, ok.raw, ok.header.Get("Content-Type"))
		}
		e.mustStatus(e.call("GET", "/api/v1/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong", "", nil), 403)
		e.mustStatus(e.call("GET", "/api/v1/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1", "", nil), 403)
		e.mustStatus(e.call("GET", "/api/v1/webhooks/whatsapp?hub.verify_token=x", "", nil), 400)
	})
}

func TestWebhookRejectsUnsignedAndMalformed(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		body := inboundText("5511912345678", "Maria", "wamid.A1", "Olá", time.Now())
		e.mustStatus(e.postWebhook(body, ""), 401)
		e.mustStatus(e.postWebhook(body, "sha256="+strings.Repeat("0", 64)), 401)
		e.mustStatus(e.postWebhook(body, sign([]byte("other body"))), 401)
		tampered := []byte(strings.Replace(string(body), "Olá", "Oi!", 1))
		e.mustStatus(e.postWebhook(tampered, sign(body)), 401)
		for _, bad := range []string{`{"object":`, `[1,2]`, `"text"`} {
			e.mustStatus(e.postWebhook([]byte(bad), sign([]byte(bad))), 400)
		}
		big := []byte(`{"x":"` + strings.Repeat("a", 5<<20) + `"}`)
		e.mustStatus(e.postWebhook(big, sign(big)), 413)
		// Nothing was stored by any of them.
		admin := e.admin()
		convs := e.mustStatus(e.call("GET", "/api/v1/conversations", admin.access, nil), 200).json(t)["data"].([]any)
		if len(convs) != 0 {
			t.Errorf("conversations after refused webhooks: %v", convs)
		}
		var n int
		if err := e.srv.DB.SQL().QueryRow("SELECT COUNT(*) FROM webhook_inbox").Scan(&n); err != nil || n != 0 {
			t.Errorf("inbox rows = %d (%v), want 0", n, err)
		}
	})
}

func TestWebhookIngestIsIdempotent(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		ts := time.Now().Add(-time.Minute).Truncate(time.Second)
		body := inboundText("5511912345678", "Maria Silva", "wamid.HBgLNTUxMTkxMjM0NTY3OA==", "Não consigo acessar minha conta", ts)
		for i := 0; i < 3; i++ {
			r := e.mustStatus(e.postWebhook(body, sign(body)), 200)
			if string(r.raw) != "EVENT_RECEIVED" {
				t.Errorf("ack body %q", r.raw)
			}
		}
		// The same message inside a different body (Meta may re-batch).
		other := envelope(config.SandboxPhoneNumberID, map[string]any{
			"messages": []any{map[string]any{"from": "5511912345678", "id": "wamid.HBgLNTUxMTkxMjM0NTY3OA==",
				"timestamp": fmt.Sprint(ts.Unix()), "type": "text", "text": map[string]any{"body": "Não consigo acessar minha conta"}}},
			"contacts": []any{map[string]any{"profile": map[string]any{"name": "Maria Silva"}, "wa_id": "5511912345678"}, map[string]any{"wa_id": "x"}},
		})
		e.mustStatus(e.postWebhook(other, sign(other)), 200)

		convs := e.mustStatus(e.call("GET", "/api/v1/conversations", admin.access, nil), 200).json(t)["data"].([]any)
		if len(convs) != 1 {
			t.Fatalf("conversations = %d, want 1", len(convs))
		}
		c := convs[0].(map[string]any)
		cust := c["customer"].(map[string]any)
		if cust["phone"] != "5511912345678" || cust["name"] != "Maria Silva" || c["status"] != "waiting" ||
			c["unreadCount"] != float64(1) || c["lastMessage"] != "Não consigo acessar minha conta" {
			t.Errorf("conversation = %v", c)
		}
		if at, _ := time.Parse(time.RFC3339, c["lastMessageAt"].(string)); !at.Equal(ts) {
			t.Errorf("lastMessageAt = %v, want the customer's send time %v", c["lastMessageAt"], ts)
		}
		msgs := e.mustStatus(e.call("GET", "/api/v1/messages?conversationId="+c["id"].(string), admin.access, nil), 200).json(t)["data"].([]any)
		if len(msgs) != 1 {
			t.Fatalf("messages = %d, want 1", len(msgs))
		}
		m := msgs[0].(map[string]any)
		if m["direction"] != "inbound" || m["senderType"] != "customer" || m["type"] != "text" || m["status"] != "received" ||
			m["waMessageId"] != "wamid.HBgLNTUxMTkxMjM0NTY3OA==" || m["text"] != "Não consigo acessar minha conta" {
			t.Errorf("message = %v", m)
		}
		got := e.mustStatus(e.call("GET", "/api/v1/conversations/"+c["id"].(string), admin.access, nil), 200).json(t)
		if got["id"] != c["id"] {
			t.Errorf("get conversation = %v", got)
		}
		// The inbox is the audit of what arrived: every delivery, the
		// redeliveries too, each with its body as received.
		var n, bodies int
		if err := e.srv.DB.SQL().QueryRow("SELECT COUNT(*), COUNT(DISTINCT body_sha256) FROM webhook_inbox").Scan(&n, &bodies); err != nil || n != 4 || bodies != 2 {
			t.Errorf("inbox = %d rows of %d bodies (%v), want 4 of 2", n, bodies, err)
		}
	})
}

// A burst of one new customer's messages delivered in parallel opens one
// conversation and keeps every message, in the customer's order.
func TestWebhookBurstOfNewCustomer(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		base := time.Now().Add(-time.Hour).Truncate(time.Second)
		var wg sync.WaitGroup
		errs := make(chan string, 20)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := inboundText("5521987654321", "João", fmt.Sprintf("wamid.burst.%02d", i), fmt.Sprintf("msg %02d", i), base.Add(time.Duration(i)*time.Second))
				req, _ := http.NewRequest("POST", e.http.URL+"/api/v1/webhooks/whatsapp", strings.NewReader(string(body)))
				req.Header.Set("X-Hub-Signature-256", sign(body))
				req.Header.Set("Content-Type", "application/json")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				res.Body.Close()
				if res.StatusCode != 200 {
					errs <- fmt.Sprintf("status %d", res.StatusCode)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		convs := e.mustStatus(e.call("GET", "/api/v1/conversations", admin.access, nil), 200).json(t)["data"].([]any)
		if len(convs) != 1 {
			t.Fatalf("conversations = %d, want 1", len(convs))
		}
		c := convs[0].(map[string]any)
		if c["unreadCount"] != float64(20) || c["lastMessage"] != "msg 19" {
			t.Errorf("conversation = %v", c)
		}
		msgs := e.mustStatus(e.call("GET", "/api/v1/messages?limit=100&conversationId="+c["id"].(string), admin.access, nil), 200).json(t)["data"].([]any)
		if len(msgs) != 20 {
			t.Fatalf("messages = %d, want 20", len(msgs))
		}
		for i, m := range msgs {
			if want := fmt.Sprintf("msg %02d", i); m.(map[string]any)["text"] != want {
				t.Errorf("message %d = %v, want %q", i, m.(map[string]any)["text"], want)
			}
		}
	})
}

// Brazil: 55 + DDD + 9 + 8 digits and the older form without the 9 are one
// customer.
func TestWebhookBrazilianNinthDigit(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		now := time.Now().Truncate(time.Second)
		for i, from := range []string{"5511987654321", "551187654321"} {
			body := inboundText(from, "Ana", fmt.Sprintf("wamid.br.%d", i), "oi", now.Add(time.Duration(i)*time.Second))
			e.mustStatus(e.postWebhook(body, sign(body)), 200)
		}
		convs := e.mustStatus(e.call("GET", "/api/v1/conversations", admin.access, nil), 200).json(t)["data"].([]any)
		if len(convs) != 1 || convs[0].(map[string]any)["unreadCount"] != float64(2) {
			t.Errorf("conversations = %v, want one with both messages", convs)
		}
	})
}

func TestWebhookUnknownPhoneNumberIsKept(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		body := envelope("999999999", map[string]any{"messages": []any{map[string]any{
			"from": "5511912345678", "id": "wamid.X", "timestamp": "1764329400", "type": "text", "text": map[string]any{"body": "hi"}}}})
		e.mustStatus(e.postWebhook(body, sign(body)), 200)
		var status string
		if err := e.srv.DB.SQL().QueryRow("SELECT status FROM webhook_inbox").Scan(&status); err != nil || status != helpdesk.InboxUnrouted {
			t.Errorf("inbox status = %q (%v), want unrouted", status, err)
		}
		var n int
		_ = e.srv.DB.SQL().QueryRow("SELECT COUNT(*) FROM messages").Scan(&n)
		if n != 0 {
			t.Errorf("messages = %d, want 0", n)
		}
	})
}

// Statuses move an outbound message forward only, whatever order and how
// many times they arrive; unknown wamids are recorded and ignored.
func TestWebhookStatusesAreMonotonic(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		now := time.Now().Truncate(time.Second)
		in := inboundText("5511912345678", "Maria", "wamid.in", "oi", now)
		e.mustStatus(e.postWebhook(in, sign(in)), 200)
		convID := e.mustStatus(e.call("GET", "/api/v1/conversations", admin.access, nil), 200).json(t)["data"].([]any)[0].(map[string]any)["id"].(string)
		mustInsertOutbound(t, e, convID, "wamid.out")

		for _, st := range []string{"read", "delivered", "sent", "read", "delivered"} {
			b := statusBody("wamid.out", st, now.Add(time.Second))
			e.mustStatus(e.postWebhook(b, sign(b)), 200)
		}
		unknown := statusBody("wamid.unknown", "delivered", now)
		e.mustStatus(e.postWebhook(unknown, sign(unknown)), 200)

		msgs := e.mustStatus(e.call("GET", "/api/v1/messages?conversationId="+convID, admin.access, nil), 200).json(t)["data"].([]any)
		out := msgs[len(msgs)-1].(map[string]any)
		if out["status"] != "read" || out["readAt"] == nil || out["deliveredAt"] == nil || out["sentAt"] == nil {
			t.Errorf("outbound after statuses = %v", out)
		}
		// failed after read does not demote; failed on a fresh send does.
		f := statusBody("wamid.out", "failed", now)
		e.mustStatus(e.postWebhook(f, sign(f)), 200)
		mustInsertOutbound(t, e, convID, "wamid.out2")
		f2 := statusBody("wamid.out2", "failed", now)
		e.mustStatus(e.postWebhook(f2, sign(f2)), 200)
		msgs = e.mustStatus(e.call("GET", "/api/v1/messages?conversationId="+convID, admin.access, nil), 200).json(t)["data"].([]any)
		byWAMID := map[string]map[string]any{}
		for _, m := range msgs {
			mm := m.(map[string]any)
			if id, ok := mm["waMessageId"].(string); ok {
				byWAMID[id] = mm
			}
		}
		if byWAMID["wamid.out"]["status"] != "read" {
			t.Errorf("failed demoted a read message: %v", byWAMID["wamid.out"])
		}
		failed := byWAMID["wamid.out2"]
		errObj, _ := failed["error"].(map[string]any)
		if failed["status"] != "failed" || errObj == nil || errObj["code"] != "131047" || !strings.Contains(errObj["message"].(string), "24 hours") {
			t.Errorf("failed message = %v", failed)
		}
		var known bool
		if err := e.srv.DB.SQL().QueryRow("SELECT known FROM message_status_events WHERE wa_message_id = 'wamid.unknown'").Scan(&known); err != nil || known {
			t.Errorf("unknown status event: known=%v err=%v", known, err)
		}
	})
}

func mustInsertOutbound(t *testing.T, e *testEnv, convID, wamid string) {
	t.Helper()
	mustInsertMessage(t, e, convID, helpdesk.DirectionOutbound, wamid)
}

// mustInsertMessage stores a text message straight through the store and
// returns its id.
func mustInsertMessage(t *testing.T, e *testEnv, convID, direction, wamid string) string {
	t.Helper()
	m := helpdesk.Message{ID: helpdesk.NewID(), ConversationID: convID, Direction: direction, SenderType: helpdesk.SenderAgent,
		Type: "text", Text: "resposta", WAMessageID: wamid, Status: helpdesk.MessageQueued, CreatedAt: helpdesk.Now()}
	if direction == helpdesk.DirectionInbound {
		m.SenderType, m.Status, m.Text = helpdesk.SenderCustomer, helpdesk.MessageReceived, "pergunta"
	}
	if _, err := e.srv.DB.InsertMessage(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m.ID
}

// Every inbound type lands: media keeps its id and type, replies keep the
// quoted message, reactions attach to their message, unknown types are
// kept as unsupported with their payload.
func TestWebhookInboundTypes(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		from := "5511912345678"
		ts := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
		msg := func(i int, typ string, payload map[string]any, extra map[string]any) map[string]any {
			m := map[string]any{"from": from, "id": fmt.Sprintf("wamid.t%02d", i), "timestamp": fmt.Sprint(ts.Add(time.Duration(i) * time.Second).Unix()), "type": typ}
			if payload != nil {
				m[typ] = payload
			}
			for k, v := range extra {
				m[k] = v
			}
			return m
		}
		messages := []any{
			msg(0, "text", map[string]any{"body": "Bom dia"}, nil),
			msg(1, "image", map[string]any{"id": "1001", "mime_type": "image/jpeg", "sha256": "abc", "caption": "foto do erro"}, nil),
			msg(2, "document", map[string]any{"id": "1002", "mime_type": "application/pdf", "sha256": "def", "filename": "boleto.pdf"}, nil),
			msg(3, "audio", map[string]any{"id": "1003", "mime_type": "audio/ogg; codecs=opus", "sha256": "ghi", "voice": true}, nil),
			msg(4, "text", map[string]any{"body": "respondendo"}, map[string]any{"context": map[string]any{"from": from, "id": "wamid.t00"}}),
			msg(5, "reaction", map[string]any{"message_id": "wamid.t01", "emoji": "👍"}, nil),
			msg(6, "location", map[string]any{"latitude": -23.55, "longitude": -46.63, "name": "Loja", "address": "Av. Paulista"}, nil),
			msg(7, "interactive", map[string]any{"type": "button_reply", "button_reply": map[string]any{"id": "opt_1", "title": "Suporte"}}, nil),
			msg(8, "unsupported", nil, map[string]any{"errors": []any{map[string]any{"code": 131051, "title": "Message type unknown"}}}),
			msg(9, "edit", map[string]any{"something": "new"}, nil),
		}
		body := envelope(config.SandboxPhoneNumberID, map[string]any{
			"contacts": []any{map[string]any{"profile": map[string]any{"name": "Maria"}, "wa_id": from}},
			"messages": messages,
		})
		e.mustStatus(e.postWebhook(body, sign(body)), 200)

		convID := e.mustStatus(e.call("GET", "/api/v1/conversations", admin.access, nil), 200).json(t)["data"].([]any)[0].(map[string]any)["id"].(string)
		list := e.mustStatus(e.call("GET", "/api/v1/messages?conversationId="+convID, admin.access, nil), 200).json(t)["data"].([]any)
		if len(list) != len(messages) {
			t.Fatalf("stored %d messages, want %d", len(list), len(messages))
		}
		by := map[string]map[string]any{}
		for _, m := range list {
			mm := m.(map[string]any)
			by[mm["waMessageId"].(string)] = mm
		}
		if m := by["wamid.t01"]; m["type"] != "image" || m["text"] != "foto do erro" || m["media"].(map[string]any)["mimeType"] != "image/jpeg" {
			t.Errorf("image = %v", m)
		}
		if m := by["wamid.t02"]; m["media"].(map[string]any)["fileName"] != "boleto.pdf" {
			t.Errorf("document = %v", m)
		}
		if m := by["wamid.t04"]; m["replyToId"] != by["wamid.t00"]["id"] {
			t.Errorf("reply = %v, want replyToId %v", m["replyToId"], by["wamid.t00"]["id"])
		}
		if m := by["wamid.t05"]; m["type"] != "reaction" || m["replyToId"] != by["wamid.t01"]["id"] {
			t.Errorf("reaction = %v", m)
		}
		if by["wamid.t01"]["reaction"] != "👍" {
			t.Errorf("reacted message = %v", by["wamid.t01"])
		}
		if m := by["wamid.t07"]; m["type"] != "interactive" || m["text"] != "Suporte" {
			t.Errorf("button reply = %v", m)
		}
		for _, id := range []string{"wamid.t08", "wamid.t09"} {
			m := by[id]
			if m["type"] != "unsupported" || m["raw"] == nil {
				t.Errorf("%s = %v, want unsupported with raw", id, m)
			}
		}
		if raw, _ := json.Marshal(by["wamid.t09"]["raw"]); !strings.Contains(string(raw), `"something"`) {
			t.Errorf("raw payload lost: %s", raw)
		}
	})
}

// A customer can type NUL or a lone surrogate (and name themselves so); the
// message is stored cleaned, answered 200, and its redelivery changes
// nothing, instead of a 500 on every one of Meta's retries.
func TestWebhookHostileStrings(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		ts := time.Now().Add(-time.Minute).Truncate(time.Second)
		body := envelope(config.SandboxPhoneNumberID, map[string]any{
			"contacts": []any{map[string]any{"profile": map[string]any{"name": "Ana~NUL~~SUR~"}, "wa_id": "5511912345678"}},
			"messages": []any{
				map[string]any{"from": "5511912345678", "id": "wamid.hostile.1", "timestamp": fmt.Sprint(ts.Unix()), "type": "text",
					"text": map[string]any{"body": "a~NUL~b~SUR~c~LOW~d"}},
				map[string]any{"from": "5511912345678", "id": "wamid.hostile.2", "timestamp": fmt.Sprint(ts.Unix() + 1), "type": "image",
					"image": map[string]any{"id": "9001", "mime_type": "image/jpeg", "caption": "foto~NUL~~SUR~"}},
			},
		})
		body = []byte(strings.NewReplacer("~NUL~", `\u0000`, "~SUR~", `\ud800`, "~LOW~", `\uDC00`).Replace(string(body)))
		if !strings.Contains(string(body), `\u0000`) || !strings.Contains(string(body), `\ud800`) {
			t.Fatalf("body lacks the escapes: %s", body)
		}
		for range 2 {
			e.mustStatus(e.postWebhook(body, sign(body)), 200)
		}
		convs := e.mustStatus(e.call("GET", "/api/v1/conversations", admin.access, nil), 200).json(t)["data"].([]any)
		if len(convs) != 1 {
			t.Fatalf("conversations = %d, want 1", len(convs))
		}
		c := convs[0].(map[string]any)
		if name := c["customer"].(map[string]any)["name"]; name != "Ana\uFFFD" {
			t.Errorf("customer name = %q", name)
		}
		msgs := e.mustStatus(e.call("GET", "/api/v1/messages?conversationId="+c["id"].(string), admin.access, nil), 200).json(t)["data"].([]any)
		if len(msgs) != 2 {
			t.Fatalf("messages = %d, want 2", len(msgs))
		}
		if got := msgs[0].(map[string]any)["text"]; got != "ab\uFFFDc\uFFFDd" {
			t.Errorf("text = %q", got)
		}
		if got := msgs[1].(map[string]any)["text"]; got != "foto\uFFFD" {
			t.Errorf("caption = %q", got)
		}
		if c["unreadCount"] != float64(2) {
			t.Errorf("unread = %v after a redelivery, want 2", c["unreadCount"])
		}
		var stored string
		if err := e.srv.DB.SQL().QueryRow("SELECT body FROM webhook_inbox").Scan(&stored); err != nil || stored != string(body) {
			t.Errorf("inbox body = %q (%v), want the body as received", stored, err)
		}
	})
}

// A webhook arriving while the server shuts down is refused with 503, so
// Meta delivers it again, instead of waiting on a stopped ingester.
func TestWebhookDuringShutdownIs503(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		e.srv.API.Close()
		body := inboundText("5511912345678", "Maria", "wamid.shutdown", "oi", time.Now())
		r := e.mustStatus(e.postWebhook(body, sign(body)), 503)
		if code := r.json(t)["error"].(map[string]any)["code"]; code != helpdesk.CodeUnavailable {
			t.Errorf("code = %v, want %q", code, helpdesk.CodeUnavailable)
		}
		var n int
		if err := e.srv.DB.SQL().QueryRow("SELECT COUNT(*) FROM webhook_inbox").Scan(&n); err != nil || n != 0 {
			t.Errorf("inbox rows = %d (%v), want 0", n, err)
		}
	})
}

// WhatsApp's user_changed_number notice moves the customer to the new
// number: the next message, from the new number, continues the same
// conversation of the same customer.
func TestWebhookUserChangedNumber(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		ts := time.Now().Add(-time.Minute).Truncate(time.Second)
		first := inboundText("5511912345678", "Ana Souza", "wamid.change.1", "oi", ts)
		e.mustStatus(e.postWebhook(first, sign(first)), 200)
		notice := envelope(config.SandboxPhoneNumberID, map[string]any{"messages": []any{map[string]any{
			"from": "5511912345678", "id": "wamid.change.2", "timestamp": fmt.Sprint(ts.Unix() + 1), "type": "system",
			"system": map[string]any{"body": "User Ana Souza changed from 5511912345678 to 5511955554444",
				"wa_id": "5511955554444", "type": "user_changed_number"}}}})
		e.mustStatus(e.postWebhook(notice, sign(notice)), 200)
		next := inboundText("5511955554444", "Ana Souza", "wamid.change.3", "sou eu, número novo", ts.Add(2*time.Second))
		e.mustStatus(e.postWebhook(next, sign(next)), 200)

		convs := e.mustStatus(e.call("GET", "/api/v1/conversations", admin.access, nil), 200).json(t)["data"].([]any)
		if len(convs) != 1 {
			t.Fatalf("conversations = %d, want 1: %v", len(convs), convs)
		}
		c := convs[0].(map[string]any)
		if phone := c["customer"].(map[string]any)["phone"]; phone != "5511955554444" {
			t.Errorf("customer phone = %v, want the new number", phone)
		}
		msgs := e.mustStatus(e.call("GET", "/api/v1/messages?conversationId="+c["id"].(string), admin.access, nil), 200).json(t)["data"].([]any)
		var texts []any
		for _, m := range msgs {
			texts = append(texts, m.(map[string]any)["text"])
		}
		if len(msgs) != 3 || texts[1] != "User Ana Souza changed from 5511912345678 to 5511955554444" || texts[2] != "sou eu, número novo" {
			t.Errorf("messages = %v", texts)
		}
	})
}
