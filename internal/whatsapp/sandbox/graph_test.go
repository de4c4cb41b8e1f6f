package sandbox_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp/sandbox"
)

func TestGraph_SendTextSuccessShape(t *testing.T) {
	e := setup(t, sandbox.Options{})
	e.sb.OpenWindow(ana.WAID)
	r := postJSON(t, e.messagesURL(), token, text("+55 (11) 91234-5678", "oi"))
	if r.status != 200 || r.json["messaging_product"] != "whatsapp" {
		t.Fatalf("send = %d %s", r.status, r.raw)
	}
	contacts := r.json["contacts"].([]any)
	msgs := r.json["messages"].([]any)
	c := contacts[0].(map[string]any)
	m := msgs[0].(map[string]any)
	wamid, _ := m["id"].(string)
	if len(contacts) != 1 || c["input"] != "+55 (11) 91234-5678" || c["wa_id"] != ana.WAID || len(msgs) != 1 || !wamidShape.MatchString(wamid) {
		t.Errorf("success body = %s", r.raw)
	}
	if _, ok := m["message_status"]; ok {
		t.Errorf("message_status on a non-template: %v", m)
	}
	sent := e.sb.SentTo(ana.WAID)
	if len(sent) != 1 || sent[0].WAMID != wamid || sent[0].Type != "text" || sent[0].To != "+55 (11) 91234-5678" ||
		sent[0].Body["text"].(map[string]any)["body"] != "oi" || !sent[0].At.Equal(e.clock.Now()) {
		t.Errorf("Sent = %+v", sent)
	}
	reqs := e.sb.Requests()
	if len(reqs) != 1 || reqs[0].Method != "POST" || reqs[0].Status != 200 || reqs[0].Code != 0 {
		t.Errorf("Requests = %+v", reqs)
	}
	if err := e.sb.WaitSent(ctxTimeout(t), 1); err != nil {
		t.Error(err)
	}
}

// Every §6 type with a valid payload is accepted inside the window.
func TestGraph_EveryTypeAccepted(t *testing.T) {
	e := setup(t, sandbox.Options{})
	in, err := e.sb.SendText(t.Context(), ana, "oi")
	if err != nil {
		t.Fatal(err)
	}
	img := e.upload(t, "whatsapp", "image/jpeg", "", "a.jpg", jpegBytes(t)).json["id"].(string)
	pdf := e.sb.AddMedia([]byte("%PDF-1.4"), "application/pdf")
	ogg := e.sb.AddMedia([]byte("OggS"), "audio/ogg; codecs=opus")
	mp4 := e.sb.AddMedia([]byte("\x00\x00\x00\x18ftypmp42"), "video/mp4")
	webp := e.sb.AddMedia([]byte("RIFF\x1a\x00\x00\x00WEBPVP8L"), "image/webp")
	payloads := map[string]map[string]any{
		"text reply":  {"type": "text", "context": map[string]any{"message_id": in}, "text": map[string]any{"body": "Acompanhe: https://example.com", "preview_url": true}},
		"image id":    {"type": "image", "image": map[string]any{"id": img, "caption": "Seu produto"}},
		"image link":  {"type": "image", "image": map[string]any{"link": "https://cdn.example.com/p/1.jpg?v=2"}},
		"voice":       {"type": "audio", "audio": map[string]any{"id": ogg, "voice": true}},
		"video":       {"type": "video", "video": map[string]any{"id": mp4, "caption": "tutorial"}},
		"document":    {"type": "document", "document": map[string]any{"id": pdf, "caption": "Segunda via", "filename": "boleto.pdf"}},
		"sticker":     {"type": "sticker", "sticker": map[string]any{"id": webp}},
		"location":    {"type": "location", "location": map[string]any{"latitude": -23.56, "longitude": -46.65, "name": "Loja", "address": "Av. Paulista"}},
		"location 0":  {"type": "location", "location": map[string]any{"latitude": 0, "longitude": 0}},
		"contacts":    {"type": "contacts", "contacts": []any{map[string]any{"name": map[string]any{"formatted_name": "Central"}, "phones": []any{map[string]any{"phone": "+551140040000"}}}}},
		"reaction":    {"type": "reaction", "reaction": map[string]any{"message_id": in, "emoji": "✅"}},
		"unreact":     {"type": "reaction", "reaction": map[string]any{"message_id": in, "emoji": ""}},
		"buttons":     {"type": "interactive", "interactive": buttons(3)},
		"list":        {"type": "interactive", "interactive": list(2, 5)},
		"cta_url":     {"type": "interactive", "interactive": map[string]any{"type": "cta_url", "body": map[string]any{"text": "Veja"}, "action": map[string]any{"name": "cta_url", "parameters": map[string]any{"display_text": "Abrir", "url": "https://example.com"}}}},
		"template":    {"type": "template", "template": retomada()},
		"template 0":  {"type": "template", "template": map[string]any{"name": "hello_world", "language": map[string]any{"code": "en_US", "policy": "deterministic"}}},
		"header text": {"type": "interactive", "interactive": withHeader(buttons(1), map[string]any{"type": "text", "text": "Atendimento"})},
	}
	for name, p := range payloads {
		t.Run(name, func(t *testing.T) {
			p["messaging_product"], p["to"] = "whatsapp", "+"+ana.WAID
			e.send(t, p)
		})
	}
}

