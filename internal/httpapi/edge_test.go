package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

func TestBadInput(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		big := `{"name":"` + strings.Repeat("a", 1<<20) + `"}`
		cases := []struct {
			name, method, path, body string
			header                   map[string]string
			status                   int
			code, field              string
		}{
			{"malformed JSON", "POST", "/api/v1/departments", `{"name":`, nil, 400, helpdesk.CodeBadRequest, ""},
			{"not an object", "POST", "/api/v1/departments", `["x"]`, nil, 400, helpdesk.CodeBadRequest, ""},
			{"empty body", "POST", "/api/v1/departments", ``, nil, 400, helpdesk.CodeBadRequest, ""},
			{"two objects", "POST", "/api/v1/departments", `{"name":"A"}{"name":"B"}`, nil, 400, helpdesk.CodeBadRequest, ""},
			{"unknown field", "POST", "/api/v1/departments", `{"name":"A","color":"red"}`, nil, 400, helpdesk.CodeValidation, "color"},
			{"wrong type", "POST", "/api/v1/departments", `{"name":42}`, nil, 400, helpdesk.CodeValidation, "name"},
			{"missing field", "POST", "/api/v1/departments", `{"description":"x"}`, nil, 400, helpdesk.CodeValidation, "name"},
			{"name too long", "POST", "/api/v1/departments", `{"name":"` + strings.Repeat("x", 121) + `"}`, nil, 400, helpdesk.CodeValidation, "name"},
			{"not JSON", "POST", "/api/v1/departments", `name=A`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, helpdesk.CodeUnsupportedMediaType, ""},
			{"too large", "POST", "/api/v1/departments", big, nil, 413, helpdesk.CodeTooLarge, ""},
			{"padded past the limit", "POST", "/api/v1/departments", `{"name":"Padded"}` + strings.Repeat(" ", 1<<20), nil, 413, helpdesk.CodeTooLarge, ""},
			{"unknown user", "GET", "/api/v1/users/" + helpdesk.NewID(), "", nil, 404, helpdesk.CodeNotFound, ""},
			{"malformed user id", "GET", "/api/v1/users/abc", "", nil, 404, helpdesk.CodeNotFound, ""},
			{"unknown department", "PATCH", "/api/v1/departments/" + helpdesk.NewID(), `{"name":"X"}`, nil, 404, helpdesk.CodeNotFound, ""},
			{"delete unknown department", "DELETE", "/api/v1/departments/" + helpdesk.NewID(), "", nil, 404, helpdesk.CodeNotFound, ""},
			{"deactivate unknown user", "DELETE", "/api/v1/users/" + helpdesk.NewID(), "", nil, 404, helpdesk.CodeNotFound, ""},
			{"unknown route", "GET", "/api/v1/nothing-here", "", nil, 404, helpdesk.CodeNotFound, ""},
			{"wrong method", "PUT", "/api/v1/departments", `{}`, nil, 405, "method_not_allowed", ""},
			{"limit not a number", "GET", "/api/v1/users?limit=ten", "", nil, 400, helpdesk.CodeValidation, "limit"},
			{"limit zero", "GET", "/api/v1/users?limit=0", "", nil, 400, helpdesk.CodeValidation, "limit"},
			{"limit too big", "GET", "/api/v1/users?limit=101", "", nil, 400, helpdesk.CodeValidation, "limit"},
			{"foreign cursor", "GET", "/api/v1/users?cursor=bm90LWFuLWlk", "", nil, 400, helpdesk.CodeValidation, "cursor"},
			{"bad role filter", "GET", "/api/v1/users?role=root", "", nil, 400, helpdesk.CodeValidation, "role"},
			{"bad active filter", "GET", "/api/v1/users?active=maybe", "", nil, 400, helpdesk.CodeValidation, "active"},
			{"audit limit", "GET", "/api/v1/audit-logs?limit=-1", "", nil, 400, helpdesk.CodeValidation, "limit"},
			// PostgreSQL refuses NUL in text and invalid UTF-8 anywhere:
			// each of these was a 500 there before being refused up front.
			{"NUL in a name", "POST", "/api/v1/departments", `{"name":"Sup\u0000orte"}`, nil, 400, helpdesk.CodeValidation, "name"},
			{"NUL in a list", "POST", "/api/v1/users", `{"name":"Ana","email":"ana@x.com","password":"Secret-123","role":"agent","departmentIds":["a\u0000"]}`, nil, 400, helpdesk.CodeValidation, "departmentIds"},
			{"NUL in a login e-mail", "POST", "/api/v1/auth/login", `{"email":"a\u0000@x.com","password":"x"}`, nil, 400, helpdesk.CodeValidation, "email"},
			{"login e-mail too long", "POST", "/api/v1/auth/login", `{"email":"` + strings.Repeat("a", 300) + `@x.com","password":"x"}`, nil, 400, helpdesk.CodeValidation, "email"},
			{"NUL in a search", "GET", "/api/v1/users?q=%00", "", nil, 400, helpdesk.CodeValidation, "q"},
			{"invalid UTF-8 in a search", "GET", "/api/v1/users?q=%FF", "", nil, 400, helpdesk.CodeValidation, "q"},
			{"invalid UTF-8 in an audit filter", "GET", "/api/v1/audit-logs?action=%C3", "", nil, 400, helpdesk.CodeValidation, "action"},
			{"NUL in a conversation filter", "GET", "/api/v1/messages?conversationId=%00", "", nil, 400, helpdesk.CodeValidation, "conversationId"},
			{"invalid UTF-8 in a path", "GET", "/api/v1/users/%FF%FE", "", nil, 400, helpdesk.CodeBadRequest, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var body any
				if c.body != "" {
					body = c.body
				}
				var opts []reqOpt
				for k, v := range c.header {
					opts = append(opts, withHeader(k, v))
				}
				r := e.call(c.method, c.path, admin.access, body, opts...)
				if r.status != c.status {
					t.Fatalf("status %d, want %d: %.300s", r.status, c.status, r.raw)
				}
				if got := r.errCode(t); got != c.code {
					t.Errorf("code %q, want %q", got, c.code)
				}
				if c.field != "" && r.errFields(t)[c.field] == nil {
					t.Errorf("no error for field %q: %s", c.field, r.raw)
				}
				if r.json(t)["error"].(map[string]any)["requestId"] == "" {
					t.Errorf("no requestId")
				}
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type %q", ct)
				}
			})
		}
		// A streamed body over the limit, with no Content-Length.
		t.Run("too large chunked", func(t *testing.T) {
			pr, pw := io.Pipe()
			go func() {
				_, _ = pw.Write([]byte(`{"name":"`))
				for i := 0; i < 1200; i++ {
					_, _ = pw.Write([]byte(strings.Repeat("b", 1024)))
				}
				_ = pw.CloseWithError(io.EOF)
			}()
			req, _ := http.NewRequest("POST", e.http.URL+"/api/v1/departments", pr)
			req.Header.Set("Authorization", "Bearer "+admin.access)
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 413 {
				t.Errorf("status %d, want 413", res.StatusCode)
			}
		})
		// A User-Agent is recorded, not interpreted: a broken one is cleaned,
		// and logging in and refreshing still work on both engines.
		t.Run("broken user agent", func(t *testing.T) {
			ua := withHeader("User-Agent", "curl\xff\xfe/8 \xc3")
			m := e.mustStatus(e.call("POST", "/api/v1/auth/login", "", map[string]string{"email": helpdesk.BootstrapAdminEmail, "password": "NewAdmin@2024"}, ua), 200).json(t)
			e.mustStatus(e.call("POST", "/api/v1/auth/refresh-token", "", map[string]string{"refreshToken": m["refreshToken"].(string)}, ua), 200)
		})
		// None of the refused requests created a department.
		ds := e.mustStatus(e.call("GET", "/api/v1/departments", admin.access, nil), 200).json(t)["data"].([]any)
		if len(ds) != 3 {
			t.Errorf("departments = %d, want the 3 defaults", len(ds))
		}
	})
}

