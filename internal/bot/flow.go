package bot

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// Node types.
const (
	NodeMessage = "message" // says Text, then goes on to Next at once
	NodeMenu    = "menu"    // asks Text and waits for one of Options
	NodeInput   = "input"   // asks Text and stores the answer in Variable, then goes to Next
	NodeHandoff = "handoff" // says Text (optional) and puts the conversation in Department's queue
	NodeAI      = "ai"      // says Text (optional) and lets the AI answer from then on
)

// Option actions (Option.Action).
const (
	ActionTargetHuman = "human" // a human queue: the flow's HumanDepartment, else the conversation's
	ActionTargetAI    = "ai"    // the AI answers from then on
)

// Flow is a bot conversation as data: nodes joined by their Next and by
// their options' targets. The dashboard edits it; Validate checks it before
// it is saved.
type Flow struct {
	Start string `json:"start"`
	Nodes []Node `json:"nodes"`
	// HumanDepartment is the queue of "talk to a person" (an id or name);
	// "" keeps the conversation's own department.
	HumanDepartment string `json:"humanDepartment,omitempty"`
}

// Node is one step of a flow. Which fields matter depends on Type.
type Node struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	// Text is what the bot says; {{name}} is replaced by a collected
	// variable.
	Text string `json:"text,omitempty"`
	Next string `json:"next,omitempty"` // message, input
	// Menu: the options, the list's button label and section title.
	Options      []Option `json:"options,omitempty"`
	Button       string   `json:"button,omitempty"`
	SectionTitle string   `json:"sectionTitle,omitempty"`
	Variable     string   `json:"variable,omitempty"`   // input
	Department   string   `json:"department,omitempty"` // handoff: an id or name; "" is a human queue
}

// Option is one choice of a menu. Exactly one of Next, Department and
// Action says where it leads.
type Option struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"` // shown under the title in a list
	Next        string `json:"next,omitempty"`
	Department  string `json:"department,omitempty"` // a department id or name: its queue
	Action      string `json:"action,omitempty"`     // ActionTargetHuman or ActionTargetAI
}

// WhatsApp's limits on interactive messages (contract §6).
const (
	MaxButtons          = 3
	MaxButtonTitle      = 20
	MaxListRows         = 10
	MaxRowTitle         = 24
	MaxRowDescription   = 72
	MaxListButton       = 20
	MaxSectionTitle     = 24
	MaxInteractiveBody  = 1024
	MaxTextBody         = 4096
	maxNodes            = 200
	maxOptions          = 50
	maxNumberedTitle    = 100
	defaultListButton   = "Ver opções"
	defaultSectionTitle = "Opções"
)

var (
	idPattern       = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`)
	variablePattern = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]{0,39}$`)
)

// ParseFlow decodes a flow. Unknown fields are refused, so a typo in an
// editor's output is a 400 rather than a silently ignored setting.
func ParseFlow(raw []byte) (Flow, error) {
	var f Flow
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Flow{}, fmt.Errorf("the flow is not valid JSON of the expected shape: %v", err)
	}
	return f, nil
}

// Node returns the node with id.
func (f Flow) Node(id string) (Node, bool) {
	for _, n := range f.Nodes {
		if n.ID == id {
			return n, true
		}
	}
	return Node{}, false
}

