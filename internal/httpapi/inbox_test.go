package httpapi_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/config"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

func mustInsertInboxEntry(t *testing.T, e *testEnv, body []byte, status string) string {
	t.Helper()
	sum := sha256.Sum256(body)
	entry := helpdesk.InboxEntry{ID: helpdesk.NewID(), BodySHA256: hex.EncodeToString(sum[:]), Body: body, Status: status, ReceivedAt: helpdesk.Now()}
	if err := e.srv.DB.InsertInboxEntries(t.Context(), []helpdesk.InboxEntry{entry}); err != nil {
		t.Fatal(err)
	}
	return entry.ID
}

// storedTimes counts the messages stored under wamid.
func storedTimes(t *testing.T, e *testEnv, wamid string) int {
	t.Helper()
	var n int
	if err := e.srv.DB.SQL().QueryRow("SELECT COUNT(*) FROM messages WHERE wa_message_id = $1", wamid).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// awaitConversations polls the channel's conversations until there are
// want of them (the replay runs in a job).
func awaitConversations(t *testing.T, e *testEnv, token, channelID string, want int) []any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		convs := e.mustStatus(e.call("GET", "/api/v1/conversations?channelId="+channelID, token, nil), 200).json(t)["data"].([]any)
		if len(convs) == want {
			return convs
		}
		if time.Now().After(deadline) {
			t.Fatalf("channel %s has %d conversations after 15 s, want %d", channelID, len(convs), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func receivedAt(t *testing.T, item map[string]any) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, item["receivedAt"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func inboxList(t *testing.T, e *testEnv, token, query string) ([]map[string]any, any) {
	t.Helper()
	m := e.mustStatus(e.call("GET", "/api/v1/webhooks/inbox"+query, token, nil), 200).json(t)
	var out []map[string]any
	for _, it := range m["data"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out, m["nextCursor"]
}

// TestInboxReplayedWhenChannelConnected: a customer who wrote to a number
// before it was connected reaches the agents once an admin connects it,
// exactly once, however often the entry is replayed afterwards.
func TestInboxReplayedWhenChannelConnected(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		if err := e.srv.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		admin := e.admin()
		const later = "300000000000020"
		body := textTo(later, "5511933330000", "wamid.early1", "alguém aí?")
		e.mustStatus(e.postWebhook(body, sign(body)), 200)
		items, _ := inboxList(t, e, admin.access, "?status=unrouted")
		if len(items) != 1 || fmt.Sprint(items[0]["phoneNumberIds"]) != "["+later+"]" || items[0]["body"] != nil || items[0]["bodySha256"] == "" {
			t.Fatalf("unrouted entries = %v", items)
		}
		id := items[0]["id"].(string)

		ch := e.mustStatus(e.call("POST", "/api/v1/channels", admin.access, map[string]any{
			"name": "Filial", "phoneNumberId": later, "accessToken": "EAAG-filial", "appSecret": testAppSecret,
		}), 201).json(t)
		awaitConversations(t, e, admin.access, ch["id"].(string), 1)
		if n := storedTimes(t, e, "wamid.early1"); n != 1 {
			t.Fatalf("message stored %d times, want 1", n)
		}
		entry := e.mustStatus(e.call("GET", "/api/v1/webhooks/inbox/"+id, admin.access, nil), 200).json(t)
		if entry["status"] != helpdesk.InboxProcessed || entry["note"] == "" {
			t.Errorf("entry after the automatic replay = %v", entry)
		}
		if b, ok := entry["body"].(map[string]any); !ok || b["object"] != "whatsapp_business_account" {
			t.Errorf("body = %#v, want the webhook as a JSON object", entry["body"])
		}

		// Replaying again stores nothing twice.
		r := e.mustStatus(e.call("POST", "/api/v1/webhooks/inbox/"+id+"/replay", admin.access, nil), 200).json(t)
		if r["messagesStored"] != float64(0) || r["duplicates"] != float64(1) || r["status"] != helpdesk.InboxProcessed || r["previousStatus"] != helpdesk.InboxProcessed {
			t.Errorf("second replay = %v", r)
		}
		all := e.mustStatus(e.call("POST", "/api/v1/webhooks/inbox/replay", admin.access, nil), 200).json(t)
		if all["entries"] != float64(0) {
			t.Errorf("bulk replay with nothing unrouted = %v", all)
		}
		if n := storedTimes(t, e, "wamid.early1"); n != 1 {
			t.Errorf("message stored %d times after the replays, want 1", n)
		}
		// One inbox row: replays update the entry instead of adding rows.
		if items, _ := inboxList(t, e, admin.access, ""); len(items) != 1 {
			t.Errorf("inbox rows = %d, want 1", len(items))
		}
		logs := e.mustStatus(e.call("GET", "/api/v1/audit-logs?action=webhook_inbox.replay&entityId="+id, admin.access, nil), 200).json(t)["data"].([]any)
		if len(logs) != 2 {
			t.Fatalf("replay audit rows = %d, want 2 (automatic, manual)", len(logs))
		}
		auto := logs[1].(map[string]any)
		if auto["actorId"] != admin.userID || auto["details"].(map[string]any)["automatic"] != true {
			t.Errorf("automatic replay audit row = %v", auto)
		}
	})
}

// TestInboxReplayedWhenChannelEnabled: a disabled number's webhooks wait,
// unrouted, and reach the agents when the number is enabled again.
func TestInboxReplayedWhenChannelEnabled(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		if err := e.srv.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		admin := e.admin()
		const number = "300000000000030"
		ch := e.mustStatus(e.call("POST", "/api/v1/channels", admin.access, map[string]any{
			"name": "Loja", "phoneNumberId": number, "accessToken": "EAAG-loja", "appSecret": testAppSecret, "status": "disabled",
		}), 201).json(t)
		chID := ch["id"].(string)
		for i, text := range []string{"primeira", "segunda"} {
			body := textTo(number, "5511944440000", fmt.Sprintf("wamid.wait%d", i), text)
			e.mustStatus(e.postWebhook(body, sign(body)), 200)
		}
		if items, _ := inboxList(t, e, admin.access, "?status=unrouted&phoneNumberId="+number); len(items) != 2 {
			t.Fatalf("unrouted entries of the disabled number = %d, want 2", len(items))
		}
		time.Sleep(300 * time.Millisecond) // a replay job would have had time to run
		if n := storedTimes(t, e, "wamid.wait0"); n != 0 {
			t.Fatalf("a disabled number's message was stored")
		}
		e.mustStatus(e.call("PATCH", "/api/v1/channels/"+chID, admin.access, map[string]any{"status": "active"}), 200)
		convs := awaitConversations(t, e, admin.access, chID, 1)
		deadline := time.Now().Add(10 * time.Second)
		for storedTimes(t, e, "wamid.wait1") != 1 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		msgs := e.mustStatus(e.call("GET", "/api/v1/messages?conversationId="+convs[0].(map[string]any)["id"].(string), admin.access, nil), 200).json(t)["data"].([]any)
		if len(msgs) != 2 || msgs[0].(map[string]any)["text"] != "primeira" || msgs[1].(map[string]any)["text"] != "segunda" {
			t.Errorf("replayed messages = %v, want both in order", msgs)
		}
		if items, _ := inboxList(t, e, admin.access, "?status=unrouted"); len(items) != 0 {
			t.Errorf("unrouted entries left = %d", len(items))
		}
	})
}

// TestInboxAPIChecks: admins only, bad input answers 400 with the API's
// error shape, an unknown entry 404, and the list pages through every
// entry once, newest first.
func TestInboxAPIChecks(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		agent, _ := e.newUser(admin.access, helpdesk.RoleAgent, "Suporte")
		supervisor, _ := e.newUser(admin.access, helpdesk.RoleSupervisor)
		const other = "300000000000040"
		var wantIDs []string
		for i := range 5 {
			body := inboundText("5511955550000", "Ana", fmt.Sprintf("wamid.page%d", i), "oi", time.Now())
			if i%2 == 0 {
				body = textTo(other, "5511955550000", fmt.Sprintf("wamid.page%d", i), "oi")
			}
			e.mustStatus(e.postWebhook(body, sign(body)), 200)
		}
		var rows []map[string]any
		cursor := ""
		for page := 0; page < 5; page++ {
			items, next := inboxList(t, e, admin.access, "?limit=2"+cursor)
			rows = append(rows, items...)
			if next == nil {
				if page != 2 || len(items) != 1 {
					t.Errorf("last page %d has %d items", page, len(items))
				}
				break
			}
			cursor = "&cursor=" + url.QueryEscape(next.(string))
		}
		seen := map[string]bool{}
		for i, r := range rows {
			id := r["id"].(string)
			if seen[id] {
				t.Errorf("entry %s listed twice", id)
			}
			seen[id] = true
			wantIDs = append(wantIDs, id)
			if i > 0 && receivedAt(t, r).After(receivedAt(t, rows[i-1])) {
				t.Errorf("not newest first: %v after %v", r["receivedAt"], rows[i-1]["receivedAt"])
			}
		}
		if len(seen) != 5 {
			t.Errorf("pages listed %d entries, want 5", len(seen))
		}
		p1, next := inboxList(t, e, admin.access, "?limit=2&phoneNumberId="+other)
		p2, last := inboxList(t, e, admin.access, "?limit=2&phoneNumberId="+other+"&cursor="+url.QueryEscape(fmt.Sprint(next)))
		if len(p1) != 2 || len(p2) != 1 || last != nil || p2[0]["status"] != helpdesk.InboxUnrouted {
			t.Errorf("by number: %d then %d entries (next %v)", len(p1), len(p2), last)
		}
		if items, _ := inboxList(t, e, admin.access, "?status=processed&phoneNumberId="+config.SandboxPhoneNumberID); len(items) != 2 {
			t.Errorf("processed entries of the sandbox number = %d, want 2", len(items))
		}

		id := wantIDs[0]
		for _, who := range []session{agent, supervisor} {
			for _, c := range []struct{ method, path string }{
				{"GET", "/api/v1/webhooks/inbox"}, {"GET", "/api/v1/webhooks/inbox/" + id},
				{"POST", "/api/v1/webhooks/inbox/" + id + "/replay"}, {"POST", "/api/v1/webhooks/inbox/replay"},
			} {
				if r := e.call(c.method, c.path, who.access, nil); r.status != 403 || r.errCode(t) != helpdesk.CodeForbidden {
					t.Errorf("%s %s as a non-admin: %d %s", c.method, c.path, r.status, r.raw)
				}
			}
		}
		badCursor := base64.RawURLEncoding.EncodeToString([]byte(`{"t":"2026-01-01T00:00:00Z","id":"x"}`))
		for _, c := range []struct {
			method, path string
			body         any
			field        string
		}{
			{"GET", "/api/v1/webhooks/inbox?status=done", nil, "status"},
			{"GET", "/api/v1/webhooks/inbox?limit=0", nil, "limit"},
			{"GET", "/api/v1/webhooks/inbox?limit=101", nil, "limit"},
			{"GET", "/api/v1/webhooks/inbox?limit=ten", nil, "limit"},
			{"GET", "/api/v1/webhooks/inbox?cursor=%21%21", nil, "cursor"},
			{"GET", "/api/v1/webhooks/inbox?cursor=" + badCursor, nil, "cursor"},
			{"GET", "/api/v1/webhooks/inbox?phoneNumberId=12ab", nil, "phoneNumberId"},
			{"GET", "/api/v1/webhooks/inbox/not-an-id", nil, "id"},
			{"POST", "/api/v1/webhooks/inbox/not-an-id/replay", nil, "id"},
			{"POST", "/api/v1/webhooks/inbox/replay", map[string]any{"status": "done"}, "status"},
			{"POST", "/api/v1/webhooks/inbox/replay", map[string]any{"status": ""}, "status"},
			{"POST", "/api/v1/webhooks/inbox/replay", map[string]any{"phoneNumberId": "abc"}, "phoneNumberId"},
			{"POST", "/api/v1/webhooks/inbox/replay", map[string]any{"since": "yesterday"}, "since"},
		} {
			r := e.call(c.method, c.path, admin.access, c.body)
			if r.status != 400 || r.errCode(t) != helpdesk.CodeValidation || r.errFields(t)[c.field] == nil {
				t.Errorf("%s %s %v: %d %s, want 400 on %s", c.method, c.path, c.body, r.status, r.raw, c.field)
			}
		}
		if r := e.call("GET", "/api/v1/webhooks/inbox/replay", admin.access, nil); r.status != 400 && r.status != 405 {
			t.Errorf("GET of the bulk replay route: %d %s", r.status, r.raw)
		}
		if r := e.call("POST", "/api/v1/webhooks/inbox/replay", admin.access, "{"); r.status != 400 {
			t.Errorf("malformed JSON: %d %s", r.status, r.raw)
		}
		unknown := helpdesk.NewID()
		for _, c := range []struct{ method, path string }{
			{"GET", "/api/v1/webhooks/inbox/" + unknown}, {"POST", "/api/v1/webhooks/inbox/" + unknown + "/replay"},
		} {
			if r := e.call(c.method, c.path, admin.access, nil); r.status != 404 || r.errCode(t) != helpdesk.CodeNotFound {
				t.Errorf("%s %s: %d %s, want 404", c.method, c.path, r.status, r.raw)
			}
		}
		// A body that is not JSON is shown as a string, and cannot be replayed.
		odd := mustInsertInboxEntry(t, e, []byte("not json"), helpdesk.InboxUnrouted)
		if m := e.mustStatus(e.call("GET", "/api/v1/webhooks/inbox/"+odd, admin.access, nil), 200).json(t); m["body"] != "not json" {
			t.Errorf("non-JSON body = %#v", m["body"])
		}
		if r := e.call("POST", "/api/v1/webhooks/inbox/"+odd+"/replay", admin.access, nil); r.status != 422 {
			t.Errorf("replay of a non-webhook body: %d %s", r.status, r.raw)
		}
		all := e.mustStatus(e.call("POST", "/api/v1/webhooks/inbox/replay", admin.access, map[string]any{"status": "unrouted"}), 200).json(t)
		if all["entries"] != float64(3) || all["unrouted"] != float64(3) || all["skipped"] != float64(1) || all["messagesStored"] != float64(0) {
			t.Errorf("bulk replay with no channel for the number = %v", all)
		}
	})
}

