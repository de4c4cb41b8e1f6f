package httpapi_test

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// Filters and search of GET /conversations, on both engines, through the
// real ingest path (so the search index is fed the way production feeds it).
func TestConversationFiltersAndSearch(t *testing.T) {
	forEachEngine(t, webhookEnv, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		write := func(waID, name, wamid, text string) {
			body := envelope("100000000000001", map[string]any{
				"contacts": []any{map[string]any{"profile": map[string]any{"name": name}, "wa_id": waID}},
				"messages": []any{map[string]any{"from": waID, "id": wamid, "timestamp": fmt.Sprint(time.Now().Unix()), "type": "text",
					"text": map[string]any{"body": text}}},
			})
			e.mustStatus(e.postWebhook(body, sign(body)), 200)
		}
		write("5511987650001", "José Álvares", "wamid.s1", "Não consigo acessar minha conta")
		write("5521912340002", "Maria", "wamid.s2", "Quero comprar um plano anual")
		write("5531955550003", "Ana_100%", "wamid.s3", "Bom dia")

		list := func(query string) []string {
			t.Helper()
			items := e.mustStatus(e.call("GET", "/api/v1/conversations?"+query, admin.access, nil), 200).json(t)["data"].([]any)
			var names []string
			for _, it := range items {
				names = append(names, it.(map[string]any)["customer"].(map[string]any)["name"].(string))
			}
			slices.Sort(names)
			return names
		}
		search := func(q string) []string { return list("q=" + url.QueryEscape(q)) }
		for _, c := range []struct {
			q    string
			want []string
		}{
			{"nao consigo", []string{"José Álvares"}},
			{"NÃO CONSÍGO", []string{"José Álvares"}},
			{"consig", []string{"José Álvares"}}, // the last word as a prefix
			{"nao consig", []string{"José Álvares"}},
			{"consig acessar", nil},            // earlier words whole
			{"jose", []string{"José Álvares"}}, // customer name, accents folded
			{"alvares", []string{"José Álvares"}},
			{"98765", []string{"José Álvares"}}, // number fragment
			{"+55 21 9123", []string{"Maria"}},
			{"comprar plano", []string{"Maria"}},
			{"plano comprar", []string{"Maria"}},
			{"comprar conta", nil}, // every word must match one message
			{"100%", []string{"Ana_100%"}},
			{"%", []string{"Ana_100%"}}, // wildcards are literal
			{"_", []string{"Ana_100%"}},
			{"m_ria", nil},
			{`"; DROP TABLE messages; --`, nil},
			{"xyzzy", nil},
		} {
			if got := search(c.q); !slices.Equal(got, c.want) {
				t.Errorf("q=%q: got %v, want %v", c.q, got, c.want)
			}
		}

		// A customer who changes their WhatsApp profile name is found by
		// the new one at once; the name the desk knows them by stays.
		write("5521912340002", "Mariana Costa", "wamid.s4", "Alguma novidade?")
		if got := search("costa"); !slices.Equal(got, []string{"Maria"}) {
			t.Errorf("q=costa after the profile name changed: got %v, want [Maria]", got)
		}

		// Filters.
		if got := list("unread=true"); len(got) != 3 {
			t.Errorf("unread=true: %v", got)
		}
		var joseConv string
		for _, it := range e.mustStatus(e.call("GET", "/api/v1/conversations?q=jose", admin.access, nil), 200).json(t)["data"].([]any) {
			joseConv = it.(map[string]any)["id"].(string)
		}
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+joseConv+"/takeover", admin.access, nil), 200)
		if got := list("assigneeId=me"); !slices.Equal(got, []string{"José Álvares"}) {
			t.Errorf("assigneeId=me: %v", got)
		}
		if got := list("assigneeId=none"); len(got) != 2 || slices.Contains(got, "José Álvares") {
			t.Errorf("assigneeId=none: %v", got)
		}
		if got := list("assigneeId=me&q=maria"); got != nil {
			t.Errorf("filters combine: %v", got)
		}
		if got := list("status=open"); !slices.Equal(got, []string{"José Álvares"}) {
			t.Errorf("status=open: %v", got)
		}
		if got := list("departmentId=" + e.depts["Vendas"]); got != nil {
			t.Errorf("departmentId=Vendas: %v", got)
		}
		if got := list("channelId=" + helpdesk.NewID()); got != nil {
			t.Errorf("unknown channel: %v", got)
		}

		// Bad filters are 400 naming the parameter.
		for param, value := range map[string]string{"departmentId": "abc", "assigneeId": "x", "channelId": "1", "unread": "maybe", "q": string(make([]byte, 201))} {
			r := e.mustStatus(e.call("GET", "/api/v1/conversations?"+param+"="+url.QueryEscape(value), admin.access, nil), 400)
			if r.errFields(t)[param] == nil {
				t.Errorf("%s=%q: %s", param, value, r.raw)
			}
		}
	})
}