func jpegBytes(t *testing.T) []byte {
	t.Helper()
	// The smallest JFIF prefix Go's sniffer calls image/jpeg.
	return []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
}

func buttons(n int) map[string]any {
	var list []any
	for i := range n {
		list = append(list, map[string]any{"type": "reply", "reply": map[string]any{"id": fmt.Sprintf("menu:%d", i), "title": fmt.Sprintf("Opção %d", i)}})
	}
	return map[string]any{"type": "button", "body": map[string]any{"text": "Como podemos ajudar?"},
		"footer": map[string]any{"text": "Toque um botão"}, "action": map[string]any{"buttons": list}}
}

func list(sections, rowsEach int) map[string]any {
	var secs []any
	for s := range sections {
		var rows []any
		for r := range rowsEach {
			rows = append(rows, map[string]any{"id": fmt.Sprintf("row:%d:%d", s, r), "title": "Linha", "description": "Descrição"})
		}
		secs = append(secs, map[string]any{"title": fmt.Sprintf("Seção %d", s), "rows": rows})
	}
	return map[string]any{"type": "list", "body": map[string]any{"text": "Escolha"}, "action": map[string]any{"button": "Departamentos", "sections": secs}}
}

func withHeader(i map[string]any, h map[string]any) map[string]any { i["header"] = h; return i }

// retomada is §6's template example.
func retomada() map[string]any {
	return map[string]any{"name": "retomada_atendimento", "language": map[string]any{"code": "pt_BR"}, "components": []any{
		map[string]any{"type": "header", "parameters": []any{map[string]any{"type": "image", "image": map[string]any{"id": "2049581736402118"}}}},
		map[string]any{"type": "body", "parameters": []any{map[string]any{"type": "text", "text": "Ana"}, map[string]any{"type": "text", "text": "#20931"}}},
		map[string]any{"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": []any{map[string]any{"type": "payload", "payload": "reabrir:20931"}}},
	}}
}

