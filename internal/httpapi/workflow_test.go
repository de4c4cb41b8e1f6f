package httpapi_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// agentIn stores an active agent of dept directly (no bcrypt, no HTTP) and
// returns their id and an access token.
func agentIn(t *testing.T, e *testEnv, dept string) (string, string) {
	t.Helper()
	u := mustCreateUser(t, e, fmt.Sprintf("agent%d@example.com", e.seq.Add(1)))
	ids := []string{dept}
	if _, err := e.srv.DB.UpdateUser(t.Context(), u.ID, helpdesk.UserUpdate{DepartmentIDs: &ids}, helpdesk.Now()); err != nil {
		t.Fatal(err)
	}
	tok, err := e.srv.Auth.IssueAccessToken(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID, tok
}

// Fifty agents of the queue press "take over" at once: one gets the
// conversation, the other 49 are told it is taken.
func TestTakeoverRace(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		suporte := e.depts["Suporte"]
		conv := mustInsertConversation(t, e, suporte)
		const n = 50
		ids, toks := make([]string, n), make([]string, n)
		for i := range n {
			ids[i], toks[i] = agentIn(t, e, suporte)
		}
		results := make([]resp, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = e.call("POST", "/api/v1/conversations/"+conv+"/takeover", toks[i], nil)
			}()
		}
		wg.Wait()
		winner := -1
		for i, r := range results {
			switch r.status {
			case 200:
				if winner >= 0 {
					t.Fatalf("two winners: %s and %s", ids[winner], ids[i])
				}
				winner = i
			case 409:
				if code := r.errCode(t); code != helpdesk.CodeAlreadyAssigned {
					t.Errorf("loser %d: code %q, want already_assigned", i, code)
				}
			default:
				t.Fatalf("caller %d: status %d: %s", i, r.status, r.raw)
			}
		}
		if winner < 0 {
			t.Fatal("nobody won the takeover")
		}
		got := e.mustStatus(e.call("GET", "/api/v1/conversations/"+conv, toks[winner], nil), 200).json(t)
		if got["assigneeId"] != ids[winner] || got["status"] != "open" || got["waitingSince"] != nil {
			t.Errorf("after takeover: %v", got)
		}
		// The losers no longer see it: it is someone else's now.
		e.mustStatus(e.call("GET", "/api/v1/conversations/"+conv, toks[(winner+1)%n], nil), 404)
		// Taking one's own conversation again changes nothing.
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+conv+"/takeover", toks[winner], nil), 200)
		events, err := e.srv.DB.ListConversationEvents(t.Context(), conv)
		if err != nil || len(events) != 1 || events[0].Type != helpdesk.EventTakeover || events[0].ActorID != ids[winner] {
			t.Errorf("events = %+v, %v; want one takeover by the winner", events, err)
		}
	})
}

