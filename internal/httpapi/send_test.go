package httpapi_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// customerWrites posts a signed text webhook from waID sent at ts and
// returns the id of the conversation it landed in.
func (e *testEnv) customerWrites(adminToken, waID, wamid, text string, ts time.Time) string {
	e.t.Helper()
	body := inboundText(waID, "Cliente "+waID[len(waID)-4:], wamid, text, ts)
	e.mustStatus(e.postWebhook(body, sign(body)), 200)
	for _, c := range e.mustStatus(e.call("GET", "/api/v1/conversations?limit=100", adminToken, nil), 200).json(e.t)["data"].([]any) {
		cm := c.(map[string]any)
		if cm["customer"].(map[string]any)["phone"] == waID {
			return cm["id"].(string)
		}
	}
	e.t.Fatalf("no conversation for %s", waID)
	return ""
}

func TestSendMessageValidation(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		fresh := e.customerWrites(admin.access, "5511911110001", "wamid.v1", "oi", time.Now())
		stale := e.customerWrites(admin.access, "5511911110002", "wamid.v2", "oi", time.Now().Add(-25*time.Hour))
		other := e.customerWrites(admin.access, "5511911110003", "wamid.v3", "oi", time.Now())
		otherMsg := e.mustStatus(e.call("GET", "/api/v1/messages?conversationId="+other, admin.access, nil), 200).json(t)["data"].([]any)[0].(map[string]any)["id"]

		r := e.mustStatus(e.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": fresh, "text": " Olá! Como posso ajudar? "}), 202)
		m := r.json(t)
		if m["status"] != "queued" || m["direction"] != "outbound" || m["senderType"] != "agent" || m["senderId"] != admin.userID ||
			m["text"] != "Olá! Como posso ajudar?" || m["waMessageId"] != nil {
			t.Errorf("queued message = %v", m)
		}
		conv := e.mustStatus(e.call("GET", "/api/v1/conversations/"+fresh, admin.access, nil), 200).json(t)
		if conv["lastMessage"] != "Olá! Como posso ajudar?" || conv["unreadCount"] != float64(0) {
			t.Errorf("conversation after reply = %v", conv)
		}

		cases := []struct {
			name   string
			body   map[string]any
			status int
			code   string
		}{
			{"outside the 24 h window", map[string]any{"conversationId": stale, "text": "oi"}, 422, helpdesk.CodeOutsideWindow},
			{"empty text", map[string]any{"conversationId": fresh, "text": "  "}, 400, helpdesk.CodeValidation},
			{"text too long", map[string]any{"conversationId": fresh, "text": strings.Repeat("a", 4097)}, 400, helpdesk.CodeValidation},
			{"missing conversation", map[string]any{"text": "oi"}, 400, helpdesk.CodeValidation},
			{"unknown conversation", map[string]any{"conversationId": helpdesk.NewID(), "text": "oi"}, 404, helpdesk.CodeNotFound},
			{"malformed conversation id", map[string]any{"conversationId": "abc", "text": "oi"}, 404, helpdesk.CodeNotFound},
			{"reply to another conversation's message", map[string]any{"conversationId": fresh, "text": "oi", "replyToId": otherMsg}, 400, helpdesk.CodeValidation},
			{"text and template", map[string]any{"conversationId": fresh, "text": "oi", "template": map[string]any{"name": "x", "language": "pt_BR"}}, 400, helpdesk.CodeValidation},
			{"template without language", map[string]any{"conversationId": fresh, "template": map[string]any{"name": "x"}}, 400, helpdesk.CodeValidation},
			{"template components not an array", map[string]any{"conversationId": fresh, "template": map[string]any{"name": "x", "language": "pt_BR", "components": map[string]any{}}}, 400, helpdesk.CodeValidation},
			{"template components a string", map[string]any{"conversationId": fresh, "template": map[string]any{"name": "x", "language": "pt_BR", "components": "header"}}, 400, helpdesk.CodeValidation},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.call("POST", "/api/v1/messages", admin.access, c.body)
				if r.status != c.status {
					t.Fatalf("status %d, want %d: %s", r.status, c.status, r.raw)
				}
				if r.errCode(t) != c.code {
					t.Errorf("code %s, want %s: %s", r.errCode(t), c.code, r.raw)
				}
			})
		}
		// Templates go outside the window.
		e.mustStatus(e.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": stale,
			"template": map[string]any{"name": "retomada", "language": "pt_BR", "components": []any{}}}), 202)

		// Only the refused requests' messages are missing.
		count := func(conv string) int {
			return len(e.mustStatus(e.call("GET", "/api/v1/messages?conversationId="+conv, admin.access, nil), 200).json(t)["data"].([]any))
		}
		if n := count(fresh); n != 2 {
			t.Errorf("fresh conversation has %d messages, want 2", n)
		}
		if n := count(stale); n != 2 {
			t.Errorf("stale conversation has %d messages, want 2", n)
		}
	})
}

