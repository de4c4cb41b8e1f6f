package sandbox

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Template is a message template of the business account, as
// GET /{waba-id}/message_templates lists it. Components use Meta's shape:
// {"type":"BODY","text":"Olá {{1}}"}, {"type":"HEADER","format":"IMAGE"},
// {"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Sim"}]}.
type Template struct {
	ID              string
	Name            string
	Language        string // e.g. "pt_BR"
	Status          string // APPROVED, PENDING, REJECTED, PAUSED, DISABLED
	Category        string // UTILITY, MARKETING, AUTHENTICATION
	ParameterFormat string // "" (positional) or "NAMED"
	Components      []map[string]any
}

// DefaultTemplates is the sandbox account's template set: four approved
// templates (hello_world, boas_vindas with one parameter,
// retomada_atendimento with an image header and two parameters as in §6,
// avaliacao_atendimento with quick replies), one pending and one paused.
func DefaultTemplates() []Template {
	return []Template{
		{ID: "1000000000000001", Name: "hello_world", Language: "en_US", Status: "APPROVED", Category: "UTILITY",
			Components: []map[string]any{
				{"type": "HEADER", "format": "TEXT", "text": "Hello World"},
				{"type": "BODY", "text": "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta."},
				{"type": "FOOTER", "text": "WhatsApp Business Platform sample message"},
			}},
		{ID: "1000000000000002", Name: "boas_vindas", Language: "pt_BR", Status: "APPROVED", Category: "UTILITY",
			Components: []map[string]any{{"type": "BODY", "text": "Olá {{1}}, como podemos ajudar?",
				"example": map[string]any{"body_text": []any{[]any{"Ana"}}}}}},
		{ID: "1000000000000003", Name: "retomada_atendimento", Language: "pt_BR", Status: "APPROVED", Category: "UTILITY",
			Components: []map[string]any{
				{"type": "HEADER", "format": "IMAGE"},
				{"type": "BODY", "text": "Olá {{1}}! Podemos continuar o atendimento do pedido {{2}}?",
					"example": map[string]any{"body_text": []any{[]any{"Ana", "#20931"}}}},
				{"type": "BUTTONS", "buttons": []any{map[string]any{"type": "QUICK_REPLY", "text": "Continuar"}}},
			}},
		{ID: "1000000000000004", Name: "avaliacao_atendimento", Language: "pt_BR", Status: "APPROVED", Category: "UTILITY",
			Components: []map[string]any{
				{"type": "BODY", "text": "Como você avalia o nosso atendimento?"},
				{"type": "BUTTONS", "buttons": []any{
					map[string]any{"type": "QUICK_REPLY", "text": "Excelente"},
					map[string]any{"type": "QUICK_REPLY", "text": "Bom"},
					map[string]any{"type": "QUICK_REPLY", "text": "Ruim"},
				}},
			}},
		{ID: "1000000000000005", Name: "promocao", Language: "pt_BR", Status: "PENDING", Category: "MARKETING",
			Components: []map[string]any{{"type": "BODY", "text": "Ofertas da semana!"}}},
		{ID: "1000000000000006", Name: "aviso_pausado", Language: "pt_BR", Status: "PAUSED", Category: "MARKETING",
			Components: []map[string]any{{"type": "BODY", "text": "Novidades para você."}}},
	}
}

// AddTemplate adds t to the account, replacing a template with the same
// name and language. An empty ID gets a generated one.
func (s *Sandbox) AddTemplate(t Template) {
	if t.ID == "" {
		t.ID = newDigits(16)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.templates = slices.DeleteFunc(s.templates, func(x Template) bool { return x.Name == t.Name && x.Language == t.Language })
	s.templates = append(s.templates, t)
}

// SetTemplateStatus changes the status of the template name/language (e.g.
// "PAUSED"); it reports whether the template exists.
func (s *Sandbox) SetTemplateStatus(name, language, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.templates {
		if s.templates[i].Name == name && s.templates[i].Language == language {
			s.templates[i].Status = status
			return true
		}
	}
	return false
}

var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)

// component returns the template's component of type typ (HEADER, BODY…).
func (t *Template) component(typ string) map[string]any {
	for _, c := range t.Components {
		if s, _ := c["type"].(string); strings.EqualFold(s, typ) {
			return c
		}
	}
	return nil
}

// placeholders counts the distinct {{…}} variables of a component's text.
func placeholders(c map[string]any) int {
	text, _ := c["text"].(string)
	seen := map[string]bool{}
	for _, m := range placeholder.FindAllStringSubmatch(text, -1) {
		seen[m[1]] = true
	}
	return len(seen)
}

func (t *Template) json() map[string]any {
	comps := make([]any, len(t.Components))
	for i, c := range t.Components {
		comps[i] = c
	}
	out := map[string]any{"id": t.ID, "name": t.Name, "language": t.Language, "status": t.Status, "category": t.Category, "components": comps}
	if t.ParameterFormat != "" {
		out["parameter_format"] = t.ParameterFormat
	}
	return out
}

