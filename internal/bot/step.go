package bot

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// What the bot says on its own (the flow's nodes say the rest).
const (
	TextRetry         = "Não entendi sua resposta. "
	TextToDepartment  = "Certo! Vou transferir você para o setor %s. Aguarde um momento, por favor."
	TextToHuman       = "Certo! Vou transferir você para um de nossos atendentes. Aguarde um momento, por favor."
	TextTooManyTries  = "Não consegui entender suas respostas. Vou transferir você para um de nossos atendentes."
	TextAskAI         = "Certo! Escreva sua pergunta e eu vou tentar ajudar."
	TextInactivity    = "Como não recebemos sua resposta, vou encaminhar sua conversa para um de nossos atendentes."
	textNumberedHint  = "Responda com o número da opção."
	maxInvalidAnswers = 3
	maxVariableLength = 500
)

// Handoff reasons, recorded on the conversation's timeline.
const (
	ReasonMenuChoice  = "menu_choice"
	ReasonHandoffNode = "handoff_node"
	ReasonAskedHuman  = "asked_for_human"
	ReasonInvalid     = "invalid_answers"
	ReasonFlowEnd     = "flow_end"
	ReasonInactivity  = "inactivity"
	ReasonAIFailed    = "ai_failed"
	ReasonAIHandoff   = "ai_handoff"
	ReasonBotOff      = "bot_disabled" // the bot was switched off mid-conversation
)

// Action kinds: what the caller does after sending the replies.
const (
	ActWait  = ""      // wait for the customer's next message
	ActQueue = "queue" // put the conversation in Action.Department's queue (waiting)
	ActAI    = "ai"    // let the AI answer the customer's message
)

// ModeAI is State.Mode once the customer talks with the AI.
const ModeAI = "ai"

// State is where one conversation is in its flow; it is persisted between
// the customer's messages.
type State struct {
	Node    string            `json:"node"`
	Vars    map[string]string `json:"vars,omitempty"`
	Invalid int               `json:"invalid"`
	// Path lists the nodes visited, for the agent who takes over.
	Path []string `json:"path,omitempty"`
	Mode string   `json:"mode,omitempty"` // "" (the flow) or ModeAI
}

// Input is one customer message as the bot sees it.
type Input struct {
	Text    string // typed text, or the title of the tapped button or row
	ReplyID string // the id of the tapped button or row, "" for typed text
}

// Reply is one message the bot sends: plain text, or an interactive
// message (reply buttons or a list) whose Text is the body.
type Reply struct {
	Text        string
	Interactive json.RawMessage // the Cloud API's interactive object; nil for text
}

// Action is what happens after the replies.
type Action struct {
	Kind       string
	Department string // ActQueue: a department id or name; "" keeps the conversation's
	Reason     string
}

// Options are the settings a step depends on.
type Options struct {
	AIEnabled bool
	// DepartmentName turns a department reference into the name the
	// customer is told; nil tells the reference itself.
	DepartmentName func(ref string) string
}

// Outcome is the result of a step.
type Outcome struct {
	Replies []Reply
	State   State
	Action  Action
}

// Start begins a conversation at the flow's start node.
func Start(f Flow, o Options) Outcome {
	return enter(f, State{Vars: map[string]string{}}, f.Start, nil, o)
}

// Step answers the customer's message in state st. It never fails: an
// answer it cannot use is retried, and after maxInvalidAnswers, or at any
// sign of confusion in the flow itself, the conversation goes to a person.
func Step(f Flow, st State, in Input, o Options) Outcome {
	st = st.clone()
	if st.Mode == ModeAI {
		if asksForHuman(in.Text) {
			return toHuman(st, nil, ReasonAskedHuman, f, TextToHuman)
		}
		return Outcome{State: st, Action: Action{Kind: ActAI}}
	}
	n, ok := f.Node(st.Node)
	if !ok {
		return toHuman(st, nil, ReasonFlowEnd, f, TextToHuman)
	}
	switch n.Type {
	case NodeMenu:
		if opt, ok := match(n, in); ok {
			st.Invalid = 0
			return follow(f, st, n, opt, o)
		}
		if asksForHuman(in.Text) {
			return toHuman(st, nil, ReasonAskedHuman, f, TextToHuman)
		}
		if o.AIEnabled && strings.TrimSpace(in.Text) != "" && in.ReplyID == "" {
			return Outcome{State: st, Action: Action{Kind: ActAI}}
		}
		return invalid(f, st, RenderMenu(n, st.Vars, TextRetry))
	case NodeInput:
		text := strings.TrimSpace(in.Text)
		if asksForHuman(text) {
			return toHuman(st, nil, ReasonAskedHuman, f, TextToHuman)
		}
		if text == "" {
			return invalid(f, st, Reply{Text: TextRetry + interpolate(n.Text, st.Vars)})
		}
		if utf8.RuneCountInString(text) > maxVariableLength {
			text = string([]rune(text)[:maxVariableLength])
		}
		st.Vars[n.Variable] = text
		st.Invalid = 0
		if n.Next == "" {
			return toHuman(st, nil, ReasonFlowEnd, f, TextToHuman)
		}
		return enter(f, st, n.Next, nil, o)
	}
	// A conversation never rests on another kind of node; if it does, a
	// person takes it rather than leave the customer stuck.
	return toHuman(st, nil, ReasonFlowEnd, f, TextToHuman)
}