// Transfer to a queue and to an agent, close, reopen, with the rights and
// the bad inputs of each.
func TestTransferCloseReopen(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		suporte, vendas := e.depts["Suporte"], e.depts["Vendas"]
		conv := mustInsertConversation(t, e, suporte)
		path := func(action string) string { return "/api/v1/conversations/" + conv + "/" + action }
		ana, anaTok := agentIn(t, e, suporte)
		bruno, brunoTok := agentIn(t, e, vendas)
		_, carlaTok := agentIn(t, e, suporte)
		_, outsiderTok := agentIn(t, e, vendas)

		// An agent of another department does not see the conversation.
		e.mustStatus(e.call("POST", path("takeover"), brunoTok, nil), 404)
		e.mustStatus(e.call("POST", path("takeover"), anaTok, nil), 200)

		// Bad transfers: nowhere to go, unknown targets, a long reason.
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{}, "toUserId"},
			{map[string]any{"toUserId": helpdesk.NewID()}, "toUserId"},
			{map[string]any{"toDepartmentId": "nope"}, "toDepartmentId"},
			{map[string]any{"toDepartmentId": vendas, "reason": string(make([]byte, 501))}, "reason"},
		} {
			r := e.mustStatus(e.call("POST", path("transfer"), anaTok, c.body), 400)
			if r.errFields(t)[c.field] == nil {
				t.Errorf("%v: no error for %s: %s", c.body, c.field, r.raw)
			}
		}
		// A colleague of the same department cannot act on Ana's conversation.
		e.mustStatus(e.call("POST", path("transfer"), carlaTok, map[string]any{"toDepartmentId": vendas}), 404)
		e.mustStatus(e.call("POST", path("close"), carlaTok, nil), 404)

		// To the Vendas queue: waiting, unassigned, visible to Vendas.
		m := e.mustStatus(e.call("POST", path("transfer"), anaTok, map[string]any{"toDepartmentId": vendas, "reason": "é sobre preço"}), 200).json(t)
		if m["status"] != "waiting" || m["assigneeId"] != nil || m["departmentId"] != vendas || m["waitingSince"] == nil {
			t.Errorf("after transfer to a queue: %v", m)
		}
		e.mustStatus(e.call("GET", "/api/v1/conversations/"+conv, anaTok, nil), 404)
		e.mustStatus(e.call("GET", "/api/v1/conversations/"+conv, outsiderTok, nil), 200)

		// To an agent: open and theirs.
		m = e.mustStatus(e.call("POST", path("transfer"), outsiderTok, map[string]any{"toUserId": bruno}), 200).json(t)
		if m["status"] != "open" || m["assigneeId"] != bruno {
			t.Errorf("after transfer to an agent: %v", m)
		}
		e.mustStatus(e.call("POST", path("transfer"), brunoTok, map[string]any{"toUserId": bruno}), 422)

		// A supervisor may take it from Bruno.
		supervisor, _ := e.newUser(admin.access, helpdesk.RoleSupervisor)
		m = e.mustStatus(e.call("POST", path("takeover"), supervisor.access, nil), 200).json(t)
		if m["assigneeId"] != supervisor.userID {
			t.Errorf("supervisor takeover: %v", m)
		}
		e.mustStatus(e.call("POST", path("transfer"), supervisor.access, map[string]any{"toUserId": ana, "toDepartmentId": suporte}), 200)

		// Close (body optional), then nothing but reopen works.
		m = e.mustStatus(e.call("POST", path("close"), anaTok, map[string]any{"sendSurvey": true}), 200).json(t)
		if m["status"] != "closed" || m["closedAt"] == nil {
			t.Errorf("after close: %v", m)
		}
		for _, action := range []string{"close", "takeover"} {
			if r := e.mustStatus(e.call("POST", path(action), anaTok, nil), 422); r.errCode(t) != helpdesk.CodeConversationClosed {
				t.Errorf("%s on a closed conversation: %s", action, r.raw)
			}
		}
		e.mustStatus(e.call("POST", path("transfer"), anaTok, map[string]any{"toDepartmentId": vendas}), 422)
		e.mustStatus(e.call("POST", path("close"), anaTok, `{"sendSurvey":"yes"}`), 400)
		m = e.mustStatus(e.call("POST", path("reopen"), anaTok, nil), 200).json(t)
		if m["status"] != "open" || m["assigneeId"] != ana || m["closedAt"] != nil {
			t.Errorf("after reopen: %v", m)
		}
		e.mustStatus(e.call("POST", path("reopen"), anaTok, nil), 422)

		// Reopening while the customer has started another conversation on
		// the same number is a conflict: the agent continues in that one.
		e.mustStatus(e.call("POST", path("close"), anaTok, nil), 200)
		if _, err := e.srv.DB.SQL().Exec(`INSERT INTO conversations (id, channel_id, customer_id, department_id, status, created_at, updated_at)
			SELECT $1, channel_id, customer_id, department_id, 'waiting', updated_at, updated_at FROM conversations WHERE id = $2`, helpdesk.NewID(), conv); err != nil {
			t.Fatal(err)
		}
		if r := e.mustStatus(e.call("POST", path("reopen"), anaTok, nil), 409); r.errCode(t) != helpdesk.CodeConflict {
			t.Errorf("reopen with another live conversation: %s", r.raw)
		}

		// Unknown and malformed ids are 404.
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+helpdesk.NewID()+"/takeover", anaTok, nil), 404)
		e.mustStatus(e.call("POST", "/api/v1/conversations/abc/close", anaTok, nil), 404)

		// The timeline and the transfer log hold every step.
		events, err := e.srv.DB.ListConversationEvents(t.Context(), conv)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, ev := range events {
			types = append(types, ev.Type)
		}
		want := []string{"takeover", "transfer", "transfer", "takeover", "transfer", "close", "reopen", "close"}
		if fmt.Sprint(types) != fmt.Sprint(want) {
			t.Errorf("events = %v, want %v", types, want)
		}
		if events[1].Data["reason"] != "é sobre preço" || events[5].Data["sendSurvey"] != true {
			t.Errorf("event data: %v / %v", events[1].Data, events[5].Data)
		}
		// The history interleaves the customer's message with those events.
		mustInsertMessage(t, e, conv, helpdesk.DirectionInbound, "wamid.hist")
		h := e.mustStatus(e.call("GET", "/api/v1/conversations/"+conv+"/history", anaTok, nil), 200).json(t)
		var kinds []string
		for _, it := range h["items"].([]any) {
			it := it.(map[string]any)
			if it["kind"] == "event" {
				kinds = append(kinds, it["event"].(map[string]any)["type"].(string))
			} else {
				kinds = append(kinds, "message:"+it["message"].(map[string]any)["text"].(string))
			}
		}
		if want := append(append([]string{}, want...), "message:pergunta"); fmt.Sprint(kinds) != fmt.Sprint(want) {
			t.Errorf("history = %v, want %v", kinds, want)
		}
		if h["conversation"].(map[string]any)["id"] != conv || h["truncated"] != false {
			t.Errorf("history header: %v", h)
		}
		e.mustStatus(e.call("GET", "/api/v1/conversations/"+conv+"/history", carlaTok, nil), 404)
		e.mustStatus(e.call("GET", "/api/v1/conversations/"+helpdesk.NewID()+"/history", anaTok, nil), 404)

		var transfers int
		if err := e.srv.DB.SQL().QueryRow("SELECT COUNT(*) FROM conversation_transfers WHERE conversation_id = $1", conv).Scan(&transfers); err != nil || transfers != 3 {
			t.Errorf("conversation_transfers rows = %d, %v; want 3", transfers, err)
		}
	})
}