func TestGraph_Errors(t *testing.T) {
	e := setup(t, sandbox.Options{})
	e.sb.OpenWindow(ana.WAID)
	long := func(n int) string { return strings.Repeat("é", n) }
	msg := func(typ string, obj any) map[string]any {
		return map[string]any{"messaging_product": "whatsapp", "to": "+" + ana.WAID, "type": typ, typ: obj}
	}
	with := func(m map[string]any, k string, v any) map[string]any { m[k] = v; return m }
	without := func(m map[string]any, k string) map[string]any { delete(m, k); return m }
	interactive := func(i map[string]any) map[string]any { return msg("interactive", i) }
	set := func(i map[string]any, path []string, v any) map[string]any {
		cur := i
		for _, k := range path[:len(path)-1] {
			cur = cur[k].(map[string]any)
		}
		cur[path[len(path)-1]] = v
		return i
	}
	firstButton := func(i map[string]any) map[string]any {
		return i["action"].(map[string]any)["buttons"].([]any)[0].(map[string]any)["reply"].(map[string]any)
	}
	firstRow := func(i map[string]any) map[string]any {
		return i["action"].(map[string]any)["sections"].([]any)[0].(map[string]any)["rows"].([]any)[0].(map[string]any)
	}
	dupButtons := buttons(2)
	firstButton(dupButtons)["id"] = "menu:1"
	dupRows := list(1, 2)
	firstRow(dupRows)["id"] = "row:0:1"
	longButton := buttons(1)
	firstButton(longButton)["title"] = long(21)
	longRow := list(1, 1)
	firstRow(longRow)["title"] = long(25)
	longDesc := list(1, 1)
	firstRow(longDesc)["description"] = long(73)
	tpl := func(name, lang string, comps ...any) map[string]any {
		t := map[string]any{"name": name, "language": map[string]any{"code": lang}}
		if comps != nil {
			t["components"] = comps
		}
		return msg("template", t)
	}
	body := func(params ...string) any {
		var ps []any
		for _, p := range params {
			ps = append(ps, map[string]any{"type": "text", "text": p})
		}
		return map[string]any{"type": "body", "parameters": ps}
	}
	imageHeader := map[string]any{"type": "header", "parameters": []any{map[string]any{"type": "image", "image": map[string]any{"link": "https://x.example/a.jpg"}}}}
	docHeader := map[string]any{"type": "header", "parameters": []any{map[string]any{"type": "document", "document": map[string]any{"link": "https://x.example/a.pdf"}}}}
	img := e.sb.AddMedia(jpegBytes(t), "image/jpeg")

	cases := []struct {
		name   string
		url    string
		token  string
		body   any
		status int
		code   int
	}{
		{"no token", "", "-", text(ana.WAID, "oi"), 401, 190},
		{"wrong token", "", "nope", text(ana.WAID, "oi"), 401, 190},
		{"unknown phone number id", e.graph.URL + "/v26.0/999/messages", "", text(ana.WAID, "oi"), 400, 100},
		{"no version", e.graph.URL + "/" + sandbox.DefaultPhoneNumberID + "/messages", "", text(ana.WAID, "oi"), 400, 2500},
		{"not JSON", "", "", "{", 400, 100},
		{"no messaging_product", "", "", without(text(ana.WAID, "oi"), "messaging_product"), 400, 100},
		{"other messaging_product", "", "", with(text(ana.WAID, "oi"), "messaging_product", "sms"), 400, 100},
		{"recipient_type", "", "", with(text(ana.WAID, "oi"), "recipient_type", "broadcast"), 400, 100},
		{"missing to", "", "", without(text(ana.WAID, "oi"), "to"), 400, 100},
		{"to not a number", "", "", text("ana@example.com", "oi"), 400, 100},
		{"to too short", "", "", text("+55", "oi"), 400, 100},
		{"to the business", "", "", text("+55 11 4000-0000", "oi"), 400, 131021},
		{"missing type", "", "", without(text(ana.WAID, "oi"), "type"), 400, 100},
		{"unknown type", "", "", with(text(ana.WAID, "oi"), "type", "fax"), 400, 100},
		{"missing type object", "", "", without(text(ana.WAID, "oi"), "text"), 400, 100},
		{"empty text", "", "", text(ana.WAID, ""), 400, 100},
		{"text 4097", "", "", text(ana.WAID, long(4097)), 400, 100},
		{"preview_url not bool", "", "", msg("text", map[string]any{"body": "x", "preview_url": "yes"}), 400, 100},
		{"context without id", "", "", with(text(ana.WAID, "oi"), "context", map[string]any{}), 400, 100},
		{"biz opaque 513", "", "", with(text(ana.WAID, "oi"), "biz_opaque_callback_data", long(513)), 400, 100},
		{"media id and link", "", "", msg("image", map[string]any{"id": img, "link": "https://x.example/a.jpg"}), 400, 100},
		{"media neither", "", "", msg("image", map[string]any{"caption": "x"}), 400, 100},
		{"unknown media id", "", "", msg("image", map[string]any{"id": "123456"}), 400, 131009},
		{"caption 1025", "", "", msg("image", map[string]any{"id": img, "caption": long(1025)}), 400, 100},
		{"caption on audio", "", "", msg("audio", map[string]any{"link": "https://x.example/a.ogg", "caption": "x"}), 400, 100},
		{"filename on image", "", "", msg("image", map[string]any{"id": img, "filename": "a.jpg"}), 400, 100},
		{"voice on video", "", "", msg("video", map[string]any{"link": "https://x.example/a.mp4", "voice": true}), 400, 100},
		{"link not a URL", "", "", msg("image", map[string]any{"link": "ftp:/x"}), 400, 100},
		{"latitude missing", "", "", msg("location", map[string]any{"longitude": 1.0}), 400, 100},
		{"latitude 91", "", "", msg("location", map[string]any{"latitude": 91.0, "longitude": 1.0}), 400, 131009},
		{"latitude a string", "", "", msg("location", map[string]any{"latitude": "1", "longitude": 1.0}), 400, 100},
		{"contacts empty", "", "", msg("contacts", []any{}), 400, 100},
		{"contact without formatted_name", "", "", msg("contacts", []any{map[string]any{"name": map[string]any{"first_name": "A"}}}), 400, 100},
		{"reaction without message_id", "", "", msg("reaction", map[string]any{"emoji": "👍"}), 400, 100},
		{"reaction without emoji", "", "", msg("reaction", map[string]any{"message_id": "wamid.x"}), 400, 100},
		{"reaction with context", "", "", with(msg("reaction", map[string]any{"message_id": "wamid.x", "emoji": "👍"}), "context", map[string]any{"message_id": "wamid.x"}), 400, 100},
		{"interactive type", "", "", interactive(map[string]any{"type": "carousel_of_doom"}), 400, 100},
		{"4 buttons", "", "", interactive(buttons(4)), 400, 100},
		{"no buttons", "", "", interactive(buttons(0)), 400, 100},
		{"button title 21", "", "", interactive(longButton), 400, 100},
		{"duplicate button id", "", "", interactive(dupButtons), 400, 131009},
		{"button body missing", "", "", interactive(without(buttons(1), "body")), 400, 100},
		{"button body 1025", "", "", interactive(set(buttons(1), []string{"body", "text"}, long(1025))), 400, 100},
		{"footer 61", "", "", interactive(set(buttons(1), []string{"footer", "text"}, long(61))), 400, 100},
		{"header text 61", "", "", interactive(withHeader(buttons(1), map[string]any{"type": "text", "text": long(61)})), 400, 100},
		{"list with image header", "", "", interactive(withHeader(list(1, 1), map[string]any{"type": "image", "image": map[string]any{"link": "https://x.example/a.jpg"}})), 400, 100},
		{"list 11 rows", "", "", interactive(list(2, 6)), 400, 100},
		{"list 11 sections", "", "", interactive(list(11, 1)), 400, 100},
		{"list no sections", "", "", interactive(list(0, 0)), 400, 100},
		{"list button 21", "", "", interactive(set(list(1, 1), []string{"action", "button"}, long(21))), 400, 100},
		{"list section title 25", "", "", interactive(set(list(1, 1), []string{"action", "sections"}, []any{map[string]any{"title": long(25), "rows": []any{map[string]any{"id": "a", "title": "b"}}}})), 400, 100},
		{"list untitled sections", "", "", interactive(set(list(1, 1), []string{"action", "sections"}, []any{
			map[string]any{"rows": []any{map[string]any{"id": "a", "title": "b"}}}, map[string]any{"rows": []any{map[string]any{"id": "c", "title": "d"}}}})), 400, 100},
		{"row title 25", "", "", interactive(longRow), 400, 100},
		{"row description 73", "", "", interactive(longDesc), 400, 100},
		{"duplicate row id", "", "", interactive(dupRows), 400, 131009},
		{"cta_url without url", "", "", interactive(map[string]any{"type": "cta_url", "body": map[string]any{"text": "x"}, "action": map[string]any{"name": "cta_url", "parameters": map[string]any{"display_text": "Abrir"}}}), 400, 100},
		{"template name missing", "", "", msg("template", map[string]any{"language": map[string]any{"code": "pt_BR"}}), 400, 100},
		{"template language missing", "", "", msg("template", map[string]any{"name": "boas_vindas"}), 400, 100},
		{"template bad policy", "", "", msg("template", map[string]any{"name": "hello_world", "language": map[string]any{"code": "en_US", "policy": "fallback"}}), 400, 100},
		{"template unknown", "", "", tpl("nao_existe", "pt_BR"), 404, 132001},
		{"template wrong language", "", "", tpl("boas_vindas", "pt", body("Ana")), 404, 132001},
		{"template pending", "", "", tpl("promocao", "pt_BR"), 404, 132001},
		{"template paused", "", "", tpl("aviso_pausado", "pt_BR"), 400, 132015},
		{"template too few params", "", "", tpl("boas_vindas", "pt_BR"), 400, 132000},
		{"template too many params", "", "", tpl("boas_vindas", "pt_BR", body("Ana", "extra")), 400, 132000},
		{"template header missing", "", "", tpl("retomada_atendimento", "pt_BR", body("Ana", "#1")), 400, 132000},
		{"template header wrong type", "", "", tpl("retomada_atendimento", "pt_BR", docHeader, body("Ana", "#1")), 400, 132012},
		{"template button index", "", "", tpl("retomada_atendimento", "pt_BR", imageHeader, body("Ana", "#1"),
			map[string]any{"type": "button", "sub_type": "quick_reply", "index": "3"}), 400, 131009},
		{"template empty text param", "", "", tpl("boas_vindas", "pt_BR", body("")), 400, 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			url, tok := c.url, c.token
			if url == "" {
				url = e.messagesURL()
			}
			switch tok {
			case "":
				tok = token
			case "-":
				tok = ""
			}
			r := postJSON(t, url, tok, c.body)
			if r.status != c.status || r.errorCode() != c.code {
				t.Fatalf("got %d / %d, want %d / %d: %s", r.status, r.errorCode(), c.status, c.code, r.raw)
			}
			er := r.errorObject()
			msg, _ := er["message"].(string)
			trace, _ := er["fbtrace_id"].(string)
			if er["type"] == nil || msg == "" || len(trace) < 10 {
				t.Errorf("envelope = %s", r.raw)
			}
			if c.code != 190 && c.code != 2500 && er["error_subcode"] == nil {
				if d, _ := er["error_data"].(map[string]any); d["messaging_product"] != "whatsapp" || d["details"] == "" {
					t.Errorf("error_data = %s", r.raw)
				}
				if want := fmt.Sprintf("(#%d) ", c.code); !strings.HasPrefix(msg, want) {
					t.Errorf("message %q does not start with %q", msg, want)
				}
			}
		})
	}
	if n := len(e.sb.Sent()); n != 0 {
		t.Errorf("refused requests were recorded as sent: %d", n)
	}
}

