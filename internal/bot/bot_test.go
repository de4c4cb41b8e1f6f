package bot

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func decodeInteractive(t *testing.T, r Reply) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Interactive, &m); err != nil {
		t.Fatalf("interactive %s: %v", r.Interactive, err)
	}
	return m
}

func menuWith(n int, title func(i int) string) Node {
	node := Node{ID: "m", Type: NodeMenu, Text: "Escolha"}
	for i := range n {
		node.Options = append(node.Options, Option{ID: "o" + string(rune('a'+i)), Title: title(i), Action: ActionTargetHuman})
	}
	return node
}

func TestRenderMenu(t *testing.T) {
	titles := func(i int) string { return "Opção " + string(rune('A'+i)) }
	t.Run("ThreeOptionsAreButtons", func(t *testing.T) {
		r := RenderMenu(menuWith(3, titles), nil, "")
		m := decodeInteractive(t, r)
		buttons := m["action"].(map[string]any)["buttons"].([]any)
		if m["type"] != "button" || len(buttons) != 3 || r.Text != "Escolha" {
			t.Fatalf("got %s", r.Interactive)
		}
		b := buttons[1].(map[string]any)["reply"].(map[string]any)
		if b["id"] != "bot:m:ob" || b["title"] != "Opção B" {
			t.Errorf("button = %v", b)
		}
	})
	t.Run("TenOptionsAreAList", func(t *testing.T) {
		r := RenderMenu(menuWith(10, titles), nil, "")
		m := decodeInteractive(t, r)
		action := m["action"].(map[string]any)
		rows := action["sections"].([]any)[0].(map[string]any)["rows"].([]any)
		if m["type"] != "list" || len(rows) != 10 || action["button"] != "Ver opções" {
			t.Fatalf("got %s", r.Interactive)
		}
	})
	t.Run("ElevenOptionsAreNumberedText", func(t *testing.T) {
		r := RenderMenu(menuWith(11, titles), nil, "")
		if r.Interactive != nil || !strings.Contains(r.Text, "\n11. Opção K") || !strings.Contains(r.Text, "\n1. Opção A") {
			t.Fatalf("got %q", r.Text)
		}
	})
}

func TestValidate(t *testing.T) {
	depts := func(ref string) bool { return ref == "Suporte" || ref == "Vendas" || ref == "Financeiro" }
	if p := DefaultFlow().Validate(depts); p != nil {
		t.Fatalf("the default flow is invalid: %v", p)
	}
	cases := []struct {
		name  string
		edit  func(f *Flow)
		field string
		says  string
	}{
		{"UnknownStart", func(f *Flow) { f.Start = "nope" }, "start", "names no node"},
		{"UnknownTarget", func(f *Flow) { f.Nodes[0].Next = "ghost" }, "nodes.boas_vindas.next", "unknown node"},
		{"UnknownDepartment", func(f *Flow) { f.Nodes[1].Options[0].Department = "Jurídico" }, "nodes.menu.options.suporte.department", "not a department"},
		{"ButtonTitleTooLong", func(f *Flow) { f.Nodes[1].Options = f.Nodes[1].Options[1:] }, "nodes.menu.options.atendente.title", "at most 20 characters"},
		{"RowTitleTooLong", func(f *Flow) { f.Nodes[1].Options[0].Title = "Suporte técnico avançado 24h" }, "nodes.menu.options.suporte.title", "at most 24"},
		{"ListButtonTooLong", func(f *Flow) { f.Nodes[1].Button = "Clique aqui para ver as opções" }, "nodes.menu.button", "at most 20"},
		{"RowDescriptionTooLong", func(f *Flow) { f.Nodes[1].Options[0].Description = strings.Repeat("x", 73) }, "nodes.menu.options.suporte.description", "at most 72"},
		{"DuplicateTitle", func(f *Flow) { f.Nodes[1].Options[1].Title = "SUPORTE" }, "nodes.menu.options.vendas.title", "same as another"},
		{"TwoTargets", func(f *Flow) { f.Nodes[1].Options[0].Next = "menu" }, "nodes.menu.options.suporte.next", "exactly one"},
		{"EmptyMenu", func(f *Flow) { f.Nodes[1].Options = nil }, "nodes.menu.options", "at least one"},
		{"BadType", func(f *Flow) { f.Nodes[0].Type = "gif" }, "nodes.boas_vindas.type", "must be one of"},
		{"SilentLoop", func(f *Flow) {
			f.Nodes = append(f.Nodes, Node{ID: "a", Type: NodeMessage, Text: "a", Next: "b"}, Node{ID: "b", Type: NodeMessage, Text: "b", Next: "a"})
		}, "nodes", "a → b → a"},
		{"BadVariable", func(f *Flow) {
			f.Nodes = append(f.Nodes, Node{ID: "pedido", Type: NodeInput, Text: "Número?", Variable: "1x"})
		}, "nodes.pedido.variable", "letters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := DefaultFlow()
			c.edit(&f)
			p := f.Validate(depts)
			if !strings.Contains(p[c.field], c.says) {
				t.Fatalf("problems = %v; want %s: …%s…", p, c.field, c.says)
			}
		})
	}
	// A loop through a menu waits for the customer, so it is fine.
	f := DefaultFlow()
	f.Nodes[1].Options[0] = Option{ID: "suporte", Title: "Suporte", Next: "boas_vindas"}
	if p := f.Validate(depts); p != nil {
		t.Errorf("a loop through a menu was refused: %v", p)
	}
}

