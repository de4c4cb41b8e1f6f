package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/supportwhatsapp/supportwhatsapp/internal/config"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// TestWSAuth: the socket takes the access token in the URL or in its first
// frame, with the same checks as the REST API.
func TestWSAuth(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		if _, res, err := e.tryDialWS("token=not-a-token"); err == nil || res == nil || res.StatusCode != 401 {
			t.Errorf("bad token: %v, %v; want 401", err, res)
		}
		hello := e.dialWS("token="+admin.access).next("hello", nil)
		if hello.Data["userId"] != admin.userID || hello.Data["stream"] == "" {
			t.Errorf("hello = %v", hello.Data)
		}

		// The token in the first frame.
		c := e.dialWS("")
		c.send("auth", map[string]string{"token": admin.access})
		if got := c.next("hello", nil); got.Data["userId"] != admin.userID {
			t.Errorf("hello after auth frame = %v", got.Data)
		}
		c = e.dialWS("")
		c.send("auth", map[string]string{"token": "forged"})
		if got := c.next("error", nil); got.Data["code"] != helpdesk.CodeInvalidToken {
			t.Errorf("bad auth frame: %v", got.Data)
		}
		if st := c.closeStatus(); st != 4401 {
			t.Errorf("close status %d, want 4401", st)
		}

		// A token of a user deactivated since, or issued before a password
		// change, opens nothing.
		agent, email := e.newUser(admin.access, helpdesk.RoleAgent)
		old := e.login(email, "Changed123")
		e.mustStatus(e.call("POST", "/api/v1/auth/change-password", old.access,
			map[string]string{"currentPassword": "Changed123", "newPassword": "Changed456"}), 200)
		if _, res, err := e.tryDialWS("token=" + old.access); err == nil || res.StatusCode != 401 {
			t.Errorf("token from before the password change: %v; want 401", err)
		}
		e.mustStatus(e.call("DELETE", "/api/v1/users/"+agent.userID, admin.access, nil), 204)
		if _, res, err := e.tryDialWS("token=" + agent.access); err == nil || res.StatusCode != 401 {
			t.Errorf("deactivated user's token: %v; want 401", err)
		}
		// A user who must change their password first gets 403.
		e.mustStatus(e.call("POST", "/api/v1/users", admin.access, map[string]any{
			"name": "Novo", "email": "novo@example.com", "password": "Initial123", "role": "agent"}), 201)
		locked := e.login("novo@example.com", "Initial123")
		if _, res, err := e.tryDialWS("token=" + locked.access); err == nil || res.StatusCode != 403 {
			t.Errorf("password change pending: %v; want 403", err)
		}
	})
}

// useSuporte routes the sandbox number's new conversations to Suporte.
func (e *testEnv) useSuporte(adminToken string) {
	e.t.Helper()
	for _, ch := range e.mustStatus(e.call("GET", "/api/v1/channels", adminToken, nil), 200).json(e.t)["data"].([]any) {
		cm := ch.(map[string]any)
		if cm["phoneNumberId"] == config.SandboxPhoneNumberID {
			e.mustStatus(e.call("PATCH", "/api/v1/channels/"+cm["id"].(string), adminToken,
				map[string]any{"defaultDepartmentId": e.depts["Suporte"]}), 200)
			return
		}
	}
	e.t.Fatal("no sandbox channel")
}

// customerSays posts a signed webhook with a customer's text.
func (e *testEnv) customerSays(waID, text string) {
	e.t.Helper()
	body := inboundText(waID, "Cliente", fmt.Sprintf("wamid.ws%d", e.seq.Add(1)), text, time.Now())
	e.mustStatus(e.postWebhook(body, sign(body)), 200)
}