// checkTemplate validates a template send: the name and language must name
// an APPROVED template (132001, HTTP 404 [U]; paused 132015, disabled
// 132016), header and body parameter counts must match its placeholders
// (132000) and a media header needs a parameter of its format (132012).
func (s *Sandbox) checkTemplate(p map[string]any) (*Template, *graphError) {
	name, err := stringParam(p, "name", "template['name']", 512, true)
	if err != nil {
		return nil, err
	}
	lang, err := objectParam(p, "language", "template['language']")
	if err != nil {
		return nil, err
	}
	code, err := stringParam(lang, "code", "template['language']['code']", 0, true)
	if err != nil {
		return nil, err
	}
	if pol, ok := lang["policy"]; ok && pol != "deterministic" {
		return nil, invalidParam("Param template['language']['policy'] must be one of {DETERMINISTIC} - got %q.", toString(pol))
	}
	var t *Template
	s.mu.Lock()
	for i := range s.templates {
		if s.templates[i].Name == name && s.templates[i].Language == code {
			c := s.templates[i]
			t = &c
		}
	}
	s.mu.Unlock()
	if t == nil {
		return nil, &graphError{status: http.StatusNotFound, code: 132001,
			details: fmt.Sprintf("template name (%s) does not exist in %s", name, code)}
	}
	switch strings.ToUpper(t.Status) {
	case "APPROVED":
	case "PAUSED":
		return nil, newGraphError(132015, "template %s (%s) is paused", name, code)
	case "DISABLED":
		return nil, newGraphError(132016, "template %s (%s) is disabled", name, code)
	default:
		return nil, &graphError{status: http.StatusNotFound, code: 132001,
			details: fmt.Sprintf("template name (%s) is not approved in %s (status %s)", name, code, t.Status)}
	}

	var comps []any
	if v, ok := p["components"]; ok {
		if comps, ok = v.([]any); !ok {
			return nil, invalidParam("Param template['components'] must be an array.")
		}
	}
	got := map[string][]map[string]any{}
	buttons := 0
	if b := t.component("BUTTONS"); b != nil {
		list, _ := b["buttons"].([]any)
		buttons = len(list)
	}
	for i, cv := range comps {
		path := fmt.Sprintf("template['components'][%d]", i)
		comp, ok := cv.(map[string]any)
		if !ok {
			return nil, invalidParam("Param %s must be a JSON object.", path)
		}
		typ, err := stringParam(comp, "type", path+"['type']", 0, true)
		if err != nil {
			return nil, err
		}
		typ = strings.ToLower(typ)
		var params []map[string]any
		if v, ok := comp["parameters"]; ok {
			list, ok := v.([]any)
			if !ok {
				return nil, invalidParam("Param %s['parameters'] must be an array.", path)
			}
			for j, pv := range list {
				pm, ok := pv.(map[string]any)
				if !ok {
					return nil, invalidParam("Param %s['parameters'][%d] must be a JSON object.", path, j)
				}
				if _, err := stringParam(pm, "type", fmt.Sprintf("%s['parameters'][%d]['type']", path, j), 0, true); err != nil {
					return nil, err
				}
				params = append(params, pm)
			}
		}
		switch typ {
		case "header", "body":
			got[typ] = append(got[typ], params...)
		case "button":
			sub, err := stringParam(comp, "sub_type", path+"['sub_type']", 0, true)
			if err != nil {
				return nil, err
			}
			if !slices.Contains([]string{"quick_reply", "url", "copy_code", "flow", "catalog", "mpm", "voice_call"}, strings.ToLower(sub)) {
				return nil, invalidParam("Param %s['sub_type'] must be one of {QUICK_REPLY, URL, COPY_CODE, FLOW, CATALOG, MPM} - got %q.", path, sub)
			}
			idx, err := stringParam(comp, "index", path+"['index']", 0, true)
			if err != nil {
				return nil, err
			}
			if n, perr := strconv.Atoi(idx); perr != nil || n < 0 || n >= buttons {
				return nil, invalidValue("Param %s['index'] (%s) does not name a button of template %s.", path, idx, name)
			}
		case "carousel", "limited_time_offer":
		default:
			return nil, invalidParam("Param %s['type'] must be one of {HEADER, BODY, BUTTON, CAROUSEL, LIMITED_TIME_OFFER} - got %q.", path, typ)
		}
	}

	if h := t.component("HEADER"); h != nil {
		format, _ := h["format"].(string)
		format = strings.ToLower(format)
		if format == "" || format == "text" {
			if want := placeholders(h); len(got["header"]) != want {
				return nil, paramCount("header", len(got["header"]), want)
			}
		} else {
			if len(got["header"]) != 1 {
				return nil, paramCount("header", len(got["header"]), 1)
			}
			if pt, _ := got["header"][0]["type"].(string); !strings.EqualFold(pt, format) {
				return nil, newGraphError(132012, "header: parameter type %s does not match the template's %s header", pt, format)
			}
		}
	} else if len(got["header"]) > 0 {
		return nil, paramCount("header", len(got["header"]), 0)
	}
	want := 0
	if b := t.component("BODY"); b != nil {
		want = placeholders(b)
	}
	if len(got["body"]) != want {
		return nil, paramCount("body", len(got["body"]), want)
	}
	for _, pm := range append(got["header"], got["body"]...) {
		if err := checkTemplateParam(pm, t.ParameterFormat); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func paramCount(part string, got, want int) *graphError {
	return newGraphError(132000, "%s: number of localizable_params (%d) does not match the expected number of params (%d)", part, got, want)
}

// checkTemplateParam checks that a parameter carries the object its type
// names.
func checkTemplateParam(pm map[string]any, format string) *graphError {
	typ, _ := pm["type"].(string)
	if strings.EqualFold(format, "NAMED") {
		if n, _ := pm["parameter_name"].(string); n == "" {
			return invalidParam("The parameter parameter_name is required for templates with named parameters.")
		}
	}
	switch typ {
	case "text":
		if t, _ := pm["text"].(string); t == "" {
			return invalidParam("The parameter text of a text template parameter is required.")
		}
	case "currency", "date_time", "image", "video", "document", "location", "payload":
		if _, ok := pm[typ].(map[string]any); !ok && typ != "payload" {
			return invalidParam("The parameter %s of a %s template parameter is required.", typ, typ)
		}
	default:
		return newGraphError(132012, "parameter type %q is not supported", typ)
	}
	return nil
}

// handleTemplates is GET /{waba-id}/message_templates with Graph cursor
// paging (limit, after, before) and the filters status, name (substring),
// language and category.
func (s *Sandbox) handleTemplates(r *http.Request) reply {
	q := r.URL.Query()
	limit := s.opts.TemplatePageSize
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 {
			return errReply(invalidParam("Param limit must be a positive integer."))
		}
		limit = min(n, 1000)
	}
	var list []Template
	s.mu.Lock()
	for _, t := range s.templates {
		if st := q.Get("status"); st != "" && !slices.ContainsFunc(strings.Split(st, ","), func(x string) bool { return strings.EqualFold(strings.TrimSpace(x), t.Status) }) {
			continue
		}
		if n := q.Get("name"); n != "" && !strings.Contains(strings.ToLower(t.Name), strings.ToLower(n)) {
			continue
		}
		if l := q.Get("language"); l != "" && l != t.Language {
			continue
		}
		if c := q.Get("category"); c != "" && !strings.EqualFold(c, t.Category) {
			continue
		}
		list = append(list, t)
	}
	s.mu.Unlock()

	start, end := 0, min(limit, len(list))
	switch {
	case q.Get("after") != "":
		i, ok := decodeCursor(q.Get("after"))
		if !ok {
			return errReply(invalidParam("Param after is not a valid cursor."))
		}
		start = min(i+1, len(list))
		end = min(start+limit, len(list))
	case q.Get("before") != "":
		i, ok := decodeCursor(q.Get("before"))
		if !ok {
			return errReply(invalidParam("Param before is not a valid cursor."))
		}
		end = min(i, len(list))
		start = max(0, end-limit)
	}
	data := make([]any, 0, end-start)
	for i := start; i < end; i++ {
		data = append(data, list[i].json())
	}
	out := map[string]any{"data": data}
	if end > start {
		paging := map[string]any{"cursors": map[string]any{"before": encodeCursor(start), "after": encodeCursor(end - 1)}}
		link := func(key, cursor string) string {
			nq := url.Values{}
			for k, v := range q {
				if k != "after" && k != "before" {
					nq[k] = v
				}
			}
			nq.Set("limit", strconv.Itoa(limit))
			nq.Set(key, cursor)
			if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && !nq.Has("access_token") {
				nq.Set("access_token", tok) // Graph embeds the token in paging links
			}
			return s.baseURL(r) + r.URL.Path + "?" + nq.Encode()
		}
		if end < len(list) {
			paging["next"] = link("after", encodeCursor(end-1))
		}
		if start > 0 {
			paging["previous"] = link("before", encodeCursor(start))
		}
		out["paging"] = paging
	}
	return reply{json: out}
}

func encodeCursor(i int) string {
	return base64.StdEncoding.EncodeToString([]byte("sandbox:" + strconv.Itoa(i)))
}

func decodeCursor(c string) (int, bool) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	n, ok := strings.CutPrefix(string(b), "sandbox:")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(n)
	return i, err == nil && i >= 0
}