// The 24-hour window is the number's: a customer who wrote to one number a
// minute ago is still outside the window of another number they last
// wrote to yesterday, as Meta counts it (131047 "since the customer last
// replied to this number").
func TestWindowIsPerNumber(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		second := e.mustStatus(e.call("POST", "/api/v1/channels", admin.access, map[string]any{
			"name": "Financeiro", "phoneNumberId": "300000000000009", "accessToken": "EAAG-token", "appSecret": "second-app-secret",
		}), 201).json(t)["id"].(string)
		const waID = "5511977770000"
		body := envelope("300000000000009", map[string]any{
			"contacts": []any{map[string]any{"profile": map[string]any{"name": "Carla"}, "wa_id": waID}},
			"messages": []any{map[string]any{"from": waID, "id": "wamid.yesterday", "timestamp": fmt.Sprint(time.Now().Add(-25 * time.Hour).Unix()),
				"type": "text", "text": map[string]any{"body": "boleto"}}},
		})
		m := hmac.New(sha256.New, []byte("second-app-secret"))
		m.Write(body)
		e.mustStatus(e.postWebhook(body, "sha256="+hex.EncodeToString(m.Sum(nil))), 200)
		convs := e.mustStatus(e.call("GET", "/api/v1/conversations?channelId="+second, admin.access, nil), 200).json(t)["data"].([]any)
		if len(convs) != 1 {
			t.Fatalf("conversations on the second number = %v", convs)
		}
		onSecond := convs[0].(map[string]any)["id"].(string)
		onFirst := e.customerWrites(admin.access, waID, "wamid.now", "oi", time.Now())

		r := e.mustStatus(e.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": onSecond, "text": "oi"}), 422)
		if r.errCode(t) != helpdesk.CodeOutsideWindow {
			t.Errorf("reply on the number written to yesterday: %s", r.raw)
		}
		e.mustStatus(e.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": onFirst, "text": "oi"}), 202)
	})
}