func TestDepartments(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		ds := e.mustStatus(e.call("GET", "/api/v1/departments", admin.access, nil), 200).json(t)["data"].([]any)
		var names []string
		for _, d := range ds {
			names = append(names, d.(map[string]any)["name"].(string))
		}
		if !slices.Equal(names, []string{"Financeiro", "Suporte", "Vendas"}) {
			t.Errorf("default departments = %v", names)
		}

		d := e.mustStatus(e.call("POST", "/api/v1/departments", admin.access, map[string]any{"name": " Técnico ", "description": "Suporte técnico", "autoAssign": true}), 201).json(t)
		if d["name"] != "Técnico" || d["active"] != true || d["autoAssign"] != true {
			t.Errorf("created = %v", d)
		}
		id := d["id"].(string)
		r := e.mustStatus(e.call("POST", "/api/v1/departments", admin.access, map[string]any{"name": "SUPORTE"}), 409)
		if r.errCode(t) != helpdesk.CodeConflict {
			t.Errorf("duplicate: %s", r.raw)
		}
		e.mustStatus(e.call("PATCH", "/api/v1/departments/"+id, admin.access, map[string]any{"name": "vendas"}), 409)

		d = e.mustStatus(e.call("PATCH", "/api/v1/departments/"+id, admin.access, map[string]any{"active": false}), 200).json(t)
		if d["active"] != false || d["name"] != "Técnico" || d["description"] != "Suporte técnico" {
			t.Errorf("patched = %v", d)
		}
		got := e.mustStatus(e.call("GET", "/api/v1/departments/"+id, admin.access, nil), 200).json(t)
		if got["active"] != false {
			t.Errorf("get after patch = %v", got)
		}

		// Members lose the link when the department goes.
		agent, _ := e.newUser(admin.access, helpdesk.RoleAgent, "Suporte")
		e.mustStatus(e.call("PATCH", "/api/v1/users/"+agent.userID, admin.access, map[string]any{"departmentIds": []string{id, e.depts["Suporte"]}}), 200)
		e.mustStatus(e.call("DELETE", "/api/v1/departments/"+id, admin.access, nil), 204)
		e.mustStatus(e.call("GET", "/api/v1/departments/"+id, admin.access, nil), 404)
		u := e.mustStatus(e.call("GET", "/api/v1/users/"+agent.userID, admin.access, nil), 200).json(t)
		if ids := u["departmentIds"].([]any); len(ids) != 1 || ids[0] != e.depts["Suporte"] {
			t.Errorf("departmentIds after delete = %v", ids)
		}

		// A department with conversations cannot be deleted.
		suporte := e.depts["Suporte"]
		mustInsertConversation(t, e, suporte)
		r = e.mustStatus(e.call("DELETE", "/api/v1/departments/"+suporte, admin.access, nil), 409)
		if r.errCode(t) != helpdesk.CodeConflict {
			t.Errorf("delete with conversations: %s", r.raw)
		}

		logs := e.mustStatus(e.call("GET", "/api/v1/audit-logs?entityId="+id, admin.access, nil), 200).json(t)["data"].([]any)
		var actions []string
		for _, l := range logs {
			actions = append(actions, l.(map[string]any)["action"].(string))
		}
		if !slices.Equal(actions, []string{helpdesk.AuditDeptDelete, helpdesk.AuditDeptUpdate, helpdesk.AuditDeptCreate}) {
			t.Errorf("audit actions (newest first) = %v", actions)
		}
	})
}

