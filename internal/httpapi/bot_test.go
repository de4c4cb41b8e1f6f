package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/bot"
	"github.com/supportwhatsapp/supportwhatsapp/internal/config"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp/sandbox"
)

// botEnv is a started server with the bot switched on, plus the admin.
type botEnv struct {
	*testEnv
	admin session
}

func startBot(t *testing.T, e *testEnv, settings map[string]any) botEnv {
	t.Helper()
	if err := e.srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	b := botEnv{testEnv: e, admin: e.admin()}
	for k, v := range settings {
		b.put(k, v, 200)
	}
	b.put("enabled", true, 200)
	return b
}

func (b botEnv) put(key string, value any, status int) resp {
	b.t.Helper()
	return b.mustStatus(b.call("PUT", "/api/v1/bot/config/"+key, b.admin.access, map[string]any{"value": value}), status)
}

// phone is one simulated customer.
type phone struct {
	b    botEnv
	c    sandbox.Customer
	read map[string]bool // wamids of the business messages the test has read
}

func (b botEnv) customer(n int) *phone {
	return &phone{b: b, c: sandbox.Customer{WAID: fmt.Sprintf("55119876%05d", n), Name: fmt.Sprintf("Cliente %d", n)}, read: map[string]bool{}}
}

func (p *phone) say(text string) {
	p.b.t.Helper()
	if _, err := p.b.srv.Sandbox.SendText(context.Background(), p.c, text); err != nil {
		p.b.t.Fatal(err)
	}
}

// next waits for the business's next unread message to this customer; the
// sandbox accepts only requests valid for the Cloud API.
func (p *phone) next() sandbox.Sent {
	p.b.t.Helper()
	return p.find("a new message", func(sandbox.Sent) bool { return true })
}

// await waits for an unread message containing substr and returns its
// text. Messages sent by separate jobs (the bot's answer and the queue
// notice) may arrive in either order.
func (p *phone) await(substr string) string {
	p.b.t.Helper()
	return text(p.find(fmt.Sprintf("%q", substr), func(m sandbox.Sent) bool { return strings.Contains(text(m), substr) }))
}

func (p *phone) find(what string, ok func(sandbox.Sent) bool) sandbox.Sent {
	p.b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range p.b.srv.Sandbox.SentTo(p.c.WAID) {
			if !p.read[m.WAMID] && ok(m) {
				p.read[m.WAMID] = true
				return m
			}
		}
		time.Sleep(20 * time.Millisecond) // polling, as the phone page does
	}
	p.b.t.Fatalf("the customer %s never got %s; got %d messages", p.c.WAID, what, len(p.b.srv.Sandbox.SentTo(p.c.WAID)))
	return sandbox.Sent{}
}

// text is what a customer reads in a message: the text or the interactive
// body.
func text(m sandbox.Sent) string {
	if t, ok := m.Body["text"].(map[string]any); ok {
		return t["body"].(string)
	}
	if i, ok := m.Body["interactive"].(map[string]any); ok {
		return i["body"].(map[string]any)["text"].(string)
	}
	return ""
}

// choices lists the ids and titles of an interactive message's buttons or
// rows.
func choices(t *testing.T, m sandbox.Sent) (kind string, ids, titles []string) {
	t.Helper()
	i, ok := m.Body["interactive"].(map[string]any)
	if !ok {
		t.Fatalf("not an interactive message: %v", m.Body)
	}
	action := i["action"].(map[string]any)
	switch i["type"] {
	case "button":
		for _, b := range action["buttons"].([]any) {
			r := b.(map[string]any)["reply"].(map[string]any)
			ids, titles = append(ids, r["id"].(string)), append(titles, r["title"].(string))
		}
	case "list":
		for _, s := range action["sections"].([]any) {
			for _, row := range s.(map[string]any)["rows"].([]any) {
				r := row.(map[string]any)
				ids, titles = append(ids, r["id"].(string)), append(titles, r["title"].(string))
			}
		}
	}
	return i["type"].(string), ids, titles
}