// Agents see only their departments' queues and what is assigned to them;
// everything else answers 404, in lists and in detail.
func TestConversationVisibility(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		vendas, _ := e.newUser(admin.access, helpdesk.RoleAgent, "Vendas")
		suporte, _ := e.newUser(admin.access, helpdesk.RoleAgent, "Suporte")
		supervisor, _ := e.newUser(admin.access, helpdesk.RoleSupervisor)
		inVendas := e.customerWrites(admin.access, "5511922220001", "wamid.vis1", "quero comprar", time.Now())
		noDept := e.customerWrites(admin.access, "5511922220002", "wamid.vis2", "oi", time.Now())
		if _, err := e.srv.DB.SQL().Exec("UPDATE conversations SET department_id = $1 WHERE id = $2", e.depts["Vendas"], inVendas); err != nil {
			t.Fatal(err)
		}
		ids := func(token string) []string {
			var out []string
			for _, c := range e.mustStatus(e.call("GET", "/api/v1/conversations", token, nil), 200).json(t)["data"].([]any) {
				out = append(out, c.(map[string]any)["id"].(string))
			}
			return out
		}
		if got := ids(vendas.access); len(got) != 2 {
			t.Errorf("Vendas agent sees %v, want both", got)
		}
		if got := ids(suporte.access); len(got) != 1 || got[0] != noDept {
			t.Errorf("Suporte agent sees %v, want only the one without department", got)
		}
		if got := ids(supervisor.access); len(got) != 2 {
			t.Errorf("supervisor sees %v", got)
		}
		for _, path := range []string{"/api/v1/conversations/" + inVendas, "/api/v1/messages?conversationId=" + inVendas} {
			e.mustStatus(e.call("GET", path, suporte.access, nil), 404)
			e.mustStatus(e.call("GET", path, vendas.access, nil), 200)
		}
		e.mustStatus(e.call("POST", "/api/v1/messages", suporte.access, map[string]any{"conversationId": inVendas, "text": "oi"}), 404)
		e.mustStatus(e.call("POST", "/api/v1/messages", vendas.access, map[string]any{"conversationId": inVendas, "text": "oi"}), 202)

		// Assigned to the Vendas agent: other Vendas agents no longer see it,
		// and may not reply.
		if _, err := e.srv.DB.SQL().Exec("UPDATE conversations SET assignee_id = $1, status = 'open' WHERE id = $2", vendas.userID, inVendas); err != nil {
			t.Fatal(err)
		}
		colleague, _ := e.newUser(admin.access, helpdesk.RoleAgent, "Vendas")
		e.mustStatus(e.call("GET", "/api/v1/conversations/"+inVendas, colleague.access, nil), 404)
		e.mustStatus(e.call("GET", "/api/v1/conversations/"+inVendas, vendas.access, nil), 200)
		e.mustStatus(e.call("POST", "/api/v1/messages", supervisor.access, map[string]any{"conversationId": inVendas, "text": "supervisor aqui"}), 202)

		// Closed conversations take no replies.
		if _, err := e.srv.DB.SQL().Exec("UPDATE conversations SET status = 'closed' WHERE id = $1", noDept); err != nil {
			t.Fatal(err)
		}
		r := e.mustStatus(e.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": noDept, "text": "oi"}), 422)
		if r.errCode(t) != helpdesk.CodeConversationClosed {
			t.Errorf("code %s", r.errCode(t))
		}
		// Pagination of conversations and a foreign cursor.
		e.mustStatus(e.call("GET", "/api/v1/conversations?cursor=bm9wZQ", admin.access, nil), 400)
		e.mustStatus(e.call("GET", "/api/v1/conversations?status=archived", admin.access, nil), 400)
		closed := e.mustStatus(e.call("GET", "/api/v1/conversations?status=closed", admin.access, nil), 200).json(t)["data"].([]any)
		if len(closed) != 1 {
			t.Errorf("status=closed found %d", len(closed))
		}
		all := e.mustStatus(e.call("GET", "/api/v1/conversations", admin.access, nil), 200).json(t)["data"].([]any)
		if cleared := e.mustStatus(e.call("GET", "/api/v1/conversations?status=", admin.access, nil), 200).json(t)["data"].([]any); len(cleared) != len(all) {
			t.Errorf("status= (a cleared filter) found %d, want all %d", len(cleared), len(all))
		}
		e.mustStatus(e.call("GET", "/api/v1/messages", admin.access, nil), 400)
	})
}