// Timeout is the step when the customer stopped answering.
func Timeout(f Flow, st State) Outcome {
	return toHuman(st.clone(), nil, ReasonInactivity, f, TextInactivity)
}

func (st State) clone() State {
	c := st
	c.Vars = make(map[string]string, len(st.Vars))
	for k, v := range st.Vars {
		c.Vars[k] = v
	}
	c.Path = append([]string(nil), st.Path...)
	return c
}

// enter walks from node id, saying what each node says, until a node waits
// for the customer or hands the conversation over.
func enter(f Flow, st State, id string, replies []Reply, o Options) Outcome {
	for hops := 0; hops <= len(f.Nodes); hops++ {
		n, ok := f.Node(id)
		if !ok {
			return toHuman(st, replies, ReasonFlowEnd, f, TextToHuman)
		}
		st.Path = append(st.Path, n.ID)
		st.Node, st.Invalid = n.ID, 0
		if n.Type != NodeMessage {
			return settle(f, st, n, replies, o)
		}
		replies = append(replies, Reply{Text: interpolate(n.Text, st.Vars)})
		if n.Next == "" {
			return toHuman(st, replies, ReasonFlowEnd, f, TextToHuman)
		}
		id = n.Next
	}
	// A loop: Validate refuses them, but a person is the safe answer if one
	// slipped through.
	return toHuman(st, replies, ReasonFlowEnd, f, TextToHuman)
}

// settle handles a node that ends the walk: it waits for the customer or
// hands the conversation over.
func settle(f Flow, st State, n Node, replies []Reply, o Options) Outcome {
	switch n.Type {
	case NodeMenu:
		replies = append(replies, RenderMenu(n, st.Vars, ""))
		return Outcome{Replies: replies, State: st}
	case NodeInput:
		replies = append(replies, Reply{Text: interpolate(n.Text, st.Vars)})
		return Outcome{Replies: replies, State: st}
	case NodeHandoff:
		text := interpolate(n.Text, st.Vars)
		if text == "" {
			text = departmentText(n.Department, o)
		}
		out := toHuman(st, replies, ReasonHandoffNode, f, text)
		out.Action.Department = n.Department
		if n.Department == "" {
			out.Action.Department = f.HumanDepartment
		}
		return out
	case NodeAI:
		if !o.AIEnabled {
			return toHuman(st, replies, ReasonAIFailed, f, TextToHuman)
		}
		st.Mode = ModeAI
		text := interpolate(n.Text, st.Vars)
		if text == "" {
			text = TextAskAI
		}
		return Outcome{Replies: append(replies, Reply{Text: text}), State: st}
	}
	// An unknown node type: Validate refuses it.
	return toHuman(st, replies, ReasonFlowEnd, f, TextToHuman)
}

func follow(f Flow, st State, n Node, opt Option, o Options) Outcome {
	switch {
	case opt.Next != "":
		return enter(f, st, opt.Next, nil, o)
	case opt.Department != "":
		out := toHuman(st, nil, ReasonMenuChoice, f, departmentText(opt.Department, o))
		out.Action.Department = opt.Department
		return out
	case opt.Action == ActionTargetAI && o.AIEnabled:
		st.Mode = ModeAI
		return Outcome{Replies: []Reply{{Text: TextAskAI}}, State: st}
	}
	return toHuman(st, nil, ReasonAskedHuman, f, TextToHuman)
}

func departmentText(ref string, o Options) string {
	if ref == "" {
		return TextToHuman
	}
	name := ref
	if o.DepartmentName != nil {
		if got := o.DepartmentName(ref); got != "" {
			name = got
		}
	}
	return fmt.Sprintf(TextToDepartment, name)
}

// toHuman ends the bot's part: text is said and the conversation goes to
// the flow's human queue (callers override the department).
func toHuman(st State, replies []Reply, reason string, f Flow, text string) Outcome {
	if text != "" {
		replies = append(replies, Reply{Text: text})
	}
	return Outcome{Replies: replies, State: st, Action: Action{Kind: ActQueue, Department: f.HumanDepartment, Reason: reason}}
}