// conversation returns the customer's live or latest conversation.
func (p *phone) conversation() map[string]any {
	p.b.t.Helper()
	convs := p.b.mustStatus(p.b.call("GET", "/api/v1/conversations?q="+p.c.WAID, p.b.admin.access, nil), 200).json(p.b.t)["data"].([]any)
	if len(convs) == 0 {
		p.b.t.Fatalf("no conversation for %s", p.c.WAID)
	}
	return convs[0].(map[string]any)
}

// waitStatus waits until the customer's conversation has the status.
func (p *phone) waitStatus(status string) map[string]any {
	p.b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c := p.conversation(); c["status"] == status {
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.b.t.Fatalf("conversation of %s never became %s: %v", p.c.WAID, status, p.conversation())
	return nil
}

// handoff returns the bot_handoff event of the conversation's history.
func (p *phone) handoff(convID string) map[string]any {
	p.b.t.Helper()
	h := p.b.mustStatus(p.b.call("GET", "/api/v1/conversations/"+convID+"/history", p.b.admin.access, nil), 200).json(p.b.t)
	for _, it := range h["items"].([]any) {
		if ev, ok := it.(map[string]any)["event"].(map[string]any); ok && ev["type"] == helpdesk.EventBotHandoff {
			return ev["data"].(map[string]any)
		}
	}
	p.b.t.Fatalf("no bot_handoff in %v", h["items"])
	return nil
}

// greet says hello and returns the menu the bot answers with.
func (p *phone) greet() sandbox.Sent {
	p.b.t.Helper()
	p.say("Olá, boa tarde")
	menu := p.next()
	if !strings.Contains(text(menu), "Bem-vindo") || !strings.Contains(text(menu), "Como podemos ajudar?") {
		p.b.t.Fatalf("greeting = %q", text(menu))
	}
	return menu
}

func TestBotMenuRoutesToDepartments(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		b := startBot(t, e, nil)

		// By tap: the default menu has four options, so it is a list.
		tap := b.customer(1)
		menu := tap.greet()
		kind, ids, titles := choices(t, menu)
		if kind != "list" || strings.Join(titles, "|") != "Suporte|Vendas|Financeiro|Falar com um atendente" {
			t.Fatalf("menu = %s %v", kind, titles)
		}
		if c := tap.conversation(); c["status"] != "bot" {
			t.Fatalf("a new conversation should be with the bot: %v", c)
		}
		// The dashboard's phone page shows the menu's text.
		shown := b.mustStatus(b.call("GET", "/api/v1/sandbox/messages?waId="+tap.c.WAID, b.admin.access, nil), 200).json(t)["data"].([]any)
		if last := shown[len(shown)-1].(map[string]any); last["type"] != "interactive" || !strings.Contains(last["text"].(string), "Como podemos ajudar?") {
			t.Errorf("phone page shows %v", last)
		}
		// …and lets a person tap it; an option the menu does not have is a 400.
		b.mustStatus(b.call("POST", "/api/v1/sandbox/messages", b.admin.access,
			map[string]any{"waId": tap.c.WAID, "replyTo": menu.WAMID, "replyId": "bot:menu:jogos"}), 400)
		b.mustStatus(b.call("POST", "/api/v1/sandbox/messages", b.admin.access, map[string]any{"waId": tap.c.WAID}), 400)
		phoneTap := b.customer(2)
		phoneMenu := phoneTap.greet()
		b.mustStatus(b.call("POST", "/api/v1/sandbox/messages", b.admin.access,
			map[string]any{"waId": phoneTap.c.WAID, "replyTo": phoneMenu.WAMID, "replyId": "bot:menu:suporte"}), 202)
		phoneTap.await(queued("Suporte"))
		if _, err := b.srv.Sandbox.ChooseListItem(t.Context(), tap.c, menu.WAMID, ids[1], titles[1], ""); err != nil {
			t.Fatal(err)
		}
		// One message says where the conversation went and its place in the queue.
		if got := tap.await(queued("Vendas")); !strings.Contains(got, "Você é o 1º da fila") {
			t.Errorf("queue notice: %q", got)
		}
		c := tap.waitStatus("waiting")
		if n := len(b.srv.Sandbox.SentTo(tap.c.WAID)); n != 2 {
			t.Errorf("the customer got %d messages, want the menu and the queue notice", n)
		}
		if c["departmentId"] != b.depts["Vendas"] {
			t.Errorf("department = %v", c["departmentId"])
		}
		h := tap.handoff(c["id"].(string))
		if h["reason"] != bot.ReasonMenuChoice || fmt.Sprint(h["path"]) != "[boas_vindas menu]" {
			t.Errorf("handoff = %v", h)
		}

		// By number and by text without accents or case.
		n := 10
		for i, answer := range map[string]string{"3": "Financeiro", "  SUPORTE ": "Suporte", "financeiro.": "Financeiro"} {
			n++
			p := b.customer(n)
			p.greet()
			p.say(i)
			p.await(queued(answer))
			if c := p.waitStatus("waiting"); c["departmentId"] != b.depts[answer] {
				t.Errorf("answer %q: department %v", i, c["departmentId"])
			}
		}
	})
}