func TestMarkRead(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		now := time.Now().Add(-time.Minute).Truncate(time.Second)
		conv := e.customerWrites(admin.access, "5511933330001", "wamid.r1", "um", now)
		e.customerWrites(admin.access, "5511933330001", "wamid.r2", "dois", now.Add(time.Second))
		e.customerWrites(admin.access, "5511933330001", "wamid.r3", "três", now.Add(2*time.Second))
		msgs := e.mustStatus(e.call("GET", "/api/v1/messages?conversationId="+conv, admin.access, nil), 200).json(t)["data"].([]any)
		second := msgs[1].(map[string]any)["id"].(string)

		m := e.mustStatus(e.call("PATCH", "/api/v1/messages/"+second+"/read", admin.access, nil), 200).json(t)
		if m["readAt"] == nil {
			t.Errorf("readAt not set: %v", m)
		}
		c := e.mustStatus(e.call("GET", "/api/v1/conversations/"+conv, admin.access, nil), 200).json(t)
		if c["unreadCount"] != float64(1) {
			t.Errorf("unreadCount = %v, want 1 (the third is still unread)", c["unreadCount"])
		}
		var receipts int
		if err := e.srv.DB.SQL().QueryRow("SELECT COUNT(*) FROM river_job WHERE kind = 'whatsapp_read_receipt'").Scan(&receipts); err != nil || receipts != 1 {
			t.Errorf("read receipt jobs = %d (%v), want 1", receipts, err)
		}
		// Again: nothing new to mark, no second receipt.
		e.mustStatus(e.call("PATCH", "/api/v1/messages/"+second+"/read", admin.access, nil), 200)
		_ = e.srv.DB.SQL().QueryRow("SELECT COUNT(*) FROM river_job WHERE kind = 'whatsapp_read_receipt'").Scan(&receipts)
		if receipts != 1 {
			t.Errorf("read receipt jobs after repeat = %d, want 1", receipts)
		}
		e.mustStatus(e.call("PATCH", "/api/v1/messages/"+helpdesk.NewID()+"/read", admin.access, nil), 404)
		reply := e.mustStatus(e.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": conv, "text": "oi"}), 202).json(t)
		e.mustStatus(e.call("PATCH", "/api/v1/messages/"+reply["id"].(string)+"/read", admin.access, nil), 422)

		// The reply marked the third message read, so it sent the customer
		// the receipt for it too: a PATCH now has nothing left to mark.
		var third string
		for _, m := range msgs {
			if m := m.(map[string]any); m["text"] == "três" {
				third = m["id"].(string)
			}
		}
		var args []string
		rows, err := e.srv.DB.SQL().Query("SELECT args FROM river_job WHERE kind = 'whatsapp_read_receipt' ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var a string
			if err := rows.Scan(&a); err != nil {
				t.Fatal(err)
			}
			args = append(args, a)
		}
		if len(args) != 2 || !strings.Contains(args[1], third) {
			t.Errorf("read receipt jobs after the reply = %v, want a second one for the third message %s", args, third)
		}
		// A second reply marks nothing new: no further receipt.
		e.mustStatus(e.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": conv, "text": "mais uma"}), 202)
		if err := e.srv.DB.SQL().QueryRow("SELECT COUNT(*) FROM river_job WHERE kind = 'whatsapp_read_receipt'").Scan(&receipts); err != nil || receipts != 2 {
			t.Errorf("read receipt jobs after a second reply = %d (%v), want 2", receipts, err)
		}
	})
}

