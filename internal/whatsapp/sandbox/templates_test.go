package sandbox_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp/sandbox"
)

func TestTemplates_ListWithPaging(t *testing.T) {
	e := setup(t, sandbox.Options{})
	next := e.graph.URL + "/v26.0/" + sandbox.DefaultWABAID + "/message_templates"
	var names []string
	var pages []response
	for next != "" && len(pages) < 10 {
		r := do(t, http.MethodGet, next, token, "", nil)
		if r.status != 200 {
			t.Fatalf("page %d = %d %s", len(pages), r.status, r.raw)
		}
		pages = append(pages, r)
		for _, d := range r.json["data"].([]any) {
			tpl := d.(map[string]any)
			if tpl["id"] == nil || tpl["language"] == nil || tpl["status"] == nil || tpl["category"] == nil || tpl["components"] == nil {
				t.Errorf("template = %v", tpl)
			}
			names = append(names, tpl["name"].(string))
		}
		paging := r.json["paging"].(map[string]any)
		cursors := paging["cursors"].(map[string]any)
		if cursors["before"] == nil || cursors["after"] == nil {
			t.Errorf("cursors = %v", cursors)
		}
		next, _ = paging["next"].(string)
		if next != "" {
			u, _ := url.Parse(next)
			if u.Query().Get("access_token") != token || !strings.HasPrefix(next, e.graph.URL) {
				t.Errorf("next = %s (Graph embeds the token; same host)", next)
			}
		}
	}
	if len(pages) != 3 || strings.Join(names, ",") != "hello_world,boas_vindas,retomada_atendimento,avaliacao_atendimento,promocao,aviso_pausado" {
		t.Fatalf("%d pages: %v", len(pages), names)
	}
	if _, ok := pages[0].json["paging"].(map[string]any)["previous"]; ok {
		t.Error("first page has previous")
	}
	prev := pages[2].json["paging"].(map[string]any)["previous"].(string)
	if r := do(t, http.MethodGet, prev, token, "", nil); len(r.json["data"].([]any)) != 2 || r.json["data"].([]any)[0].(map[string]any)["name"] != "retomada_atendimento" {
		t.Errorf("previous page = %s", r.raw)
	}

	base := e.graph.URL + "/v26.0/" + sandbox.DefaultWABAID + "/message_templates"
	r := do(t, http.MethodGet, base+"?limit=10&status=APPROVED", token, "", nil)
	if data := r.json["data"].([]any); len(data) != 4 || r.json["paging"].(map[string]any)["next"] != nil {
		t.Errorf("approved = %s", r.raw)
	}
	for _, bad := range []string{"?limit=0", "?after=nope", "?before=%25"} {
		if r := do(t, http.MethodGet, base+bad, token, "", nil); r.status != 400 || r.errorCode() != 100 {
			t.Errorf("%s = %d %s", bad, r.status, r.raw)
		}
	}
	if r := do(t, http.MethodGet, e.graph.URL+"/v26.0/999/message_templates", token, "", nil); r.status != 400 || r.errorCode() != 100 {
		t.Errorf("other WABA = %d", r.status)
	}
}

func TestTemplates_AddAndPause(t *testing.T) {
	e := setup(t, sandbox.Options{Templates: []sandbox.Template{}})
	r := do(t, http.MethodGet, e.graph.URL+"/v26.0/"+sandbox.DefaultWABAID+"/message_templates", token, "", nil)
	if data := r.json["data"].([]any); r.status != 200 || len(data) != 0 {
		t.Fatalf("empty account = %s", r.raw)
	}
	e.sb.AddTemplate(sandbox.Template{Name: "pedido_enviado", Language: "pt_BR", Status: "APPROVED", Category: "UTILITY", ParameterFormat: "NAMED",
		Components: []map[string]any{{"type": "BODY", "text": "Olá {{nome}}, o pedido {{pedido}} saiu. {{nome}}, acompanhe."}}})
	send := func(params ...map[string]any) response {
		ps := make([]any, len(params))
		for i, p := range params {
			ps[i] = p
		}
		return postJSON(t, e.messagesURL(), token, map[string]any{"messaging_product": "whatsapp", "to": ana.WAID, "type": "template",
			"template": map[string]any{"name": "pedido_enviado", "language": map[string]any{"code": "pt_BR"},
				"components": []any{map[string]any{"type": "body", "parameters": ps}}}})
	}
	nome := map[string]any{"type": "text", "parameter_name": "nome", "text": "Ana"}
	pedido := map[string]any{"type": "text", "parameter_name": "pedido", "text": "#1"}
	if r := send(nome, pedido); r.status != 200 {
		t.Fatalf("named template = %d %s", r.status, r.raw)
	}
	if r := send(nome, map[string]any{"type": "text", "text": "#1"}); r.errorCode() != 100 {
		t.Errorf("named parameter without name = %s", r.raw)
	}
	if !e.sb.SetTemplateStatus("pedido_enviado", "pt_BR", "PAUSED") || e.sb.SetTemplateStatus("nope", "pt_BR", "PAUSED") {
		t.Fatal("SetTemplateStatus")
	}
	if r := send(nome, pedido); r.errorCode() != 132015 {
		t.Errorf("paused = %s", r.raw)
	}
	e.sb.SetTemplateStatus("pedido_enviado", "pt_BR", "DISABLED")
	if r := send(nome, pedido); r.errorCode() != 132016 {
		t.Errorf("disabled = %s", r.raw)
	}
}