// TestBotSkipsSwitchedOffDepartment: a department an admin switched off
// after the flow was written takes no one. A customer who picks it is told
// they go to an attendant and waits in the general human queue, not in
// the switched-off department's queue, where no one would look.
func TestBotSkipsSwitchedOffDepartment(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		b := startBot(t, e, nil)
		b.mustStatus(b.call("PATCH", "/api/v1/departments/"+b.depts["Financeiro"], b.admin.access, map[string]any{"active": false}), 200)
		p := b.customer(1)
		p.greet()
		p.say("3")
		got := p.await(strings.SplitN(bot.TextToHuman, ".", 2)[0])
		if strings.Contains(got, "Financeiro") {
			t.Errorf("the customer was told %q, naming the switched-off department", got)
		}
		if c := p.waitStatus("waiting"); c["departmentId"] != nil {
			t.Errorf("department = %v, want the general queue", c["departmentId"])
		}
		// Its sibling, still on, routes as before.
		q := b.customer(2)
		q.greet()
		q.say("2")
		q.await(queued("Vendas"))
	})
}

// TestBotSaysAnAgentIsComing: a department that assigns automatically,
// with an online agent who has room, takes the conversation at once; the
// customer is told an agent is coming, not that they are first in line.
func TestBotSaysAnAgentIsComing(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		b := startBot(t, e, nil)
		vendas := b.depts["Vendas"]
		b.mustStatus(b.call("PATCH", "/api/v1/departments/"+vendas, b.admin.access, map[string]any{"autoAssign": true}), 200)
		agent, tok := agentIn(t, e, vendas)
		e.dialWS("token="+tok).next("hello", nil) // online

		p := b.customer(1)
		p.greet()
		p.say("2")
		got := p.await(strings.SplitN(helpdesk.AssignedNotice, "%s", 2)[0])
		if got != fmt.Sprintf(helpdesk.AssignedNotice, "Vendas") || strings.Contains(got, "fila") {
			t.Errorf("the customer was told %q", got)
		}
		if c := p.waitStatus("open"); c["assigneeId"] != agent {
			t.Errorf("conversation = %v, want assigned to the online agent", c)
		}
		// With the only agent full, the next customer is told their place.
		one := 1
		if _, err := e.srv.DB.UpdateUser(t.Context(), agent, helpdesk.UserUpdate{MaxConversations: &one}, helpdesk.Now()); err != nil {
			t.Fatal(err)
		}
		q := b.customer(2)
		q.greet()
		q.say("2")
		q.await(queued("Vendas"))
	})
}

func TestBotHandsOverWhenStuck(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		b := startBot(t, e, nil)

		// Three answers the bot cannot use: two retries, then a person.
		lost := b.customer(1)
		lost.greet()
		for i := 1; i <= 2; i++ {
			lost.say("banana")
			retry := lost.next()
			if !strings.HasPrefix(text(retry), bot.TextRetry) {
				t.Fatalf("retry %d: %q", i, text(retry))
			}
			if kind, _, _ := choices(t, retry); kind != "list" {
				t.Errorf("the retry shows the menu again, got %s", kind)
			}
		}
		lost.say("9")
		lost.await(bot.TextTooManyTries)
		c := lost.waitStatus("waiting")
		if h := lost.handoff(c["id"].(string)); h["reason"] != bot.ReasonInvalid {
			t.Errorf("handoff = %v", h)
		}

		// Asking for a person at any point.
		human := b.customer(2)
		human.greet()
		human.say("Quero falar com um ATENDENTE")
		human.await(bot.TextToHuman)
		c = human.waitStatus("waiting")
		if h := human.handoff(c["id"].(string)); h["reason"] != bot.ReasonAskedHuman {
			t.Errorf("handoff = %v", h)
		}

		// The bot switched off mid-conversation: the next message goes to a
		// person.
		off := b.customer(3)
		off.greet()
		b.put("enabled", false, 200)
		off.say("1")
		c = off.waitStatus("waiting")
		if h := off.handoff(c["id"].(string)); h["reason"] != bot.ReasonBotOff {
			t.Errorf("handoff = %v", h)
		}
	})
}