// The live figures count what is in each state and how long the queue waits.
func TestConversationStats(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		suporte, vendas := e.depts["Suporte"], e.depts["Vendas"]
		for range 3 {
			mustInsertConversation(t, e, suporte) // waiting
		}
		taken := mustInsertConversation(t, e, vendas)
		closed := mustInsertConversation(t, e, vendas)
		if _, err := e.srv.DB.SQL().Exec("UPDATE conversations SET waiting_since = $1", helpdesk.Now().Add(-10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+taken+"/takeover", admin.access, nil), 200)
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+closed+"/close", admin.access, nil), 200)

		st := e.mustStatus(e.call("GET", "/api/v1/conversations/stats", admin.access, nil), 200).json(t)
		by := st["byStatus"].(map[string]any)
		if by["waiting"] != 3.0 || by["open"] != 1.0 || by["bot"] != 0.0 || by["closedToday"] != 1.0 {
			t.Errorf("byStatus = %v", by)
		}
		depts := map[string]map[string]any{}
		for _, d := range st["byDepartment"].([]any) {
			d := d.(map[string]any)
			depts[fmt.Sprint(d["departmentId"])] = d
		}
		if depts[suporte]["waiting"] != 3.0 || depts[vendas]["open"] != 1.0 || depts[vendas]["waiting"] != 0.0 {
			t.Errorf("byDepartment = %v", st["byDepartment"])
		}
		w := st["waiting"].(map[string]any)
		if w["count"] != 3.0 || w["oldestSeconds"].(float64) < 590 || w["averageSeconds"].(float64) < 590 {
			t.Errorf("waiting = %v", w)
		}
		agent, _ := e.newUser(admin.access, helpdesk.RoleAgent, "Suporte")
		e.mustStatus(e.call("GET", "/api/v1/conversations/stats", agent.access, nil), 403)
	})
}