func TestParseFlowRefusesUnknownFields(t *testing.T) {
	if _, err := ParseFlow([]byte(`{"start":"a","nodes":[],"strat":"x"}`)); err == nil {
		t.Fatal("unknown field accepted")
	}
}

// conversation plays a customer against the default flow.
func TestStepDefaultFlow(t *testing.T) {
	f := DefaultFlow()
	o := Options{}
	start := Start(f, o)
	if len(start.Replies) != 2 || start.Replies[1].Interactive == nil || start.State.Node != "menu" || start.Action.Kind != ActWait {
		t.Fatalf("start = %+v", start)
	}
	if m := decodeInteractive(t, start.Replies[1]); m["type"] != "list" {
		t.Fatalf("four options should be a list: %v", m)
	}
	cases := []struct {
		name string
		in   Input
		dept string
	}{
		{"Tap", Input{Text: "Vendas", ReplyID: "bot:menu:vendas"}, "Vendas"},
		{"Number", Input{Text: " 3. "}, "Financeiro"},
		{"TextWithoutAccentsOrCase", Input{Text: "FINANCEIRO!"}, "Financeiro"},
		{"AccentsDiffer", Input{Text: "súporte"}, "Suporte"},
		{"HumanOption", Input{Text: "falar com um atendente"}, ""},
		{"EscalationWord", Input{Text: "quero falar com um humano por favor"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := Step(f, start.State, c.in, o)
			if out.Action.Kind != ActQueue || out.Action.Department != c.dept || len(out.Replies) != 1 {
				t.Fatalf("out = %+v", out)
			}
		})
	}
	t.Run("ThreeInvalidAnswersGoToAPerson", func(t *testing.T) {
		st := start.State
		for i := 1; i <= 2; i++ {
			out := Step(f, st, Input{Text: "banana"}, o)
			if out.Action.Kind != ActWait || out.State.Invalid != i || !strings.HasPrefix(out.Replies[0].Text, TextRetry) {
				t.Fatalf("answer %d: %+v", i, out)
			}
			st = out.State
		}
		out := Step(f, st, Input{Text: "9"}, o)
		if out.Action.Kind != ActQueue || out.Action.Reason != ReasonInvalid || out.Replies[0].Text != TextTooManyTries {
			t.Fatalf("third: %+v", out)
		}
	})
	t.Run("StaleTapIsMatchedByTitle", func(t *testing.T) {
		out := Step(f, start.State, Input{Text: "Vendas", ReplyID: "bot:old:x"}, o)
		if out.Action.Department != "Vendas" {
			t.Fatalf("out = %+v", out)
		}
	})
	t.Run("FreeTextGoesToTheAIWhenOn", func(t *testing.T) {
		out := Step(f, start.State, Input{Text: "vocês entregam em Recife?"}, Options{AIEnabled: true})
		if out.Action.Kind != ActAI {
			t.Fatalf("out = %+v", out)
		}
	})
}

func TestStepInputAndVariables(t *testing.T) {
	f := Flow{Start: "menu", Nodes: []Node{
		{ID: "menu", Type: NodeMenu, Text: "Oi", Options: []Option{{ID: "pedido", Title: "Meu pedido", Next: "numero"}}},
		{ID: "numero", Type: NodeInput, Text: "Qual o número do pedido?", Variable: "pedido", Next: "ok"},
		{ID: "ok", Type: NodeHandoff, Text: "Pedido {{pedido}} anotado!", Department: "Vendas"},
	}}
	if p := f.Validate(nil); p != nil {
		t.Fatal(p)
	}
	st := Start(f, Options{}).State
	out := Step(f, st, Input{Text: "1"}, Options{})
	if out.Replies[0].Text != "Qual o número do pedido?" || out.State.Node != "numero" {
		t.Fatalf("out = %+v", out)
	}
	out = Step(f, out.State, Input{Text: " 12345 "}, Options{})
	if out.Action.Kind != ActQueue || out.Action.Department != "Vendas" || out.Replies[0].Text != "Pedido 12345 anotado!" ||
		out.State.Vars["pedido"] != "12345" || strings.Join(out.State.Path, ",") != "menu,numero,ok" {
		t.Fatalf("out = %+v", out)
	}
}