func TestGraph_ErrorEnvelopeDetails(t *testing.T) {
	e := setup(t, sandbox.Options{})
	a := postJSON(t, e.graph.URL+"/v26.0/999/messages", token, text(ana.WAID, "oi"))
	b := postJSON(t, e.graph.URL+"/v26.0/999/messages", token, text(ana.WAID, "oi"))
	ea, eb := a.errorObject(), b.errorObject()
	if ea["type"] != "GraphMethodException" || ea["error_subcode"] != 33.0 || ea["fbtrace_id"] == eb["fbtrace_id"] {
		t.Errorf("unknown object errors = %s / %s", a.raw, b.raw)
	}
	r := postJSON(t, e.messagesURL(), "", text(ana.WAID, "oi"))
	if er := r.errorObject(); er["type"] != "OAuthException" || !strings.Contains(er["message"].(string), "access token") {
		t.Errorf("auth error = %s", r.raw)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	// The token also works as Graph's access_token parameter, and any
	// version is accepted.
	e.sb.OpenWindow(ana.WAID)
	for _, v := range []string{"v24.0", "v25.0", "v99.9"} {
		if r := postJSON(t, e.graph.URL+"/"+v+"/"+sandbox.DefaultPhoneNumberID+"/messages?access_token="+token, "", text(ana.WAID, "oi")); r.status != 200 {
			t.Errorf("%s: %d %s", v, r.status, r.raw)
		}
	}
}

func TestGraph_Window(t *testing.T) {
	e := setup(t, sandbox.Options{SyncWindowErrors: true})
	tmpl := map[string]any{"messaging_product": "whatsapp", "to": "+" + ana.WAID, "type": "template",
		"template": map[string]any{"name": "boas_vindas", "language": map[string]any{"code": "pt_BR"},
			"components": []any{map[string]any{"type": "body", "parameters": []any{map[string]any{"type": "text", "text": "Ana"}}}}}}
	r := postJSON(t, e.messagesURL(), token, text(ana.WAID, "oi"))
	if r.status != 400 || r.errorCode() != 131047 {
		t.Fatalf("never wrote: %d %s", r.status, r.raw)
	}
	e.send(t, tmpl) // templates always go
	if _, err := e.sb.SendText(t.Context(), ana, "oi"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(24*time.Hour - time.Second)
	e.send(t, text(ana.WAID, "still open"))
	e.clock.Advance(time.Second)
	if r := postJSON(t, e.messagesURL(), token, text(ana.WAID, "oi")); r.errorCode() != 131047 {
		t.Errorf("24 h later: %d %s", r.status, r.raw)
	}
	e.send(t, tmpl)
	e.sb.OpenWindow(ana.WAID)
	e.send(t, text(ana.WAID, "reopened"))
	e.sb.CloseWindow(ana.WAID)
	if r := postJSON(t, e.messagesURL(), token, text(ana.WAID, "oi")); r.errorCode() != 131047 {
		t.Errorf("after CloseWindow: %d %s", r.status, r.raw)
	}
}

// Problems Meta reports after a 200 come as failed statuses.
func TestGraph_AsyncFailures(t *testing.T) {
	e := setup(t, sandbox.Options{})
	e.sb.OpenWindow(ana.WAID)
	e.sb.Unreachable("5511900000009")
	e.sb.OpenWindow("5511900000009")
	pdf := e.sb.AddMedia([]byte("%PDF-1.4"), "application/pdf")
	fakeJPEG := e.sb.AddMedia([]byte("not really a jpeg"), "image/jpeg")
	mp3 := e.sb.AddMedia([]byte("ID3"), "audio/mpeg")
	msg := func(typ string, obj any) map[string]any {
		return map[string]any{"messaging_product": "whatsapp", "to": ana.WAID, "type": typ, typ: obj}
	}
	cases := []struct {
		name string
		body map[string]any
		code int
	}{
		{"not on WhatsApp", text("5511900000009", "oi"), 131026},
		{"reaction to an unknown message", msg("reaction", map[string]any{"message_id": "wamid.unknown", "emoji": "👍"}), 131009},
		{"pdf as image", msg("image", map[string]any{"id": pdf}), 131053},
		{"content is not the declared MIME", msg("image", map[string]any{"id": fakeJPEG}), 131053},
		{"voice note not OGG", msg("audio", map[string]any{"id": mp3, "voice": true}), 131053},
		{"outside the window", text("5511900000008", "oi"), 131047},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wamid := e.send(t, c.body)
			st := status(t, e.hook.next(t))
			er := st["errors"].([]any)[0].(map[string]any)
			if st["id"] != wamid || st["status"] != "failed" || er["code"] != float64(c.code) {
				t.Errorf("status = %v", st)
			}
		})
	}
}

