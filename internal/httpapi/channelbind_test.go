package httpapi_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/config"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

func signWith(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func textTo(phoneNumberID, from, wamid, text string) []byte {
	return envelope(phoneNumberID, map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]any{"name": "Rita"}, "wa_id": from}},
		"messages": []any{map[string]any{"from": from, "id": wamid, "timestamp": fmt.Sprint(time.Now().Unix()),
			"type": "text", "text": map[string]any{"body": text}}},
	})
}

// TestWebhookSignatureIsBoundToTheNumber: a body is only accepted for the
// numbers of the app whose secret signed it, so holding one channel's
// secret does not let anyone write into another channel; a disabled
// channel's secret signs nothing and its messages wait, unrouted.
func TestWebhookSignatureIsBoundToTheNumber(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		const other = "300000000000010"
		ch := e.mustStatus(e.call("POST", "/api/v1/channels", admin.access, map[string]any{
			"name": "Filial", "phoneNumberId": other, "accessToken": "EAAG-filial", "appSecret": "filial-app-secret",
		}), 201).json(t)
		messages := func() int {
			var n int
			if err := e.srv.DB.SQL().QueryRow("SELECT COUNT(*) FROM messages").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		forged := textTo(config.SandboxPhoneNumberID, "5511911110000", "wamid.forged1", "mande o PIX para esta chave")
		if r := e.postWebhook(forged, signWith("filial-app-secret", forged)); r.status != 401 || r.errCode(t) != "unauthorized" {
			t.Errorf("main number signed with the branch's secret: %d %s", r.status, r.raw)
		}
		forged = textTo(other, "5511911110000", "wamid.forged2", "oi")
		if r := e.postWebhook(forged, sign(forged)); r.status != 401 {
			t.Errorf("branch number signed with the main app's secret: %d %s", r.status, r.raw)
		}
		if n := messages(); n != 0 {
			t.Fatalf("forged webhooks stored %d messages", n)
		}
		own := textTo(other, "5511911110000", "wamid.own1", "bom dia")
		e.mustStatus(e.postWebhook(own, signWith("filial-app-secret", own)), 200)
		if n := messages(); n != 1 {
			t.Fatalf("a correctly signed webhook stored %d messages, want 1", n)
		}

		// Disabled: its secret no longer verifies anything.
		e.mustStatus(e.call("PATCH", "/api/v1/channels/"+ch["id"].(string), admin.access, map[string]any{"status": "disabled"}), 200)
		late := textTo(other, "5511911110000", "wamid.own2", "ainda ai?")
		if r := e.postWebhook(late, signWith("filial-app-secret", late)); r.status != 401 {
			t.Errorf("webhook signed by a disabled channel: %d %s", r.status, r.raw)
		}
		if n := messages(); n != 1 {
			t.Errorf("messages after a disabled channel's webhook = %d, want 1", n)
		}
	})
}

// TestDisabledChannel: a disabled number's webhooks (signed by the app's
// secret) are kept in the inbox but open nothing, and replies through it
// are refused with 422 instead of failing later at Meta.
func TestDisabledChannel(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		first := inboundText("5511922220000", "Bia", "wamid.dis1", "preciso de ajuda", time.Now())
		e.mustStatus(e.postWebhook(first, sign(first)), 200)
		convs := e.mustStatus(e.call("GET", "/api/v1/conversations", admin.access, nil), 200).json(t)["data"].([]any)
		if len(convs) != 1 {
			t.Fatalf("conversations = %d", len(convs))
		}
		convID := convs[0].(map[string]any)["id"].(string)
		sb, err := e.srv.DB.GetChannelByPhoneNumberID(t.Context(), config.SandboxPhoneNumberID)
		if err != nil {
			t.Fatal(err)
		}
		e.mustStatus(e.call("PATCH", "/api/v1/channels/"+sb.ID, admin.access, map[string]any{"status": "disabled"}), 200)

		r := e.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": convID, "text": "Olá!"})
		if r.status != http.StatusUnprocessableEntity || r.errCode(t) != helpdesk.CodeChannelDisabled {
			t.Errorf("reply through a disabled number: %d %s", r.status, r.raw)
		}
		next := inboundText("5511922220000", "Bia", "wamid.dis2", "alô?", time.Now())
		e.mustStatus(e.postWebhook(next, sign(next)), 200)
		var n int
		if err := e.srv.DB.SQL().QueryRow("SELECT COUNT(*) FROM messages").Scan(&n); err != nil || n != 1 {
			t.Errorf("messages = %d (%v), want 1: a disabled number routes nothing", n, err)
		}
		if err := e.srv.DB.SQL().QueryRow("SELECT COUNT(*) FROM webhook_inbox WHERE status = $1", helpdesk.InboxUnrouted).Scan(&n); err != nil || n != 1 {
			t.Errorf("unrouted inbox rows = %d (%v), want 1", n, err)
		}
	})
}

// TestConnectingOneNumberTwiceAtOnce: the unique number decides between
// simultaneous admins; exactly one gets 201, the rest 409.
func TestConnectingOneNumberTwiceAtOnce(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		const n = 8
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				statuses[i] = e.call("POST", "/api/v1/channels", admin.access, map[string]any{
					"name": fmt.Sprintf("Loja %d", i), "phoneNumberId": "300000000000020",
					"accessToken": fmt.Sprintf("EAAG-%d", i), "appSecret": fmt.Sprintf("secret-%d", i),
				}).status
			})
		}
		wg.Wait()
		created, conflicts := 0, 0
		for _, s := range statuses {
			switch s {
			case 201:
				created++
			case 409:
				conflicts++
			}
		}
		if created != 1 || conflicts != n-1 {
			t.Errorf("statuses = %v, want one 201 and %d 409s", statuses, n-1)
		}
	})
}