func TestChannels(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		r := e.mustStatus(e.call("POST", "/api/v1/channels", admin.access, map[string]any{
			"name": "Financeiro", "phoneNumberId": "300000000000001", "displayPhoneNumber": "+55 11 4000-1111",
			"accessToken": "EAAG-secret-token", "appSecret": "second-app-secret", "defaultDepartmentId": e.depts["Financeiro"],
		}), 201)
		ch := r.json(t)
		if ch["hasAccessToken"] != true || ch["hasAppSecret"] != true || ch["defaultDepartmentId"] != e.depts["Financeiro"] || ch["status"] != "active" {
			t.Errorf("created channel = %v", ch)
		}
		if strings.Contains(string(r.raw), "EAAG-secret-token") || strings.Contains(string(r.raw), "second-app-secret") {
			t.Errorf("credentials leaked: %s", r.raw)
		}
		e.mustStatus(e.call("POST", "/api/v1/channels", admin.access, map[string]any{
			"name": "Outro", "phoneNumberId": "300000000000001", "accessToken": "x", "appSecret": "y"}), 409)
		for name, body := range map[string]map[string]any{
			"missing secrets":   {"name": "X", "phoneNumberId": "300000000000002"},
			"bad number id":     {"name": "X", "phoneNumberId": "+55 11", "accessToken": "t", "appSecret": "s"},
			"unknown dept":      {"name": "X", "phoneNumberId": "300000000000003", "accessToken": "t", "appSecret": "s", "defaultDepartmentId": helpdesk.NewID()},
			"pace out of range": {"name": "X", "phoneNumberId": "300000000000004", "accessToken": "t", "appSecret": "s", "messagesPerSecond": 0},
		} {
			if r := e.call("POST", "/api/v1/channels", admin.access, body); r.status != 400 {
				t.Errorf("%s: status %d: %s", name, r.status, r.raw)
			}
		}

		// Its webhooks are signed with its own app secret and land in its
		// default department.
		body := envelope("300000000000001", map[string]any{
			"contacts": []any{map[string]any{"profile": map[string]any{"name": "Carlos"}, "wa_id": "5511966660000"}},
			"messages": []any{map[string]any{"from": "5511966660000", "id": "wamid.ch2", "timestamp": fmt.Sprint(time.Now().Unix()),
				"type": "text", "text": map[string]any{"body": "segunda via do boleto"}}},
		})
		m := hmac.New(sha256.New, []byte("second-app-secret"))
		m.Write(body)
		e.mustStatus(e.postWebhook(body, "sha256="+hex.EncodeToString(m.Sum(nil))), 200)
		convs := e.mustStatus(e.call("GET", "/api/v1/conversations", admin.access, nil), 200).json(t)["data"].([]any)
		if len(convs) != 1 || convs[0].(map[string]any)["channelId"] != ch["id"] || convs[0].(map[string]any)["departmentId"] != e.depts["Financeiro"] {
			t.Errorf("conversation on the new number = %v", convs)
		}

		// An unhealthy channel comes back with a new token.
		id := ch["id"].(string)
		if err := e.srv.DB.SetChannelStatus(t.Context(), id, helpdesk.ChannelUnhealthy, "token expired", helpdesk.Now()); err != nil {
			t.Fatal(err)
		}
		upd := e.mustStatus(e.call("PATCH", "/api/v1/channels/"+id, admin.access, map[string]any{"accessToken": "EAAG-new"}), 200).json(t)
		if upd["status"] != "active" || upd["statusReason"] != "" {
			t.Errorf("after new token = %v", upd)
		}
		e.mustStatus(e.call("PATCH", "/api/v1/channels/"+id, admin.access, map[string]any{"phoneNumberId": "399"}), 400)
		e.mustStatus(e.call("PATCH", "/api/v1/channels/"+helpdesk.NewID(), admin.access, map[string]any{"name": "x"}), 404)
		list := e.mustStatus(e.call("GET", "/api/v1/channels", admin.access, nil), 200).json(t)["data"].([]any)
		if len(list) != 2 {
			t.Errorf("channels = %d, want 2", len(list))
		}
	})
}

// A survey answer is a message from the customer to the number: it opens
// the 24-hour window again, as any message does for Meta, even though it
// lands in the closed conversation that asked for it. An agent who reopens
// that conversation to follow a bad rating up may reply free-form.
func TestSurveyAnswerOpensWindow(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		const waID = "5511977771111"
		conv := e.customerWrites(admin.access, waID, "wamid.ajuda", "preciso de ajuda", time.Now().Add(-25*time.Hour))
		asked := helpdesk.Now().Add(-time.Hour)
		if err := e.srv.DB.SetConversationState(t.Context(), conv, helpdesk.ConversationState{Status: helpdesk.StatusClosed, ClosedAt: &asked}, asked); err != nil {
			t.Fatal(err)
		}
		if err := e.srv.DB.MarkCSATRequested(t.Context(), conv, asked); err != nil {
			t.Fatal(err)
		}
		body := inboundText(waID, "Cliente 1111", "wamid.nota", "2 - demorou muito", time.Now())
		e.mustStatus(e.postWebhook(body, sign(body)), 200)
		got := e.mustStatus(e.call("GET", "/api/v1/conversations/"+conv, admin.access, nil), 200).json(t)
		if got["csatScore"] != 2.0 || got["status"] != "closed" {
			t.Fatalf("the answer did not land as the survey's: %v", got)
		}
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+conv+"/reopen", admin.access, nil), 200)
		r := e.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": conv, "text": "Sinto muito pela demora, posso ajudar?"})
		if r.status != 202 {
			t.Errorf("reply a minute after the customer's survey answer: %d %s", r.status, r.raw)
		}
	})
}