func TestGraph_FailNextThenRecover(t *testing.T) {
	e := setup(t, sandbox.Options{})
	e.sb.OpenWindow(ana.WAID)
	in, _ := e.sb.SendText(t.Context(), ana, "oi")
	e.hook.next(t)
	e.sb.FailNext(2, 500, 1)
	// Mark-as-read does not consume an injected send failure.
	if r := postJSON(t, e.messagesURL(), token, map[string]any{"messaging_product": "whatsapp", "status": "read", "message_id": in}); r.status != 200 {
		t.Fatalf("mark as read = %d %s", r.status, r.raw)
	}
	for i := range 2 {
		r := postJSON(t, e.messagesURL(), token, text(ana.WAID, "oi"))
		if r.status != 500 || r.errorCode() != 1 || r.errorObject()["message"] != "(#1) API Unknown" {
			t.Errorf("attempt %d: %d %s", i, r.status, r.raw)
		}
	}
	e.send(t, text(ana.WAID, "oi"))
	if n := len(e.sb.Sent()); n != 1 {
		t.Errorf("sent = %d", n)
	}
	var codes []int
	for _, r := range e.sb.Requests() {
		codes = append(codes, r.Code)
	}
	if fmt.Sprint(codes) != "[0 1 1 0]" {
		t.Errorf("request codes = %v", codes)
	}
}