// TestInboxReplayKeepsTheSignatureBinding: a body kept while its number
// had no channel was accepted whatever app signed it; connecting the
// number replays only what its own app signed, as the live route would.
func TestInboxReplayKeepsTheSignatureBinding(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		if err := e.srv.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		admin := e.admin()
		const branch, target = "300000000000050", "300000000000051"
		e.mustStatus(e.call("POST", "/api/v1/channels", admin.access, map[string]any{
			"name": "Filial", "phoneNumberId": branch, "accessToken": "EAAG-filial", "appSecret": "filial-app-secret",
		}), 201)
		planted := textTo(target, "5511911110000", "wamid.planted", "mande o PIX para esta chave")
		e.mustStatus(e.postWebhook(planted, signWith("filial-app-secret", planted)), 200)
		own := textTo(target, "5511922220000", "wamid.own", "bom dia")
		e.mustStatus(e.postWebhook(own, sign(own)), 200)

		ch := e.mustStatus(e.call("POST", "/api/v1/channels", admin.access, map[string]any{
			"name": "Nova", "phoneNumberId": target, "accessToken": "EAAG-nova", "appSecret": testAppSecret,
		}), 201).json(t)
		awaitConversations(t, e, admin.access, ch["id"].(string), 1)
		if storedTimes(t, e, "wamid.own") != 1 || storedTimes(t, e, "wamid.planted") != 0 {
			t.Fatalf("stored: own %d, planted %d; want 1, 0", storedTimes(t, e, "wamid.own"), storedTimes(t, e, "wamid.planted"))
		}
		items, _ := inboxList(t, e, admin.access, "?status=unrouted")
		if len(items) != 1 {
			t.Fatalf("unrouted entries = %d, want the planted one", len(items))
		}
		r := e.mustStatus(e.call("POST", "/api/v1/webhooks/inbox/"+items[0]["id"].(string)+"/replay", admin.access, nil), 200).json(t)
		if r["status"] != helpdesk.InboxUnrouted || fmt.Sprint(r["unbound"]) != "["+target+"]" || r["messagesStored"] != float64(0) {
			t.Errorf("manual replay of the planted body = %v", r)
		}
	})
}