func TestBotInactivityTimeout(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		b := startBot(t, e, map[string]any{"inactivity_timeout": 1})
		quiet := b.customer(1)
		quiet.greet()
		quiet.await(bot.TextInactivity)
		c := quiet.waitStatus("waiting")
		if h := quiet.handoff(c["id"].(string)); h["reason"] != bot.ReasonInactivity {
			t.Errorf("handoff = %v", h)
		}
	})
}

func TestBotOutOfHours(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		// Suporte never opens; Vendas always does.
		b := startBot(t, e, map[string]any{
			"business_hours": map[string]any{"timezone": "America/Sao_Paulo", "week": map[string]any{},
				"departments": map[string]any{"Vendas": map[string]any{"week": map[string]any{
					"sun": []any{map[string]any{"from": "00:00", "to": "24:00"}}, "mon": []any{map[string]any{"from": "00:00", "to": "24:00"}},
					"tue": []any{map[string]any{"from": "00:00", "to": "24:00"}}, "wed": []any{map[string]any{"from": "00:00", "to": "24:00"}},
					"thu": []any{map[string]any{"from": "00:00", "to": "24:00"}}, "fri": []any{map[string]any{"from": "00:00", "to": "24:00"}},
					"sat": []any{map[string]any{"from": "00:00", "to": "24:00"}}}}}},
			"out_of_hours_message": "Estamos fechados agora; respondemos amanhã a partir das 8h.",
		})
		night := b.customer(1)
		night.greet()
		night.say("suporte")
		if got := night.await(queued("Suporte")); !strings.Contains(got, "Estamos fechados agora") {
			t.Errorf("out of hours: %q", got)
		}
		if c := night.waitStatus("waiting"); c["departmentId"] != b.depts["Suporte"] {
			t.Errorf("still queued in Suporte: %v", c)
		}
		day := b.customer(2)
		day.greet()
		day.say("vendas")
		if got := day.await(queued("Vendas")); strings.Contains(got, "fechados") {
			t.Errorf("Vendas is open: %q", got)
		}
	})
}