// mustInsertConversation stores a conversation of a new customer on a new
// channel in department deptID.
func mustInsertConversation(t *testing.T, e *testEnv, deptID string) string {
	t.Helper()
	db := e.srv.DB.SQL()
	ctx := context.Background()
	now := helpdesk.Now()
	ch, cu, cv := helpdesk.NewID(), helpdesk.NewID(), helpdesk.NewID()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO channels (id, name, phone_number_id, display_phone_number, business_account_id, access_token, created_at, updated_at)
		  VALUES ($1, 'Main', $2, '+55 11 4000-0000', 'waba', 'token', $3, $3)`, []any{ch, "pn-" + ch, now}},
		{`INSERT INTO customers (id, wa_id, name, profile_name, created_at, updated_at) VALUES ($1, $2, 'João', 'João', $3, $3)`, []any{cu, "5511" + cu[len(cu)-12:], now}},
		{`INSERT INTO conversations (id, channel_id, customer_id, department_id, status, created_at, updated_at)
		  VALUES ($1, $2, $3, $4, 'waiting', $5, $5)`, []any{cv, ch, cu, deptID, now}},
	} {
		if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	return cv
}

// TestOpenAPICoversEveryRoute walks the router: every registered API route
// must be described in /api/v1/openapi.json.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		doc := e.mustStatus(e.call("GET", "/api/v1/openapi.json", "", nil), 200).json(t)
		if doc["openapi"] != "3.1.0" {
			t.Errorf("openapi = %v", doc["openapi"])
		}
		paths := doc["paths"].(map[string]any)
		routes, ok := e.srv.Handler().(chi.Routes)
		if !ok {
			t.Fatal("handler is not a chi router")
		}
		n := 0
		err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
			if route == "/" || route == "/*" { // the dashboard, not part of the API
				return nil
			}
			n++
			item, ok := paths[route].(map[string]any)
			if !ok || item[strings.ToLower(method)] == nil {
				t.Errorf("%s %s is registered but not in the OpenAPI document", method, route)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n < 15 {
			t.Errorf("walked only %d routes", n)
		}
		login := paths["/api/v1/auth/login"].(map[string]any)["post"].(map[string]any)
		schema := login["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
		if req := schema["required"].([]any); len(req) != 2 {
			t.Errorf("login body required = %v", req)
		}
		if _, ok := login["responses"].(map[string]any)["200"]; !ok {
			t.Errorf("login has no 200 response")
		}
	})
}

func TestEdgeHeaders(t *testing.T) {
	forEachEngine(t, map[string]string{"FRONTEND_URL": "http://localhost:5173,https://painel.example.com"}, func(t *testing.T, e *testEnv) {
		r := e.mustStatus(e.call("GET", "/health", "", nil), 200)
		m := r.json(t)
		if m["status"] != "ok" || m["database"] != "ok" {
			t.Errorf("health = %v", m)
		}
		for k, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
			"Referrer-Policy":        "strict-origin-when-cross-origin",
		} {
			if got := r.header.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP = %q", csp)
		}
		if r.header.Get("Strict-Transport-Security") != "" {
			t.Errorf("HSTS outside production")
		}
		if r.header.Get("X-Request-Id") == "" {
			t.Errorf("no X-Request-Id")
		}
		r = e.call("GET", "/health", "", nil, withHeader("X-Request-Id", "trace-123"))
		if r.header.Get("X-Request-Id") != "trace-123" {
			t.Errorf("incoming request id not kept: %q", r.header.Get("X-Request-Id"))
		}

		r = e.call("OPTIONS", "/api/v1/auth/login", "", nil,
			withHeader("Origin", "https://painel.example.com"), withHeader("Access-Control-Request-Method", "POST"))
		if r.header.Get("Access-Control-Allow-Origin") != "https://painel.example.com" {
			t.Errorf("allowed origin not echoed: %v", r.header)
		}
		r = e.call("OPTIONS", "/api/v1/auth/login", "", nil,
			withHeader("Origin", "https://evil.example.com"), withHeader("Access-Control-Request-Method", "POST"))
		if r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("foreign origin allowed")
		}

		page := e.mustStatus(e.call("GET", "/", "", nil), 200)
		if !strings.Contains(string(page.raw), "SupportWhatsApp") || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
			t.Errorf("placeholder page: %s", page.raw)
		}
	})
}

func TestMetrics(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		e.mustStatus(e.call("GET", "/api/v1/users/"+admin.userID, admin.access, nil), 200)
		e.mustStatus(e.call("GET", "/api/v1/users/"+helpdesk.NewID(), admin.access, nil), 404)
		body := string(e.mustStatus(e.call("GET", "/metrics", "", nil), 200).raw)
		for _, want := range []string{
			`http_requests_total{method="GET",route="/api/v1/users/{id}",status="200"} 1`,
			`http_requests_total{method="GET",route="/api/v1/users/{id}",status="404"} 1`,
			`http_request_duration_seconds_bucket{method="POST",route="/api/v1/auth/login",status="200",le="+Inf"}`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if strings.Contains(body, admin.userID) {
			t.Errorf("metrics contain a raw path")
		}
	})
}

// With METRICS_TOKEN set, /metrics answers only a scraper that presents it
// as a bearer token; a user's access token is not it.
func TestMetricsToken(t *testing.T) {
	forEachEngine(t, map[string]string{"METRICS_TOKEN": "scrape-secret"}, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		for _, tok := range []string{"", "wrong", admin.access} {
			if r := e.call("GET", "/metrics", tok, nil); r.status != 401 || r.errCode(t) != helpdesk.CodeUnauthorized {
				t.Errorf("metrics with token %.10q: %d %s, want 401", tok, r.status, r.raw)
			}
		}
		if body := string(e.mustStatus(e.call("GET", "/metrics", "scrape-secret", nil), 200).raw); !strings.Contains(body, "http_requests_total") {
			t.Errorf("metrics with the token: %.200s", body)
		}
	})
}