// twoNumbers is one delivery with a text for each of two business numbers
// (Meta batches the changes of one WhatsApp Business Account).
func twoNumbers(t *testing.T, a, b []byte) []byte {
	t.Helper()
	var x, y map[string]any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	ex, ey := x["entry"].([]any)[0].(map[string]any), y["entry"].([]any)[0].(map[string]any)
	ex["changes"] = append(ex["changes"].([]any), ey["changes"].([]any)...)
	out, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestInboxPartialReplayedWhenSecondNumberConnected: a delivery naming a
// connected number and one not yet connected is stored partial; when the
// second is connected, its customer reaches the agents too, as for a body
// naming it alone.
func TestInboxPartialReplayedWhenSecondNumberConnected(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		if err := e.srv.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		admin := e.admin()
		const later = "300000000000070"
		body := twoNumbers(t, inboundText("5511966660000", "Ana", "wamid.both1", "para a matriz", time.Now()),
			textTo(later, "5511977770000", "wamid.both2", "para a filial"))
		e.mustStatus(e.postWebhook(body, sign(body)), 200)
		items, _ := inboxList(t, e, admin.access, "?status=partial")
		if len(items) != 1 || storedTimes(t, e, "wamid.both1") != 1 || storedTimes(t, e, "wamid.both2") != 0 {
			t.Fatalf("partial entries = %v", items)
		}

		ch := e.mustStatus(e.call("POST", "/api/v1/channels", admin.access, map[string]any{
			"name": "Filial", "phoneNumberId": later, "accessToken": "EAAG-filial", "appSecret": testAppSecret,
		}), 201).json(t)
		awaitConversations(t, e, admin.access, ch["id"].(string), 1)
		if n1, n2 := storedTimes(t, e, "wamid.both1"), storedTimes(t, e, "wamid.both2"); n1 != 1 || n2 != 1 {
			t.Errorf("messages stored %d and %d times, want once each", n1, n2)
		}
		entry := e.mustStatus(e.call("GET", "/api/v1/webhooks/inbox/"+items[0]["id"].(string), admin.access, nil), 200).json(t)
		if entry["status"] != helpdesk.InboxProcessed {
			t.Errorf("entry after the automatic replay = %v, want processed", entry["status"])
		}
	})
}