// TestWSConversationEvents follows one conversation through the sockets of
// an admin, an agent of its department and an agent of another.
func TestWSConversationEvents(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		if err := e.srv.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		admin := e.admin()
		e.useSuporte(admin.access)
		ana, _ := e.newUser(admin.access, helpdesk.RoleAgent, "Suporte")
		bia, _ := e.newUser(admin.access, helpdesk.RoleAgent, "Vendas")
		wa, a, b := e.dialWS("token="+admin.access), e.dialWS("token="+ana.access), e.dialWS("token="+bia.access)
		for _, c := range []*wsClient{wa, a, b} {
			c.next("hello", nil)
		}

		// A new customer: Suporte's agent hears of the conversation and
		// the message; the admin of the conversation; Vendas' agent of nothing.
		e.customerSays("5511988887777", "Olá, preciso de ajuda")
		created := a.next("conversation_update", nil)
		conv := created.Data["conversationId"].(string)
		if created.Data["action"] != helpdesk.EventCreated || created.Data["conversation"].(map[string]any)["status"] != "waiting" {
			t.Errorf("conversation_update = %v", created.Data)
		}
		msg := a.next("new_message", forConv(conv))
		if m := msg.Data["message"].(map[string]any); m["text"] != "Olá, preciso de ajuda" || m["direction"] != "inbound" {
			t.Errorf("new_message = %v", msg.Data)
		}
		wa.next("conversation_update", forConv(conv))
		if hasEvent(wa.barrier(), "new_message", conv) {
			t.Error("admin got new_message without subscribing")
		}
		if fs := b.barrier(); hasEvent(fs, "conversation_update", conv) || hasEvent(fs, "new_message", conv) {
			t.Errorf("agent of another department got %v", events(fs))
		}

		// Subscribing: refused for what one cannot see.
		b.send("subscribe:conversation", map[string]string{"conversationId": conv})
		if f := b.next("error", nil); f.Data["code"] != helpdesk.CodeNotFound || f.Data["conversationId"] != conv {
			t.Errorf("subscribe to an invisible conversation: %v", f.Data)
		}
		wa.send("subscribe:conversation", map[string]string{"conversationId": conv})
		wa.next("subscribed", forConv(conv))
		e.customerSays("5511988887777", "Alguém aí?")
		for _, c := range []*wsClient{wa, a} {
			if m := c.next("new_message", forConv(conv)); m.Data["message"].(map[string]any)["text"] != "Alguém aí?" {
				t.Errorf("second new_message = %v", m.Data)
			}
		}

		// Takeover.
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+conv+"/takeover", ana.access, nil), 200)
		for _, c := range []*wsClient{wa, a} {
			f := c.next("conversation_assigned", forConv(conv))
			if f.Data["assigneeId"] != ana.userID || f.Data["conversation"].(map[string]any)["status"] != "open" {
				t.Errorf("conversation_assigned = %v", f.Data)
			}
			// updatedAt tells two copies of the conversation apart.
			before, err1 := time.Parse(time.RFC3339Nano, fmt.Sprint(created.Data["conversation"].(map[string]any)["updatedAt"]))
			after, err2 := time.Parse(time.RFC3339Nano, fmt.Sprint(f.Data["conversation"].(map[string]any)["updatedAt"]))
			if err1 != nil || err2 != nil || after.Before(before) {
				t.Errorf("updatedAt: created %v (%v), assigned %v (%v)", before, err1, after, err2)
			}
		}

		// Typing reaches the subscribed admin, and expires without a refresh.
		a.send("typing", map[string]any{"conversationId": conv, "isTyping": true})
		typing := wa.next("user_typing", forConv(conv))
		if typing.Data["userId"] != ana.userID || typing.Data["isTyping"] != true {
			t.Errorf("user_typing = %v", typing.Data)
		}
		if f := wa.next("user_typing", forConv(conv)); f.Data["isTyping"] != false {
			t.Errorf("typing did not expire: %v", f.Data)
		}
		b.send("typing", map[string]any{"conversationId": conv, "isTyping": true})
		if f := b.next("error", nil); f.Data["code"] != helpdesk.CodeNotFound {
			t.Errorf("typing in an invisible conversation: %v", f.Data)
		}

		// The customer writes through the sandbox's phone, so the sandbox
		// (playing Meta) sees the customer service window open.
		e.mustStatus(e.call("POST", "/api/v1/sandbox/messages", admin.access,
			map[string]any{"waId": "5511988887777", "name": "Cliente", "text": "Oi?"}), 202)
		a.next("new_message", func(f wsFrame) bool { return f.Data["message"].(map[string]any)["text"] == "Oi?" })
		// The agent's reply: new_message for it, then its statuses (the
		// send worker's "sent", the sandbox's "delivered" webhook).
		sent := e.mustStatus(e.call("POST", "/api/v1/messages", ana.access, map[string]any{"conversationId": conv, "text": "Oi! Como posso ajudar?"}), 202).json(t)
		own := a.next("new_message", func(f wsFrame) bool { return f.Data["message"].(map[string]any)["id"] == sent["id"] })
		if own.Data["message"].(map[string]any)["direction"] != "outbound" {
			t.Errorf("own new_message = %v", own.Data)
		}
		for _, status := range []string{"sent", "delivered"} {
			f := a.next("message_status", func(f wsFrame) bool { return f.Data["messageId"] == sent["id"] && f.Data["status"] == status })
			if f.Data["conversationId"] != conv {
				t.Errorf("message_status = %v", f.Data)
			}
		}

		// A transfer to Vendas' queue: Bia can see it now and is told;
		// Ana is told she no longer has it.
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+conv+"/transfer", admin.access,
			map[string]any{"toDepartmentId": e.depts["Vendas"], "reason": "pedido"}), 200)
		for _, c := range []*wsClient{a, b, wa} {
			f := c.next("conversation_transferred", forConv(conv))
			if f.Data["toDepartmentId"] != e.depts["Vendas"] || f.Data["fromUserId"] != ana.userID || f.Data["reason"] != "pedido" {
				t.Errorf("conversation_transferred = %v", f.Data)
			}
		}
		// Seq numbers every event to a user, one by one.
		var last uint64
		for _, f := range a.seen {
			if f.Seq == 0 {
				continue
			}
			if last != 0 && f.Seq != last+1 {
				t.Errorf("seq jumped from %d to %d (%s)", last, f.Seq, f.Event)
			}
			last = f.Seq
		}
	})
}