func TestBotConfigAndFlowVersions(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		b := startBot(t, e, nil)
		cfg := b.mustStatus(b.call("GET", "/api/v1/bot/config", b.admin.access, nil), 200).json(t)
		vals := cfg["values"].(map[string]any)
		if cfg["flowVersion"] != 1.0 || vals["enabled"] != true || vals["inactivity_timeout"] != 600.0 || vals["business_hours"] != nil {
			t.Fatalf("config = %v", cfg)
		}
		if vals["flow"].(map[string]any)["start"] != "boas_vindas" {
			t.Errorf("default flow = %v", vals["flow"])
		}

		// Wrong types, unknown keys and broken flows are 400/404 naming the problem.
		for key, value := range map[string]any{"enabled": "yes", "inactivity_timeout": "10m", "ai_enabled": nil, "out_of_hours_message": 3} {
			r := b.put(key, value, 400)
			if r.errCode(t) != helpdesk.CodeValidation || r.errFields(t)["value"] == nil {
				t.Errorf("%s=%v: %s", key, value, r.raw)
			}
		}
		b.mustStatus(b.call("PUT", "/api/v1/bot/config/colour", b.admin.access, map[string]any{"value": 1}), 404)
		b.mustStatus(b.call("PUT", "/api/v1/bot/config/enabled", b.admin.access, map[string]any{}), 400)
		tooLong := bot.DefaultFlow()
		tooLong.Nodes[1].Options = tooLong.Nodes[1].Options[1:] // three options: buttons, and one title is 22 characters
		tooLong.Nodes[0].Next = "nowhere"
		r := b.put("flow", tooLong, 400)
		fields := r.errFields(t)
		if !strings.Contains(fmt.Sprint(fields["value.nodes.menu.options.atendente.title"]), "at most 20 characters") ||
			!strings.Contains(fmt.Sprint(fields["value.nodes.boas_vindas.next"]), "unknown node") {
			t.Errorf("fields = %v", fields)
		}

		// A conversation in progress finishes on the version it started on.
		old := b.customer(1)
		old.greet()
		v2 := bot.Flow{Start: "menu", Nodes: []bot.Node{{ID: "menu", Type: bot.NodeMenu, Text: "Nova versão: escolha",
			Options: []bot.Option{{ID: "a", Title: "Vendas", Department: "Vendas"}, {ID: "b", Title: "Atendente", Action: bot.ActionTargetHuman}}}}}
		if got := b.put("flow", v2, 200).json(t); got["flowVersion"] != 2.0 {
			t.Fatalf("after saving: %v", got)
		}
		flows := b.mustStatus(b.call("GET", "/api/v1/bot/flows", b.admin.access, nil), 200).json(t)["data"].([]any)
		if len(flows) != 2 || flows[0].(map[string]any)["version"] != 2.0 || flows[0].(map[string]any)["createdBy"] != b.admin.userID ||
			flows[1].(map[string]any)["createdBy"] != nil {
			t.Fatalf("flows = %v", flows)
		}
		old.say("3") // Financeiro in version 1; version 2 has two options
		old.await(queued("Financeiro"))
		fresh := b.customer(2)
		fresh.say("oi")
		menu := fresh.next()
		if kind, _, titles := choices(t, menu); kind != "button" || text(menu) != "Nova versão: escolha" || len(titles) != 2 {
			t.Errorf("new conversation: %s %v %q", kind, titles, text(menu))
		}
		if _, err := b.srv.Sandbox.TapButton(t.Context(), fresh.c, menu.WAMID, "bot:menu:a", "Vendas"); err != nil {
			t.Fatal(err)
		}
		fresh.await(queued("Vendas"))
	})
}

func TestBotOffLeavesConversationsWaiting(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		if err := e.srv.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		b := botEnv{testEnv: e, admin: e.admin()}
		p := b.customer(1)
		p.say("Olá")
		if c := p.conversation(); c["status"] != "waiting" {
			t.Fatalf("with the bot off: %v", c)
		}
	})
}

func TestBotHandBack(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		b := startBot(t, e, nil)
		p := b.customer(1)
		p.greet()
		p.say("atendente")
		p.await(bot.TextToHuman)
		c := p.waitStatus("waiting")
		id := c["id"].(string)
		b.mustStatus(b.call("POST", "/api/v1/conversations/"+id+"/takeover", b.admin.access, nil), 200)
		back := b.mustStatus(b.call("POST", "/api/v1/conversations/"+id+"/bot", b.admin.access, nil), 200).json(t)
		if back["status"] != "bot" || back["assigneeId"] != nil {
			t.Fatalf("handed back: %v", back)
		}
		b.mustStatus(b.call("POST", "/api/v1/conversations/"+id+"/bot", b.admin.access, nil), 422)
		// The menu is asked again (the queue notice may be there too).
		p.await("Como podemos ajudar?")
		p.say("1")
		p.await(queued("Suporte"))
		if c := p.waitStatus("waiting"); c["departmentId"] != b.depts["Suporte"] {
			t.Errorf("department = %v", c["departmentId"])
		}
		// With the bot switched off there is nobody to hand back to.
		b.put("enabled", false, 200)
		if r := b.mustStatus(b.call("POST", "/api/v1/conversations/"+id+"/bot", b.admin.access, nil), 422); r.errCode(t) != helpdesk.CodeUnprocessable {
			t.Errorf("code = %s", r.errCode(t))
		}
	})
}