func TestCheckValue(t *testing.T) {
	good := map[string]string{
		KeyEnabled: `true`, KeyInactivityTimeout: `90`, KeyAISystemPrompt: `"Seja breve"`, KeyBusinessHours: `null`,
		KeyOutOfHoursMessage: `"Fechado"`,
	}
	for k, v := range good {
		if _, p := CheckValue(k, json.RawMessage(v)); p != "" {
			t.Errorf("%s=%s: %s", k, v, p)
		}
	}
	bad := map[string]string{
		KeyEnabled: `"yes"`, KeyCSATEnabled: `null`, KeyInactivityTimeout: `1.5`, KeyAIKnowledgeBase: `42`,
		KeyBusinessHours: `{"timezone":"Mars/Base","week":{}}`, "colour": `1`,
	}
	for k, v := range bad {
		if _, p := CheckValue(k, json.RawMessage(v)); p == "" {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
}

func TestBusinessHours(t *testing.T) {
	raw := `{"timezone":"America/Sao_Paulo","week":{"mon":[{"from":"08:00","to":"12:00"},{"from":"13:00","to":"18:00"}]},
		"holidays":["2026-11-30"],"departments":{"Vendas":{"week":{"mon":[{"from":"00:00","to":"24:00"}]}}}}`
	canon, p := CheckValue(KeyBusinessHours, json.RawMessage(raw))
	if p != "" {
		t.Fatal(p)
	}
	var bh BusinessHours
	if err := json.Unmarshal(canon, &bh); err != nil {
		t.Fatal(err)
	}
	sp, _ := time.LoadLocation("America/Sao_Paulo")
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, sp)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	cases := []struct {
		dept, at string
		open     bool
	}{
		{"Suporte", "2026-11-23 09:00", true},  // Monday morning
		{"Suporte", "2026-11-23 12:30", false}, // lunch
		{"Suporte", "2026-11-23 18:00", false}, // closing time
		{"Suporte", "2026-11-24 09:00", false}, // Tuesday: not listed
		{"Suporte", "2026-11-30 09:00", false}, // holiday
		{"Vendas", "2026-11-23 23:30", true},   // its own schedule
		{"vendas", "2026-11-30 10:00", false},  // the holiday counts for every department
	}
	for _, c := range cases {
		if got := bh.Open("", c.dept, at(c.at)); got != c.open {
			t.Errorf("%s at %s: open = %v", c.dept, c.at, got)
		}
	}
	var none *BusinessHours
	if !none.Open("", "", time.Now()) {
		t.Error("no schedule must mean always open")
	}
}

func TestStepAIMode(t *testing.T) {
	f := Flow{Start: "menu", Nodes: []Node{{ID: "menu", Type: NodeMenu, Text: "Oi", Options: []Option{
		{ID: "ia", Title: "Tirar uma dúvida", Action: ActionTargetAI}, {ID: "vendas", Title: "Vendas", Department: "Vendas"}}}}}
	st := Start(f, Options{AIEnabled: true}).State
	// Without AI the option goes to a person.
	if out := Step(f, st, Input{Text: "1"}, Options{}); out.Action.Kind != ActQueue {
		t.Fatalf("AI off: %+v", out)
	}
	out := Step(f, st, Input{Text: "1"}, Options{AIEnabled: true})
	if out.State.Mode != ModeAI || out.Action.Kind != ActWait || out.Replies[0].Text != TextAskAI {
		t.Fatalf("choosing the AI: %+v", out)
	}
	if q := Step(f, out.State, Input{Text: "Qual o prazo de entrega?"}, Options{AIEnabled: true}); q.Action.Kind != ActAI {
		t.Errorf("a question in AI mode: %+v", q)
	}
	if h := Step(f, out.State, Input{Text: "prefiro um humano"}, Options{AIEnabled: true}); h.Action.Kind != ActQueue || h.Action.Reason != ReasonAskedHuman {
		t.Errorf("asking for a person in AI mode: %+v", h)
	}
	if r := Resume(f, out.State, Options{AIEnabled: true}); r.Replies[0].Text != TextAskAI {
		t.Errorf("resume in AI mode: %+v", r)
	}
	if to := Timeout(f, out.State); to.Action.Reason != ReasonInactivity || to.Replies[0].Text != TextInactivity {
		t.Errorf("timeout: %+v", to)
	}
}

func TestMerge(t *testing.T) {
	menu := RenderMenu(menuWith(2, func(i int) string { return string(rune('A' + i)) }), nil, "")
	got := Merge([]Reply{{Text: "Olá!"}, {Text: "Bem-vindo."}, menu})
	if len(got) != 1 || got[0].Text != "Olá!\n\nBem-vindo.\n\nEscolha" {
		t.Fatalf("merged = %+v", got)
	}
	if m := decodeInteractive(t, got[0]); m["body"].(map[string]any)["text"] != got[0].Text {
		t.Errorf("body = %v", m["body"])
	}
	long := Reply{Text: strings.Repeat("x", MaxInteractiveBody)}
	if got := Merge([]Reply{long, menu}); len(got) != 2 {
		t.Errorf("a body over the limit must not be merged: %d messages", len(got))
	}
	if got := Merge([]Reply{{Text: "a"}, {Text: " "}, {Text: "b"}}); len(got) != 1 || got[0].Text != "a\n\nb" {
		t.Errorf("texts = %+v", got)
	}
}