// A department with auto-assignment hands its queue, oldest first, to its
// online agents with the fewest open conversations, within their capacity;
// who does not fit waits and is told their place; closing frees room.
func TestAutoAssign(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		suporte, vendas := e.depts["Suporte"], e.depts["Vendas"]
		e.mustStatus(e.call("PATCH", "/api/v1/departments/"+suporte, admin.access, map[string]any{"autoAssign": true}), 200)
		agent := func(max int, online bool) (string, string) {
			id, tok := agentIn(t, e, suporte)
			if _, err := e.srv.DB.UpdateUser(t.Context(), id, helpdesk.UserUpdate{MaxConversations: &max}, helpdesk.Now()); err != nil {
				t.Fatal(err)
			}
			if online { // the dashboard is open
				e.dialWS("token="+tok).next("hello", nil)
			}
			return id, tok
		}
		ana, anaTok := agent(1, true)
		bruno, _ := agent(2, true)
		agent(5, false) // offline: never chosen

		toSuporte := func() map[string]any {
			conv := mustInsertConversation(t, e, vendas)
			if _, err := e.srv.DB.SQL().Exec("UPDATE conversations SET last_inbound_at = $1 WHERE id = $2", helpdesk.Now(), conv); err != nil {
				t.Fatal(err)
			}
			return e.mustStatus(e.call("POST", "/api/v1/conversations/"+conv+"/transfer", admin.access, map[string]any{"toDepartmentId": suporte}), 200).json(t)
		}
		load := map[string]int{}
		for i := range 3 {
			m := toSuporte()
			if m["status"] != "open" {
				t.Fatalf("transfer %d: %v, want assigned at once", i, m)
			}
			load[m["assigneeId"].(string)]++
		}
		if load[ana] != 1 || load[bruno] != 2 {
			t.Fatalf("assignments = %v, want ana 1 and bruno 2 (their capacities)", load)
		}
		// Nobody has room: the fourth waits and the customer is told.
		waiting := toSuporte()
		if waiting["status"] != "waiting" || waiting["assigneeId"] != nil {
			t.Fatalf("fourth transfer: %v, want waiting", waiting)
		}
		msgs := e.mustStatus(e.call("GET", "/api/v1/messages?conversationId="+waiting["id"].(string), admin.access, nil), 200).json(t)["data"].([]any)
		if len(msgs) != 1 || msgs[0].(map[string]any)["senderType"] != "system" ||
			!strings.Contains(msgs[0].(map[string]any)["text"].(string), "1º da fila") {
			t.Errorf("queue notice = %v", msgs)
		}
		// Ana closes hers: the waiting one is hers now.
		var anasConv string
		for _, it := range e.mustStatus(e.call("GET", "/api/v1/conversations?assigneeId=me", anaTok, nil), 200).json(t)["data"].([]any) {
			anasConv = it.(map[string]any)["id"].(string)
		}
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+anasConv+"/close", anaTok, nil), 200)
		got := e.mustStatus(e.call("GET", "/api/v1/conversations/"+waiting["id"].(string), admin.access, nil), 200).json(t)
		if got["status"] != "open" || got["assigneeId"] != ana {
			t.Errorf("after Ana closed hers: %v", got)
		}
		events, _ := e.srv.DB.ListConversationEvents(t.Context(), waiting["id"].(string))
		if last := events[len(events)-1]; last.Type != helpdesk.EventAssigned || last.Data["toUserId"] != ana {
			t.Errorf("last event = %+v", last)
		}

		// The sweep serves what arrived without an action (WhatsApp).
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+waiting["id"].(string)+"/close", anaTok, nil), 200)
		fresh := mustInsertConversation(t, e, suporte)
		if _, err := e.srv.Desk.AutoAssignAll(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := e.mustStatus(e.call("GET", "/api/v1/conversations/"+fresh, admin.access, nil), 200).json(t); got["assigneeId"] != ana {
			t.Errorf("after the sweep: %v", got)
		}
		// Without auto-assignment nothing moves.
		e.mustStatus(e.call("PATCH", "/api/v1/departments/"+suporte, admin.access, map[string]any{"autoAssign": false}), 200)
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+fresh+"/close", anaTok, nil), 200)
		idle := mustInsertConversation(t, e, suporte)
		if _, err := e.srv.Desk.AutoAssignAll(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := e.mustStatus(e.call("GET", "/api/v1/conversations/"+idle, admin.access, nil), 200).json(t); got["assigneeId"] != nil {
			t.Errorf("auto-assignment off, yet: %v", got)
		}
	})
}