// mustInsertBotConversation is a waiting conversation the bot talked in
// before (so it may be handed back); it switches the bot on.
func mustInsertBotConversation(t *testing.T, e *testEnv, deptID string) string {
	t.Helper()
	id := mustInsertConversation(t, e, deptID)
	now := helpdesk.Now()
	if err := e.srv.DB.PutBotConfigValue(context.Background(), bot.KeyEnabled, "true", "", now); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.DB.SaveBotSession(context.Background(), helpdesk.BotSession{ConversationID: id, FlowVersion: 1, Node: "menu",
		Seq: 1, LastActivityAt: now, CreatedAt: now, EndedAt: &now, EndedReason: bot.ReasonAskedHuman}); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestBotCSAT(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		b := startBot(t, e, map[string]any{"csat_enabled": true})
		// closeWithAgent takes the customer's conversation from the queue and
		// closes it with body.
		closeWithAgent := func(p *phone, body any) map[string]any {
			p.greet()
			p.say("atendente")
			p.await(bot.TextToHuman)
			id := p.waitStatus("waiting")["id"].(string)
			b.mustStatus(b.call("POST", "/api/v1/conversations/"+id+"/takeover", b.admin.access, nil), 200)
			return b.mustStatus(b.call("POST", "/api/v1/conversations/"+id+"/close", b.admin.access, body), 200).json(t)
		}
		conversations := func(p *phone) []any {
			return b.mustStatus(b.call("GET", "/api/v1/conversations?q="+p.c.WAID, b.admin.access, nil), 200).json(t)["data"].([]any)
		}

		// Rating by tap.
		tap := b.customer(1)
		closed := closeWithAgent(tap, nil)
		if closed["status"] != "closed" || closed["csatRequestedAt"] == nil {
			t.Fatalf("closed = %v", closed)
		}
		survey := tap.find("the survey", func(m sandbox.Sent) bool { return strings.Contains(text(m), "Como você avalia") })
		kind, ids, titles := choices(t, survey)
		if kind != "list" || len(ids) != 5 || ids[0] != "csat:5" || titles[4] != "1 - Péssimo" {
			t.Fatalf("survey = %s %v %v", kind, ids, titles)
		}
		if _, err := b.srv.Sandbox.ChooseListItem(t.Context(), tap.c, survey.WAMID, "csat:4", titles[1], ""); err != nil {
			t.Fatal(err)
		}
		tap.await(helpdesk.CSATThanks)
		convs := conversations(tap)
		if len(convs) != 1 || convs[0].(map[string]any)["csatScore"] != 4.0 || convs[0].(map[string]any)["status"] != "closed" {
			t.Fatalf("after the tap: %v", convs)
		}
		// Other text afterwards opens a new conversation.
		tap.say("Oi, tenho outra dúvida")
		tap.next()
		if convs := conversations(tap); len(convs) != 2 {
			t.Errorf("conversations = %v", convs)
		}

		// Rating typed, with a comment.
		typed := b.customer(2)
		closeWithAgent(typed, map[string]any{})
		typed.await("Como você avalia")
		typed.say("5 - atendimento muito rápido")
		typed.await(helpdesk.CSATThanks)
		c := conversations(typed)
		if len(c) != 1 || c[0].(map[string]any)["csatScore"] != 5.0 || c[0].(map[string]any)["csatComment"] != "atendimento muito rápido" {
			t.Fatalf("after typing: %v", c)
		}

		// sendSurvey false: no question.
		quiet := b.customer(3)
		if got := closeWithAgent(quiet, map[string]any{"sendSurvey": false}); got["csatRequestedAt"] != nil {
			t.Errorf("survey sent anyway: %v", got)
		}
	})
}