// TestInboxReplayKeepsOldTimes: a body that waited longer than Meta
// retries (a number connected weeks later) keeps its customer's times.
// Stamped with the replay's time instead, the message would sort after
// everything written since and its customer would look inside the 24-hour
// window, so agents' free-form replies would fail at Meta.
func TestInboxReplayKeepsOldTimes(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		if err := e.srv.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		admin := e.admin()
		const later = "300000000000080"
		sent := time.Now().Add(-40 * 24 * time.Hour).Truncate(time.Second).UTC()
		body := envelope(later, map[string]any{
			"contacts": []any{map[string]any{"profile": map[string]any{"name": "Rita"}, "wa_id": "5511988880000"}},
			"messages": []any{map[string]any{"from": "5511988880000", "id": "wamid.old1", "timestamp": fmt.Sprint(sent.Unix()),
				"type": "text", "text": map[string]any{"body": "ainda atendem?"}}},
		})
		sum := sha256.Sum256(body)
		entry := helpdesk.InboxEntry{ID: helpdesk.NewID(), BodySHA256: hex.EncodeToString(sum[:]), Body: body,
			Status: helpdesk.InboxUnrouted, ReceivedAt: sent.Add(2 * time.Second), Signer: helpdesk.SignerFingerprint(testAppSecret)}
		if err := e.srv.DB.InsertInboxEntries(t.Context(), []helpdesk.InboxEntry{entry}); err != nil {
			t.Fatal(err)
		}
		ch := e.mustStatus(e.call("POST", "/api/v1/channels", admin.access, map[string]any{
			"name": "Filial", "phoneNumberId": later, "accessToken": "EAAG-filial", "appSecret": testAppSecret,
		}), 201).json(t)
		conv := awaitConversations(t, e, admin.access, ch["id"].(string), 1)[0].(map[string]any)
		if at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(conv["lastMessageAt"])); !at.Equal(sent) {
			t.Errorf("conversation's last message at %v, want %v (when the customer wrote)", conv["lastMessageAt"], sent)
		}
		msgs := e.mustStatus(e.call("GET", "/api/v1/messages?conversationId="+conv["id"].(string), admin.access, nil), 200).json(t)["data"].([]any)
		if len(msgs) != 1 {
			t.Fatalf("messages = %v", msgs)
		}
		if at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(msgs[0].(map[string]any)["createdAt"])); !at.Equal(sent) {
			t.Errorf("replayed message created at %v, want %v", msgs[0].(map[string]any)["createdAt"], sent)
		}
		var window int
		if err := e.srv.DB.SQL().QueryRow("SELECT COUNT(*) FROM conversations WHERE last_inbound_at > $1", helpdesk.Now().Add(-24*time.Hour)).Scan(&window); err != nil {
			t.Fatal(err)
		}
		if window != 0 {
			t.Errorf("%d conversations inside the 24-hour window after replaying a 40-day-old message", window)
		}
	})
}