// An agent who answers a conversation the bot or a queue holds takes it
// over with that reply: the bot stops answering the customer, the queue
// no longer offers it, and its history shows the takeover. A colleague
// answering after that is refused, as on any conversation of someone else.
func TestReplyTakesTheConversationOver(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		suporte := e.depts["Suporte"]
		for _, status := range []string{"bot", "waiting"} {
			t.Run(status, func(t *testing.T) {
				waID := "55119666" + map[string]string{"bot": "10001", "waiting": "10002"}[status]
				conv := e.customerWrites(admin.access, waID, "wamid.take."+status, "preciso de ajuda", time.Now())
				if _, err := e.srv.DB.SQL().Exec("UPDATE conversations SET status = $1, department_id = $2, assignee_id = NULL WHERE id = $3",
					status, suporte, conv); err != nil {
					t.Fatal(err)
				}
				agent, tok := agentIn(t, e, suporte)
				_, other := agentIn(t, e, suporte)
				e.mustStatus(e.call("POST", "/api/v1/messages", tok, map[string]any{"conversationId": conv, "text": "Oi, sou a Ana"}), 202)

				got := e.mustStatus(e.call("GET", "/api/v1/conversations/"+conv, tok, nil), 200).json(t)
				if got["status"] != "open" || got["assigneeId"] != agent || got["waitingSince"] != nil {
					t.Errorf("after the reply: %v, want open and the agent's", got)
				}
				events, err := e.srv.DB.ListConversationEvents(t.Context(), conv)
				if err != nil || len(events) != 1 || events[0].Type != helpdesk.EventTakeover || events[0].ActorID != agent ||
					events[0].Data["fromStatus"] != status || events[0].Data["onReply"] != true {
					t.Errorf("events = %+v, %v; want one takeover on reply by the agent", events, err)
				}
				r := e.call("POST", "/api/v1/messages", other, map[string]any{"conversationId": conv, "text": "eu também"})
				if r.status != 404 && r.status != 403 {
					t.Errorf("a colleague's reply after the takeover: %d %s, want it refused", r.status, r.raw)
				}
				// The agent's next reply takes nothing over again.
				e.mustStatus(e.call("POST", "/api/v1/messages", tok, map[string]any{"conversationId": conv, "text": "Pode me dizer o pedido?"}), 202)
				if events, _ := e.srv.DB.ListConversationEvents(t.Context(), conv); len(events) != 1 {
					t.Errorf("events after a second reply = %+v, want still one", events)
				}
			})
		}
	})
}