// fakeOpenAI is an OpenAI-compatible chat-completions server that checks
// what it is asked and answers by the customer's last words: "entregam" →
// an answer, "cancelar" → a handoff tool call, "erro" → HTTP 500.
func fakeOpenAI(t *testing.T, knowledge string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model    string `json:"model"`
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
			Tools []struct {
				Function struct {
					Name string `json:"name"`
				} `json:"function"`
			} `json:"tools"`
		}
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-test" {
			t.Errorf("fake OpenAI: %s %s auth %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Errorf("fake OpenAI: body: %v", err)
		}
		w.Header().Set("Content-Type", "application/json")
		n := len(req.Messages)
		if n == 2 && req.Messages[0].Content == bot.SummaryPrompt {
			// The note for the agent: the transcript, no tools.
			if len(req.Tools) != 0 || !strings.Contains(req.Messages[1].Content, "Cliente: ") {
				t.Errorf("fake OpenAI: unexpected summary request %+v", req)
			}
			fmt.Fprintf(w, `{"choices":[{"message":{"role":"assistant","content":%q}}]}`, "Resumo: "+req.Messages[1].Content[strings.LastIndex(req.Messages[1].Content, "Cliente: "):])
			return
		}
		if req.Model != "modelo-teste" || n < 2 || req.Messages[0].Role != "system" || !strings.Contains(req.Messages[0].Content, knowledge) ||
			!strings.Contains(req.Messages[0].Content, "não invente preços") || req.Messages[n-1].Role != "user" ||
			len(req.Tools) != 1 || req.Tools[0].Function.Name != bot.HandoffTool {
			t.Errorf("fake OpenAI: unexpected request %+v", req)
		}
		// The conversation so far is there: the bot's menu as the assistant.
		if !slices.ContainsFunc(req.Messages, func(m struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		}) bool {
			return m.Role == "assistant" && strings.Contains(m.Content, "Como podemos ajudar?")
		}) {
			t.Errorf("fake OpenAI: the menu is missing from the history: %+v", req.Messages)
		}
		last := req.Messages[n-1].Content
		switch {
		case strings.Contains(last, "erro"):
			http.Error(w, `{"error":{"message":"overloaded"}}`, http.StatusInternalServerError)
		case strings.Contains(last, "cancelar"):
			fmt.Fprintf(w, `{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
				"function":{"name":%q,"arguments":"{\"motivo\":\"cancelamento\"}"}}]}}]}`, bot.HandoffTool)
		default:
			fmt.Fprint(w, `{"choices":[{"message":{"role":"assistant","content":"Sim! Entregamos em todo o Brasil em até 5 dias úteis."}}]}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestBotAI(t *testing.T) {
	const knowledge = "Entregamos em todo o Brasil em até 5 dias úteis."
	ai := fakeOpenAI(t, knowledge)
	env := map[string]string{"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": ai.URL + "/v1", "OPENAI_MODEL": "modelo-teste"}
	forEachEngine(t, env, func(t *testing.T, e *testEnv) {
		b := startBot(t, e, map[string]any{"ai_enabled": true, "ai_knowledge_base": knowledge})

		// Free text that is not a menu choice is answered by the AI, and
		// the menu still works afterwards.
		p := b.customer(1)
		p.greet()
		p.say("Vocês entregam em Recife?")
		p.await("Entregamos em todo o Brasil")
		if c := p.conversation(); c["status"] != "bot" {
			t.Errorf("after the AI answer: %v", c)
		}
		p.say("2")
		p.await(queued("Vendas"))

		// The model hands over with its tool.
		h := b.customer(2)
		h.greet()
		h.say("Quero cancelar meu contrato")
		h.await(bot.TextToHuman)
		c := h.waitStatus("waiting")
		if ev := h.handoff(c["id"].(string)); ev["reason"] != bot.ReasonAIHandoff {
			t.Errorf("handoff = %v", ev)
		}
		// The agent finds the AI's note on the timeline.
		if got := waitEvent(t, e, b.admin.access, c["id"].(string), helpdesk.EventBotSummary)["summary"]; !strings.Contains(fmt.Sprint(got), "cancelar meu contrato") {
			t.Errorf("summary = %v", got)
		}

		// An API error hands over politely.
		f := b.customer(3)
		f.greet()
		f.say("isso vai dar erro")
		f.await(bot.TextAIFailed)
		c = f.waitStatus("waiting")
		if ev := f.handoff(c["id"].(string)); ev["reason"] != bot.ReasonAIFailed {
			t.Errorf("handoff = %v", ev)
		}
	})
}

func TestBotCollectsInput(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		b := startBot(t, e, nil)
		b.put("flow", bot.Flow{Start: "menu", Nodes: []bot.Node{
			{ID: "menu", Type: bot.NodeMenu, Text: "Olá! Sobre o que é?", Options: []bot.Option{
				{ID: "pedido", Title: "Meu pedido", Next: "numero"}, {ID: "outro", Title: "Outro assunto", Action: bot.ActionTargetHuman}}},
			{ID: "numero", Type: bot.NodeInput, Text: "Qual o número do pedido?", Variable: "pedido", Next: "fim"},
			{ID: "fim", Type: bot.NodeHandoff, Text: "Obrigado! O pedido {{pedido}} vai para o setor de vendas.", Department: "Vendas"},
		}}, 200)
		p := b.customer(1)
		p.say("oi")
		menu := p.next()
		if kind, _, titles := choices(t, menu); kind != "button" || len(titles) != 2 {
			t.Fatalf("menu = %s %v", kind, titles)
		}
		if _, err := b.srv.Sandbox.TapButton(t.Context(), p.c, menu.WAMID, "bot:menu:pedido", "Meu pedido"); err != nil {
			t.Fatal(err)
		}
		p.await("Qual o número do pedido?")
		p.say("A-12345")
		p.await("Obrigado! O pedido A-12345 vai para o setor de vendas.")
		c := p.waitStatus("waiting")
		h := p.handoff(c["id"].(string))
		if c["departmentId"] != b.depts["Vendas"] || h["reason"] != bot.ReasonHandoffNode ||
			h["variables"].(map[string]any)["pedido"] != "A-12345" || fmt.Sprint(h["path"]) != "[menu numero fim]" {
			t.Errorf("conversation %v, handoff %v", c, h)
		}
	})
}

// waitEvent waits for an event of type typ on the conversation's timeline
// and returns its data.
func waitEvent(t *testing.T, e *testEnv, token, convID, typ string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		h := e.mustStatus(e.call("GET", "/api/v1/conversations/"+convID+"/history", token, nil), 200).json(t)
		for _, it := range h["items"].([]any) {
			if ev, ok := it.(map[string]any)["event"].(map[string]any); ok && ev["type"] == typ {
				return ev["data"].(map[string]any)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s event on %s", typ, convID)
	return nil
}

// queued is how a customer's message about joining a department's queue
// begins.
func queued(dept string) string {
	return fmt.Sprintf(strings.SplitN(helpdesk.QueueNotice, "%d", 2)[0], dept)
}

// TestBotTurnsReachTheDashboard: what the bot says appears live as
// new_message, and its handoff to a queue is a conversation_update for the
// agents of that department.
func TestBotTurnsReachTheDashboard(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		b := startBot(t, e, nil)
		// The number's conversations start in Vendas, so its agents follow
		// them while the bot talks.
		sb, err := e.srv.DB.GetChannelByPhoneNumberID(t.Context(), config.SandboxPhoneNumberID)
		if err != nil {
			t.Fatal(err)
		}
		e.mustStatus(e.call("PATCH", "/api/v1/channels/"+sb.ID, b.admin.access, map[string]any{"defaultDepartmentId": e.depts["Vendas"]}), 200)
		sales, _ := e.newUser(b.admin.access, helpdesk.RoleAgent, "Vendas")
		agentWS := e.dialWS("token=" + sales.access)
		agentWS.barrier()

		p := b.customer(77)
		menu := p.greet()
		botMsg := agentWS.next("new_message", func(f wsFrame) bool {
			m, _ := f.Data["message"].(map[string]any)
			return m["senderType"] == "bot"
		})
		convID := botMsg.Data["conversationId"].(string)
		if m := botMsg.Data["message"].(map[string]any); m["type"] != "interactive" {
			t.Errorf("the bot's menu reached the dashboard as %v", m)
		}
		_, ids, _ := choices(t, menu)
		if _, err := b.srv.Sandbox.ChooseListItem(t.Context(), p.c, menu.WAMID, ids[1], "Vendas", ""); err != nil {
			t.Fatal(err)
		}
		up := agentWS.next("conversation_update", func(f wsFrame) bool {
			return f.Data["conversationId"] == convID && f.Data["action"] == helpdesk.EventBotHandoff
		})
		if c := up.Data["conversation"].(map[string]any); c["status"] != "waiting" || c["departmentId"] != e.depts["Vendas"] {
			t.Errorf("handoff update = %v", c)
		}
		if list := e.mustStatus(e.call("GET", "/api/v1/conversations?status=waiting", sales.access, nil), 200).json(t)["data"].([]any); len(list) != 1 ||
			list[0].(map[string]any)["lastMessage"] == nil {
			t.Errorf("the agent's queue = %v", list)
		}
	})
}