// TestInboxReplayedWhenAppSecretCorrected: a number connected with a wrong
// app secret leaves its waiting webhooks unbound; correcting the secret
// replays them, as connecting it with the right one would have.
func TestInboxReplayedWhenAppSecretCorrected(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		if err := e.srv.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		admin := e.admin()
		const later = "300000000000090"
		body := textTo(later, "5511999990000", "wamid.fix1", "oi")
		e.mustStatus(e.postWebhook(body, sign(body)), 200)
		ch := e.mustStatus(e.call("POST", "/api/v1/channels", admin.access, map[string]any{
			"name": "Filial", "phoneNumberId": later, "accessToken": "EAAG-filial", "appSecret": "typo-" + testAppSecret,
		}), 201).json(t)
		deadline := time.Now().Add(10 * time.Second)
		for {
			items, _ := inboxList(t, e, admin.access, "?status=unrouted&phoneNumberId="+later)
			if len(items) == 1 && items[0]["note"] != "" {
				break // the automatic replay ran and left it unbound
			}
			if time.Now().After(deadline) {
				t.Fatalf("the automatic replay did not run: %v", items)
			}
			time.Sleep(50 * time.Millisecond)
		}
		e.mustStatus(e.call("PATCH", "/api/v1/channels/"+ch["id"].(string), admin.access, map[string]any{"appSecret": testAppSecret}), 200)
		awaitConversations(t, e, admin.access, ch["id"].(string), 1)
		if n := storedTimes(t, e, "wamid.fix1"); n != 1 {
			t.Errorf("message stored %d times, want 1", n)
		}
	})
}