func TestGraph_Throughput(t *testing.T) {
	e := setup(t, sandbox.Options{MessagesPerSecond: 3})
	e.sb.OpenWindow(ana.WAID)
	for range 3 {
		e.send(t, text(ana.WAID, "oi"))
	}
	r := postJSON(t, e.messagesURL(), token, text(ana.WAID, "oi"))
	if d, _ := r.errorObject()["error_data"].(map[string]any); r.status != 400 || r.errorCode() != 130429 || d["details"] != "Cloud API message throughput has been reached." {
		t.Fatalf("over throughput: %d %s", r.status, r.raw)
	}
	e.clock.Advance(334 * time.Millisecond) // one token back (3 per second)
	e.send(t, text(ana.WAID, "oi"))
	if r := postJSON(t, e.messagesURL(), token, text(ana.WAID, "oi")); r.errorCode() != 130429 {
		t.Errorf("bucket refilled too fast: %s", r.raw)
	}
	e.sb.Throughput(1)
	e.send(t, text(ana.WAID, "oi"))
	if r := postJSON(t, e.messagesURL(), token, text(ana.WAID, "oi")); r.errorCode() != 130429 {
		t.Errorf("Throughput(1): %s", r.raw)
	}
	e.sb.Throughput(0)
	for range 100 {
		e.send(t, text(ana.WAID, "oi"))
	}
}