// Validate checks a flow before it is saved and returns its problems keyed
// by where they are (e.g. "nodes.menu.options.humano.title"); nil when it
// is sound. knownDepartment tells whether a department reference (an id or
// a name) exists; nil accepts any.
func (f Flow) Validate(knownDepartment func(ref string) bool) map[string]string {
	p := map[string]string{}
	if knownDepartment == nil {
		knownDepartment = func(string) bool { return true }
	}
	if len(f.Nodes) == 0 {
		p["nodes"] = "a flow needs at least one node"
		return p
	}
	if len(f.Nodes) > maxNodes {
		p["nodes"] = fmt.Sprintf("a flow may have at most %d nodes", maxNodes)
		return p
	}
	ids := map[string]Node{}
	for i, n := range f.Nodes {
		if !idPattern.MatchString(n.ID) {
			p[fmt.Sprintf("nodes[%d].id", i)] = "must be 1 to 40 letters, digits, _ or -"
			continue
		}
		if _, dup := ids[n.ID]; dup {
			p["nodes."+n.ID+".id"] = "is used by two nodes"
		}
		ids[n.ID] = n
	}
	if _, ok := ids[f.Start]; !ok {
		p["start"] = fmt.Sprintf("names no node (%q)", f.Start)
	}
	if f.HumanDepartment != "" && !knownDepartment(f.HumanDepartment) {
		p["humanDepartment"] = fmt.Sprintf("is not a department (%q)", f.HumanDepartment)
	}
	target := func(key, id string) {
		if _, ok := ids[id]; !ok {
			p[key] = fmt.Sprintf("leads to an unknown node (%q)", id)
		}
	}
	for _, n := range f.Nodes {
		at := "nodes." + n.ID
		switch n.Type {
		case NodeMessage:
			requireText(p, at, n.Text, MaxTextBody)
			if n.Next != "" {
				target(at+".next", n.Next)
			}
		case NodeInput:
			requireText(p, at, n.Text, MaxTextBody)
			if !variablePattern.MatchString(n.Variable) {
				p[at+".variable"] = "must be a name of letters, digits and _ (not starting with a digit)"
			}
			if n.Next != "" {
				target(at+".next", n.Next)
			}
		case NodeHandoff, NodeAI:
			if n.Text != "" {
				requireText(p, at, n.Text, MaxTextBody)
			}
			if n.Type == NodeHandoff && n.Department != "" && !knownDepartment(n.Department) {
				p[at+".department"] = fmt.Sprintf("is not a department (%q)", n.Department)
			}
		case NodeMenu:
			validateMenu(p, at, n, target, knownDepartment)
		default:
			p[at+".type"] = "must be one of message, menu, input, handoff, ai"
		}
	}
	if len(p) == 0 {
		if loop := f.silentLoop(); loop != "" {
			p["nodes"] = "the nodes " + loop + " form a loop that never waits for the customer"
		}
	}
	if len(p) == 0 {
		return nil
	}
	return p
}

func requireText(p map[string]string, at, text string, limit int) {
	switch n := utf8.RuneCountInString(text); {
	case strings.TrimSpace(text) == "":
		p[at+".text"] = "is required"
	case n > limit:
		p[at+".text"] = fmt.Sprintf("must be at most %d characters", limit)
	}
}