func invalid(f Flow, st State, retry Reply) Outcome {
	st.Invalid++
	if st.Invalid >= maxInvalidAnswers {
		return toHuman(st, nil, ReasonInvalid, f, TextTooManyTries)
	}
	return Outcome{Replies: []Reply{retry}, State: st}
}

// ReplyID is the id of an option's button or list row: the node and the
// option, so a tap on an older menu is not mistaken for this one's.
func ReplyID(node, option string) string { return "bot:" + node + ":" + option }

var numberAnswer = regexp.MustCompile(`^\s*(\d{1,2})\s*[.)-]?\s*$`)

// match finds the option the customer chose: by the tapped id, by its
// number, or by its title typed in any case and with or without accents.
func match(n Node, in Input) (Option, bool) {
	for _, o := range n.Options {
		if in.ReplyID != "" && in.ReplyID == ReplyID(n.ID, o.ID) {
			return o, true
		}
	}
	if m := numberAnswer.FindStringSubmatch(in.Text); m != nil {
		if i, _ := strconv.Atoi(m[1]); i >= 1 && i <= len(n.Options) {
			return n.Options[i-1], true
		}
		return Option{}, false
	}
	said := simplify(in.Text)
	if said == "" {
		return Option{}, false
	}
	for _, o := range n.Options {
		if simplify(o.Title) == said {
			return o, true
		}
	}
	return Option{}, false
}

// simplify folds case and accents and keeps only words: "  Financeiro! "
// and "financeiro" are the same answer.
func simplify(s string) string {
	return strings.Join(words(s), " ")
}

func words(s string) []string {
	return strings.FieldsFunc(helpdesk.Fold(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// escalationWords, folded: a customer who writes one of them wants a person.
var escalationWords = map[string]bool{
	"atendente": true, "atendentes": true, "humano": true, "humana": true,
	"operador": true, "operadora": true, "human": true, "agent": true,
}

func asksForHuman(text string) bool {
	for _, w := range words(text) {
		if escalationWords[w] {
			return true
		}
	}
	return false
}

var placeholder = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)

// interpolate replaces {{name}} by the collected variable (unknown names by
// nothing).
func interpolate(text string, vars map[string]string) string {
	if !strings.Contains(text, "{{") {
		return text
	}
	return placeholder.ReplaceAllStringFunc(text, func(m string) string {
		return vars[placeholder.FindStringSubmatch(m)[1]]
	})
}

// RenderMenu turns a menu into the message WhatsApp shows best: up to 3
// options as reply buttons, up to 10 as a list, more as numbered text.
// prefix is put before the menu's text (a retry).
func RenderMenu(n Node, vars map[string]string, prefix string) Reply {
	body := prefix + interpolate(n.Text, vars)
	switch {
	case len(n.Options) <= MaxButtons:
		body = truncate(body, MaxInteractiveBody)
		buttons := make([]map[string]any, 0, len(n.Options))
		for _, o := range n.Options {
			buttons = append(buttons, map[string]any{"type": "reply", "reply": map[string]any{"id": ReplyID(n.ID, o.ID), "title": o.Title}})
		}
		return interactive(body, map[string]any{"type": "button", "body": map[string]any{"text": body},
			"action": map[string]any{"buttons": buttons}})
	case len(n.Options) <= MaxListRows:
		body = truncate(body, MaxInteractiveBody)
		rows := make([]map[string]any, 0, len(n.Options))
		for _, o := range n.Options {
			row := map[string]any{"id": ReplyID(n.ID, o.ID), "title": o.Title}
			if o.Description != "" {
				row["description"] = o.Description
			}
			rows = append(rows, row)
		}
		button, section := orDefault(n.Button, defaultListButton), orDefault(n.SectionTitle, defaultSectionTitle)
		return interactive(body, map[string]any{"type": "list", "body": map[string]any{"text": body},
			"action": map[string]any{"button": button, "sections": []any{map[string]any{"title": section, "rows": rows}}}})
	}
	var b strings.Builder
	b.WriteString(body)
	b.WriteString("\n")
	for i, o := range n.Options {
		fmt.Fprintf(&b, "\n%d. %s", i+1, o.Title)
	}
	b.WriteString("\n\n" + textNumberedHint)
	return Reply{Text: truncate(b.String(), MaxTextBody)}
}

func interactive(body string, obj map[string]any) Reply {
	raw, _ := json.Marshal(obj) // maps of strings always marshal
	return Reply{Text: body, Interactive: raw}
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

func truncate(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	return string([]rune(s)[:limit-1]) + "…"
}
