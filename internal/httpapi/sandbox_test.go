package httpapi_test

import (
	"testing"
)

// TestSandboxEndToEnd plays the whole loop with the built-in sandbox: a
// customer writes (a signed webhook), the message is stored, an agent
// replies, the sandbox receives a valid Cloud API request, and the
// statuses it sends back move the reply to read.
func TestSandboxEndToEnd(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		if err := e.srv.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		admin := e.admin()
		health := e.mustStatus(e.call("GET", "/health", "", nil), 200).json(t)
		if health["whatsapp"] != "sandbox" {
			t.Errorf("health = %v", health)
		}
		e.mustStatus(e.call("POST", "/api/v1/sandbox/messages", admin.access,
			map[string]any{"waId": "5511987650000", "name": "Joana", "text": "Meu pedido não chegou"}), 202)

		convs := e.mustStatus(e.call("GET", "/api/v1/conversations", admin.access, nil), 200).json(t)["data"].([]any)
		if len(convs) != 1 {
			t.Fatalf("conversations = %v", convs)
		}
		conv := convs[0].(map[string]any)
		if conv["customer"].(map[string]any)["name"] != "Joana" || conv["lastMessage"] != "Meu pedido não chegou" {
			t.Errorf("conversation = %v", conv)
		}
		reply := e.mustStatus(e.call("POST", "/api/v1/messages", admin.access,
			map[string]any{"conversationId": conv["id"], "text": "Vou verificar agora mesmo."}), 202).json(t)
		read := waitStatus(t, e, admin.access, conv["id"].(string), reply["id"].(string), "read")
		if read["deliveredAt"] == nil || read["readAt"] == nil || read["waMessageId"] == nil {
			t.Errorf("reply after statuses = %v", read)
		}

		phone := e.mustStatus(e.call("GET", "/api/v1/sandbox/messages?waId=5511987650000", admin.access, nil), 200).json(t)["data"].([]any)
		if len(phone) != 2 {
			t.Fatalf("customer's phone shows %v", phone)
		}
		got := phone[1].(map[string]any)
		payload := got["payload"].(map[string]any)
		if got["direction"] != "to_customer" || got["text"] != "Vou verificar agora mesmo." || got["waMessageId"] != read["waMessageId"] ||
			payload["messaging_product"] != "whatsapp" || payload["to"] != "+5511987650000" {
			t.Errorf("customer received %v", got)
		}
		e.mustStatus(e.call("GET", "/api/v1/sandbox/messages?waId=abc", admin.access, nil), 400)
		e.mustStatus(e.call("POST", "/api/v1/sandbox/messages", admin.access, map[string]any{"waId": "123", "text": "x"}), 400)
	})
}

// With a real number configured the sandbox routes do not exist.
func TestSandboxOffWithRealNumber(t *testing.T) {
	g := newGraphFake(t)
	e := newTestEnv(t, storetestOpenSQLite(t), newDeliveryEnv(t, g, nil))
	admin := e.admin()
	e.mustStatus(e.call("GET", "/api/v1/sandbox/messages?waId=5511987650000", admin.access, nil), 404)
	if h := e.mustStatus(e.call("GET", "/health", "", nil), 200).json(t); h["whatsapp"] != "cloud" {
		t.Errorf("health = %v", h)
	}
}