// validateMenu checks a menu against WhatsApp's limits for the form it will
// be sent in: reply buttons (≤ 3 options), a list (≤ 10) or numbered text.
func validateMenu(p map[string]string, at string, n Node, target func(key, id string), knownDepartment func(string) bool) {
	opts := n.Options
	switch {
	case len(opts) == 0:
		p[at+".options"] = "a menu needs at least one option"
		return
	case len(opts) > maxOptions:
		p[at+".options"] = fmt.Sprintf("a menu may have at most %d options", maxOptions)
		return
	}
	bodyLimit := MaxInteractiveBody
	if len(opts) > MaxListRows {
		bodyLimit = MaxTextBody
	}
	requireText(p, at, n.Text, bodyLimit)
	if len(opts) > MaxButtons && len(opts) <= MaxListRows {
		if utf8.RuneCountInString(n.Button) > MaxListButton {
			p[at+".button"] = fmt.Sprintf("must be at most %d characters (WhatsApp's list button)", MaxListButton)
		}
		if utf8.RuneCountInString(n.SectionTitle) > MaxSectionTitle {
			p[at+".sectionTitle"] = fmt.Sprintf("must be at most %d characters (WhatsApp's list section title)", MaxSectionTitle)
		}
	}
	titleLimit, form := maxNumberedTitle, "a numbered option"
	switch {
	case len(opts) <= MaxButtons:
		titleLimit, form = MaxButtonTitle, "a WhatsApp reply button (menus of up to 3 options are sent as buttons)"
	case len(opts) <= MaxListRows:
		titleLimit, form = MaxRowTitle, "a WhatsApp list row (menus of 4 to 10 options are sent as a list)"
	}
	seenID, seenTitle := map[string]bool{}, map[string]bool{}
	for i, o := range opts {
		key := fmt.Sprintf("%s.options[%d]", at, i)
		if idPattern.MatchString(o.ID) {
			key = at + ".options." + o.ID
		} else {
			p[key+".id"] = "must be 1 to 40 letters, digits, _ or -"
		}
		if seenID[o.ID] {
			p[key+".id"] = "is used by two options of this menu"
		}
		seenID[o.ID] = true
		title := strings.TrimSpace(o.Title)
		switch {
		case title == "":
			p[key+".title"] = "is required"
		case utf8.RuneCountInString(o.Title) > titleLimit:
			p[key+".title"] = fmt.Sprintf("must be at most %d characters to fit %s", titleLimit, form)
		case seenTitle[helpdesk.Fold(title)]:
			p[key+".title"] = "is the same as another option's title"
		}
		seenTitle[helpdesk.Fold(title)] = true
		if len(opts) > MaxButtons && len(opts) <= MaxListRows && utf8.RuneCountInString(o.Description) > MaxRowDescription {
			p[key+".description"] = fmt.Sprintf("must be at most %d characters (WhatsApp's list row description)", MaxRowDescription)
		}
		set := 0
		for _, s := range []string{o.Next, o.Department, o.Action} {
			if s != "" {
				set++
			}
		}
		if set != 1 {
			p[key+".next"] = "an option leads to exactly one of: next (a node), department (a queue) or action (human or ai)"
			continue
		}
		switch {
		case o.Next != "":
			target(key+".next", o.Next)
		case o.Department != "" && !knownDepartment(o.Department):
			p[key+".department"] = fmt.Sprintf("is not a department (%q)", o.Department)
		case o.Action != "" && o.Action != ActionTargetHuman && o.Action != ActionTargetAI:
			p[key+".action"] = "must be human or ai"
		}
	}
}

// silentLoop finds message nodes whose Next chain comes back to itself:
// the bot would talk forever without waiting for an answer. It returns the
// loop as "a → b → a", or "".
func (f Flow) silentLoop() string {
	for _, start := range f.Nodes {
		if start.Type != NodeMessage {
			continue
		}
		var path []string
		seen := map[string]bool{}
		n, ok := start, true
		for ok && n.Type == NodeMessage && n.Next != "" {
			if seen[n.ID] {
				return strings.Join(append(path, n.ID), " → ")
			}
			seen[n.ID] = true
			path = append(path, n.ID)
			n, ok = f.Node(n.Next)
		}
	}
	return ""
}

// DefaultFlow is the flow of a fresh install: a welcome, then a menu of the
// default departments and a person. Four options make it a list message.
func DefaultFlow() Flow {
	return Flow{
		Start: "boas_vindas",
		Nodes: []Node{
			{ID: "boas_vindas", Type: NodeMessage, Text: "Olá! 👋 Bem-vindo ao nosso atendimento.", Next: "menu"},
			{ID: "menu", Type: NodeMenu, Text: "Como podemos ajudar? Escolha uma opção:", Button: "Ver opções", SectionTitle: "Atendimento",
				Options: []Option{
					{ID: "suporte", Title: "Suporte", Description: "Dúvidas e problemas técnicos", Department: "Suporte"},
					{ID: "vendas", Title: "Vendas", Description: "Novos pedidos e orçamentos", Department: "Vendas"},
					{ID: "financeiro", Title: "Financeiro", Description: "Boletos, pagamentos e reembolsos", Department: "Financeiro"},
					{ID: "atendente", Title: "Falar com um atendente", Action: ActionTargetHuman},
				}},
		},
	}
}