// TestWSPresenceAndResume: online_status counts every tab; a reconnect
// with since gets what it missed, or resync.
func TestWSPresenceAndResume(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		e.useSuporte(admin.access)
		ana, _ := e.newUser(admin.access, helpdesk.RoleAgent, "Suporte")
		wa := e.dialWS("token=" + admin.access)
		wa.next("hello", nil)
		isAna := func(online bool) func(wsFrame) bool { return presenceIs(ana.userID, online) }
		onlineIDs := func() map[string]bool {
			ids := map[string]bool{}
			for _, u := range e.mustStatus(e.call("GET", "/api/v1/users/online", admin.access, nil), 200).json(t)["data"].([]any) {
				ids[u.(map[string]any)["id"].(string)] = true
			}
			return ids
		}

		tab1 := e.dialWS("token=" + ana.access)
		hello := tab1.next("hello", nil)
		wa.next("online_status", isAna(true))
		tab2 := e.dialWS("token=" + ana.access)
		tab2.next("hello", nil)
		_ = tab1.conn.Close(websocket.StatusNormalClosure, "")
		tab1.closeStatus()
		// Presence is told up to 100 ms late, so a ping would not show a
		// wrong change: Bia coming online is told with or after it.
		bia, _ := e.newUser(admin.access, helpdesk.RoleAgent, "Suporte")
		biaWS := e.dialWS("token=" + bia.access)
		biaWS.next("hello", nil)
		start := len(wa.seen)
		wa.next("online_status", presenceIs(bia.userID, true))
		for _, f := range wa.seen[start:] {
			if f.Event == "online_status" && (presenceIs(ana.userID, true)(f) || presenceIs(ana.userID, false)(f)) {
				t.Errorf("a second tab or closing one changed presence: %v", f.Data)
			}
		}
		if !onlineIDs()[ana.userID] {
			t.Error("Ana is not listed online with a tab open")
		}

		// Events while Ana's second tab is open, then she goes away.
		e.customerSays("5511977776666", "primeira")
		tab2.next("new_message", nil)
		lastSeq := tab2.seen[len(tab2.seen)-1].Seq
		_ = tab2.conn.Close(websocket.StatusNormalClosure, "")
		tab2.closeStatus()
		wa.next("online_status", isAna(false))
		if onlineIDs()[ana.userID] {
			t.Error("Ana is still online with every tab closed")
		}
		e.customerSays("5511977776666", "segunda")
		e.customerSays("5511977776666", "terceira")

		// Back with since: the missed events, numbered on from lastSeq
		// (replayed, or live if they were still on their way).
		back := e.dialWS(fmt.Sprintf("token=%s&since=%d&stream=%s", ana.access, lastSeq, hello.Data["stream"]))
		back.next("hello", nil)
		back.next("new_message", func(f wsFrame) bool { return f.Data["message"].(map[string]any)["text"] == "terceira" })
		want := lastSeq + 1
		var texts []string
		for _, f := range back.seen[1:] {
			if f.Seq != want {
				t.Fatalf("after since=%d got seq %d (%s), want %d", lastSeq, f.Seq, f.Event, want)
			}
			want++
			if f.Event == "new_message" {
				texts = append(texts, f.Data["message"].(map[string]any)["text"].(string))
			}
		}
		if strings.Join(texts, ",") != "segunda,terceira" {
			t.Errorf("resumed messages = %v", texts)
		}
		// Another replica's stream, or a seq this one never reached:
		// resync (reload over REST).
		for _, q := range []string{fmt.Sprintf("since=%d&stream=elsewhere", lastSeq), "since=999999"} {
			c := e.dialWS("token=" + ana.access + "&" + q)
			c.next("hello", nil)
			if f := c.next("resync", nil); f.Data["stream"] != hello.Data["stream"] {
				t.Errorf("%s: resync = %v", q, f.Data)
			}
		}
	})
}