// Deactivating an agent puts their open conversations back in their
// department's queue, each as a transfer with the reason, so no customer
// is left with an agent who can no longer log in; closed ones stay theirs.
func TestDeactivatedAgentsConversationsAreRequeued(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		suporte := e.depts["Suporte"]
		agent, tok := agentIn(t, e, suporte)
		open1, open2, closed := mustInsertConversation(t, e, suporte), mustInsertConversation(t, e, suporte), mustInsertConversation(t, e, suporte)
		for _, c := range []string{open1, open2, closed} {
			e.mustStatus(e.call("POST", "/api/v1/conversations/"+c+"/takeover", tok, nil), 200)
		}
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+closed+"/close", tok, map[string]any{}), 200)

		e.mustStatus(e.call("DELETE", "/api/v1/users/"+agent, admin.access, nil), 204)
		for _, c := range []string{open1, open2} {
			got := e.mustStatus(e.call("GET", "/api/v1/conversations/"+c, admin.access, nil), 200).json(t)
			if got["status"] != "waiting" || got["assigneeId"] != nil || got["departmentId"] != suporte || got["waitingSince"] == nil {
				t.Errorf("open conversation after its agent was deactivated: %v, want waiting in Suporte, unassigned", got)
			}
			events, err := e.srv.DB.ListConversationEvents(t.Context(), c)
			if err != nil || len(events) != 2 || events[1].Type != helpdesk.EventTransfer || events[1].Data["fromUserId"] != agent ||
				!strings.Contains(fmt.Sprint(events[1].Data["reason"]), "deactivated") {
				t.Errorf("events = %+v, %v; want the takeover, then a transfer saying why", events, err)
			}
		}
		if got := e.mustStatus(e.call("GET", "/api/v1/conversations/"+closed, admin.access, nil), 200).json(t); got["status"] != "closed" || got["assigneeId"] != agent {
			t.Errorf("closed conversation = %v, want it left closed and the agent's", got)
		}
		// Deactivating again changes nothing.
		e.mustStatus(e.call("DELETE", "/api/v1/users/"+agent, admin.access, nil), 204)

		// A department switched off meanwhile takes no one: its agent's
		// conversations go to the general queue.
		vendas := e.depts["Vendas"]
		seller, sellerTok := agentIn(t, e, vendas)
		sale := mustInsertConversation(t, e, vendas)
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+sale+"/takeover", sellerTok, nil), 200)
		e.mustStatus(e.call("PATCH", "/api/v1/departments/"+vendas, admin.access, map[string]any{"active": false}), 200)
		e.mustStatus(e.call("DELETE", "/api/v1/users/"+seller, admin.access, nil), 204)
		if got := e.mustStatus(e.call("GET", "/api/v1/conversations/"+sale, admin.access, nil), 200).json(t); got["status"] != "waiting" || got["departmentId"] != nil {
			t.Errorf("conversation of a switched-off department after its agent was deactivated: %v, want waiting in the general queue", got)
		}
	})
}

// Agents' actions on conversations are in the audit log, so a supervisor
// sees across conversations who took over, transferred, closed and
// reopened what, and why.
func TestConversationActionsAreAudited(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		suporte, vendas := e.depts["Suporte"], e.depts["Vendas"]
		agent, tok := agentIn(t, e, suporte)
		conv := mustInsertConversation(t, e, suporte)
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+conv+"/takeover", tok, nil), 200)
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+conv+"/transfer", tok, map[string]any{"toDepartmentId": vendas, "reason": "quer comprar"}), 200)
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+conv+"/takeover", admin.access, nil), 200)
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+conv+"/close", admin.access, map[string]any{}), 200)
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+conv+"/reopen", admin.access, nil), 200)

		logs := e.mustStatus(e.call("GET", "/api/v1/audit-logs?entityId="+conv, admin.access, nil), 200).json(t)["data"].([]any)
		var actions []string
		for i := len(logs) - 1; i >= 0; i-- { // newest first
			actions = append(actions, logs[i].(map[string]any)["action"].(string))
		}
		if got := strings.Join(actions, " "); got != "conversation.takeover conversation.transfer conversation.takeover conversation.close conversation.reopen" {
			t.Errorf("audited actions = %s", got)
		}
		transfers := e.mustStatus(e.call("GET", "/api/v1/audit-logs?action=conversation.transfer", admin.access, nil), 200).json(t)["data"].([]any)
		if len(transfers) != 1 {
			t.Fatalf("transfer audit rows = %v", transfers)
		}
		tr := transfers[0].(map[string]any)
		if d := tr["details"].(map[string]any); tr["actorId"] != agent || d["reason"] != "quer comprar" || d["toDepartmentId"] != vendas || d["fromUserId"] != agent {
			t.Errorf("transfer audit row = %v", tr)
		}
	})
}