func TestGraph_PairRateLimit(t *testing.T) {
	e := setup(t, sandbox.Options{PairBurst: 2})
	bob := "5511900000002"
	e.sb.OpenWindow(ana.WAID)
	e.sb.OpenWindow(bob)
	e.send(t, text(ana.WAID, "1"))
	e.send(t, text(ana.WAID, "2"))
	if r := postJSON(t, e.messagesURL(), token, text(ana.WAID, "3")); r.status != 400 || r.errorCode() != 131056 {
		t.Fatalf("pair limit: %d %s", r.status, r.raw)
	}
	e.send(t, text(bob, "other users are unaffected"))
	e.clock.Advance(6 * time.Second)
	e.send(t, text(ana.WAID, "one more after 6 s"))
}

func TestGraph_MarkAsRead(t *testing.T) {
	e := setup(t, sandbox.Options{})
	in, _ := e.sb.SendText(t.Context(), ana, "oi")
	e.hook.next(t)
	read := map[string]any{"messaging_product": "whatsapp", "status": "read", "message_id": in}
	if r := postJSON(t, e.messagesURL(), token, read); r.status != 200 || r.json["success"] != true {
		t.Fatalf("mark as read = %d %s", r.status, r.raw)
	}
	read["typing_indicator"] = map[string]any{"type": "text"}
	if r := postJSON(t, e.messagesURL(), token, read); r.status != 200 {
		t.Fatalf("typing = %d %s", r.status, r.raw)
	}
	if got := e.sb.ReadReceipts(); len(got) != 2 || got[0].WAMID != in || got[0].Typing || !got[1].Typing {
		t.Errorf("ReadReceipts = %+v", got)
	}
	for name, body := range map[string]map[string]any{
		"no message_id":  {"messaging_product": "whatsapp", "status": "read"},
		"not a wamid":    {"messaging_product": "whatsapp", "status": "read", "message_id": "123"},
		"other status":   {"messaging_product": "whatsapp", "status": "delivered", "message_id": in},
		"typing type":    {"messaging_product": "whatsapp", "status": "read", "message_id": in, "typing_indicator": map[string]any{"type": "audio"}},
		"no token check": nil,
	} {
		if body == nil {
			if r := postJSON(t, e.messagesURL(), "", read); r.status != 401 {
				t.Errorf("mark as read without token = %d", r.status)
			}
			continue
		}
		if r := postJSON(t, e.messagesURL(), token, body); r.status != 400 || (r.errorCode() != 100 && r.errorCode() != 131009) {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
	if n := len(e.sb.Sent()); n != 0 {
		t.Errorf("mark-as-read recorded as sent: %d", n)
	}
}

func TestGraph_PhoneNumber(t *testing.T) {
	e := setup(t, sandbox.Options{})
	r := do(t, http.MethodGet, e.graph.URL+"/v26.0/"+sandbox.DefaultPhoneNumberID, token, "", nil)
	if r.status != 200 || r.json["display_phone_number"] != sandbox.DefaultDisplayPhoneNumber || r.json["verified_name"] != sandbox.DefaultVerifiedName {
		t.Errorf("phone number = %d %s", r.status, r.raw)
	}
	r = do(t, http.MethodGet, e.graph.URL+"/v26.0/"+sandbox.DefaultWABAID+"/phone_numbers", token, "", nil)
	if data, _ := r.json["data"].([]any); r.status != 200 || len(data) != 1 {
		t.Errorf("phone numbers = %d %s", r.status, r.raw)
	}
}

// Parallel senders and customers: every message is recorded once, under
// the race detector.
func TestGraph_Concurrent(t *testing.T) {
	e := setup(t, sandbox.Options{AutoStatuses: true, MessagesPerSecond: -1})
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		c := sandbox.Customer{WAID: fmt.Sprintf("55119%08d", i), Name: fmt.Sprint("C", i)}
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := e.sb.SendText(t.Context(), c, "oi"); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			e.sb.OpenWindow(c.WAID)
			if r := postJSON(t, e.messagesURL(), token, text(c.WAID, "olá")); r.status != 200 {
				t.Errorf("send: %d %s", r.status, r.raw)
			}
		}()
	}
	if err := e.sb.WaitSent(ctxTimeout(t), n); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, s := range e.sb.Sent() {
		if seen[s.WAMID] {
			t.Errorf("duplicate wamid %s", s.WAMID)
		}
		seen[s.WAMID] = true
	}
	if len(seen) != n {
		t.Errorf("sent = %d", len(seen))
	}
	e.sb.Close() // stops status emitters mid-way without leaking
}
