package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// TestAuthorizationMatrix calls every route as nobody, an agent, a
// supervisor and an admin, and checks the status each gets. A route missing
// from this table fails TestAuthorizationMatrixCoversEveryRoute.
func TestAuthorizationMatrix(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		agent, agentEmail := e.newUser(admin.access, helpdesk.RoleAgent, "Suporte")
		supervisor, _ := e.newUser(admin.access, helpdesk.RoleSupervisor)
		tokens := map[string]session{"agent": agent, "supervisor": supervisor, "admin": admin}

		// Fixtures made fresh for each call, so destructive calls do not
		// change what later calls see.
		throwawayUser := func() string {
			s, _ := e.newUser(admin.access, helpdesk.RoleAgent)
			return s.userID
		}
		throwawayDept := func() string {
			m := e.mustStatus(e.call("POST", "/api/v1/departments", admin.access,
				map[string]any{"name": fmt.Sprintf("Dept %d", e.seq.Add(1))}), 201).json(t)
			return m["id"].(string)
		}
		freshRefresh := func() string { return e.login(agentEmail, "Changed123").refresh }
		suporte := e.depts["Suporte"]
		conv := mustInsertConversation(t, e, suporte)
		inbound := mustInsertMessage(t, e, conv, helpdesk.DirectionInbound, "wamid.matrix")
		// A media message whose file is not downloaded yet: 409 to whoever may see it.
		if _, err := e.srv.DB.SQL().Exec("UPDATE messages SET media_id = '555', type = 'image' WHERE id = $1", inbound); err != nil {
			t.Fatal(err)
		}

		inboxEntry := mustInsertInboxEntry(t, e, textTo("300000000000099", "5511900000000", "wamid.matrix-inbox", "oi"), helpdesk.InboxUnrouted)

		type call struct {
			path string
			body any
		}
		cases := []struct {
			method, route string
			prepare       func(role string) call
			want          map[string]int // by role; "none" is no token
		}{
			{"GET", "/health", nil, all(200)},
			{"GET", "/metrics", nil, all(200)},
			{"GET", "/api/v1/openapi.json", nil, all(200)},
			{"POST", "/api/v1/auth/login", func(string) call {
				return call{"/api/v1/auth/login", map[string]string{"email": agentEmail, "password": "Changed123"}}
			}, all(200)},
			{"POST", "/api/v1/auth/refresh-token", func(string) call {
				return call{"/api/v1/auth/refresh-token", map[string]string{"refreshToken": freshRefresh()}}
			}, all(200)},
			{"POST", "/api/v1/auth/logout", func(string) call {
				return call{"/api/v1/auth/logout", map[string]string{"refreshToken": freshRefresh()}}
			}, all(204)},
			{"GET", "/api/v1/auth/me", nil, authed(200, 200, 200)},
			// A wrong current password proves the gate let the caller through.
			{"POST", "/api/v1/auth/change-password", func(string) call {
				return call{"/api/v1/auth/change-password", map[string]string{"currentPassword": "wrong-one1", "newPassword": "Another123"}}
			}, authed(400, 400, 400)},
			{"GET", "/api/v1/users", nil, authed(200, 200, 200)},
			{"POST", "/api/v1/users", func(string) call {
				n := e.seq.Add(1)
				return call{"/api/v1/users", map[string]any{"name": "New", "email": fmt.Sprintf("new%d@example.com", n), "password": "Secret123", "role": "agent"}}
			}, authed(403, 403, 201)},
			{"GET", "/api/v1/users/online", nil, authed(200, 200, 200)},
			// Not a WebSocket request: the token is checked, then 426 (the
			// events themselves are covered in ws_test.go).
			{"GET", "/ws", nil, authed(426, 426, 426)},
			{"GET", "/api/v1/channels", nil, authed(200, 200, 200)},
			{"POST", "/api/v1/channels", func(string) call {
				return call{"/api/v1/channels", map[string]any{"name": "Vendas", "phoneNumberId": fmt.Sprint(300000000000000 + e.seq.Add(1)),
					"accessToken": "EAAG-token", "appSecret": "app-secret"}}
			}, authed(403, 403, 201)},
			{"PATCH", "/api/v1/channels/{id}", func(string) call {
				chs, _ := e.srv.DB.ListChannels(t.Context())
				return call{"/api/v1/channels/" + chs[0].ID, map[string]any{"messagesPerSecond": 50}}
			}, authed(403, 403, 200)},
			{"POST", "/api/v1/sandbox/messages", func(role string) call {
				return call{"/api/v1/sandbox/messages", map[string]any{"waId": "5511977770000", "name": role, "text": "oi"}}
			}, authed(202, 202, 202)},
			{"GET", "/api/v1/sandbox/messages", func(string) call { return call{"/api/v1/sandbox/messages?waId=5511977770000", nil} }, authed(200, 200, 200)},
			{"GET", "/api/v1/users/{id}", func(string) call { return call{"/api/v1/users/" + agent.userID, nil} }, authed(200, 200, 200)},
			// Someone else's profile: admins only.
			{"PATCH", "/api/v1/users/{id}", func(string) call {
				return call{"/api/v1/users/" + throwawayUser(), map[string]any{"name": "Renamed"}}
			}, authed(403, 403, 200)},
			{"DELETE", "/api/v1/users/{id}", func(string) call { return call{"/api/v1/users/" + throwawayUser(), nil} }, authed(403, 403, 204)},
			{"GET", "/api/v1/departments", nil, authed(200, 200, 200)},
			{"POST", "/api/v1/departments", func(string) call {
				return call{"/api/v1/departments", map[string]any{"name": fmt.Sprintf("Created %d", e.seq.Add(1))}}
			}, authed(403, 403, 201)},
			{"GET", "/api/v1/departments/{id}", func(string) call { return call{"/api/v1/departments/" + suporte, nil} }, authed(200, 200, 200)},
			{"PATCH", "/api/v1/departments/{id}", func(string) call {
				return call{"/api/v1/departments/" + throwawayDept(), map[string]any{"description": "changed"}}
			}, authed(403, 403, 200)},
			{"DELETE", "/api/v1/departments/{id}", func(string) call { return call{"/api/v1/departments/" + throwawayDept(), nil} }, authed(403, 403, 204)},
			{"GET", "/api/v1/audit-logs", nil, authed(403, 200, 200)},
			{"GET", "/api/v1/bot/config", nil, authed(403, 200, 200)},
			{"PUT", "/api/v1/bot/config/{key}", func(string) call {
				return call{"/api/v1/bot/config/inactivity_timeout", map[string]any{"value": 900}}
			}, authed(403, 403, 200)},
			{"GET", "/api/v1/bot/flows", nil, authed(403, 200, 200)},
			{"POST", "/api/v1/conversations/{id}/bot", func(string) call {
				return call{"/api/v1/conversations/" + mustInsertBotConversation(t, e, suporte) + "/bot", nil}
			}, authed(200, 200, 200)},
			// Meta's routes ignore bearer tokens: the verify token and the
			// signature are what count.
			{"GET", "/api/v1/webhooks/whatsapp", func(string) call {
				return call{"/api/v1/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=42&hub.verify_token=" + e.srv.Config.WebhookVerifyToken, nil}
			}, all(200)},
			{"POST", "/api/v1/webhooks/whatsapp", func(string) call {
				return call{"/api/v1/webhooks/whatsapp", `{"object":"whatsapp_business_account","entry":[]}`}
			}, all(401)},
			{"GET", "/api/v1/conversations", nil, authed(200, 200, 200)},
			{"GET", "/api/v1/conversations/{id}", func(string) call { return call{"/api/v1/conversations/" + conv, nil} }, authed(200, 200, 200)},
			{"GET", "/api/v1/messages", func(string) call { return call{"/api/v1/messages?conversationId=" + conv, nil} }, authed(200, 200, 200)},
			{"GET", "/api/v1/conversations/stats", nil, authed(403, 200, 200)},
			{"GET", "/api/v1/conversations/{id}/history", func(string) call { return call{"/api/v1/conversations/" + conv + "/history", nil} }, authed(200, 200, 200)},
			{"POST", "/api/v1/conversations/{id}/takeover", func(string) call {
				return call{"/api/v1/conversations/" + mustInsertConversation(t, e, suporte) + "/takeover", nil}
			}, authed(200, 200, 200)},
			{"POST", "/api/v1/conversations/{id}/transfer", func(string) call {
				return call{"/api/v1/conversations/" + mustInsertConversation(t, e, suporte) + "/transfer", map[string]any{"toDepartmentId": e.depts["Vendas"]}}
			}, authed(200, 200, 200)},
			{"POST", "/api/v1/conversations/{id}/close", func(string) call {
				return call{"/api/v1/conversations/" + mustInsertConversation(t, e, suporte) + "/close", nil}
			}, authed(200, 200, 200)},
			{"POST", "/api/v1/conversations/{id}/reopen", func(string) call {
				closed := mustInsertConversation(t, e, suporte)
				if _, err := e.srv.DB.SQL().Exec("UPDATE conversations SET status = 'closed', closed_at = updated_at WHERE id = $1", closed); err != nil {
					t.Fatal(err)
				}
				return call{"/api/v1/conversations/" + closed + "/reopen", nil}
			}, authed(200, 200, 200)},
			// A template goes whatever the customer service window says.
			{"POST", "/api/v1/messages", func(string) call {
				return call{"/api/v1/messages", map[string]any{"conversationId": conv, "template": map[string]any{"name": "hello_world", "language": "en_US"}}}
			}, authed(202, 202, 202)},
			// Two channels exist here, so the list needs a channelId: the
			// validation answer proves the caller got past the gate.
			{"GET", "/api/v1/templates", nil, authed(400, 400, 400)},
			{"GET", "/api/v1/media/{id}", func(string) call { return call{"/api/v1/media/" + inbound, nil} }, authed(409, 409, 409)},
			{"PATCH", "/api/v1/messages/{id}/read", func(string) call { return call{"/api/v1/messages/" + inbound + "/read", nil} }, authed(200, 200, 200)},
			{"GET", "/api/v1/webhooks/inbox", nil, authed(403, 403, 200)},
			{"GET", "/api/v1/webhooks/inbox/{id}", func(string) call { return call{"/api/v1/webhooks/inbox/" + inboxEntry, nil} }, authed(403, 403, 200)},
			{"POST", "/api/v1/webhooks/inbox/{id}/replay", func(string) call { return call{"/api/v1/webhooks/inbox/" + inboxEntry + "/replay", nil} }, authed(403, 403, 200)},
			{"POST", "/api/v1/webhooks/inbox/replay", func(string) call { return call{"/api/v1/webhooks/inbox/replay", map[string]any{}} }, authed(403, 403, 200)},
		}
		covered := map[string]bool{}
		for _, c := range cases {
			covered[c.method+" "+c.route] = true
			for _, role := range []string{"none", "agent", "supervisor", "admin"} {
				t.Run(strings.ReplaceAll(c.method+c.route, "/", "_")+"/"+role, func(t *testing.T) {
					cl := call{path: c.route}
					if c.prepare != nil {
						cl = c.prepare(role)
					}
					token := ""
					if role != "none" {
						token = tokens[role].access
					}
					r := e.call(c.method, cl.path, token, cl.body)
					if r.status != c.want[role] {
						t.Fatalf("%s %s as %s: status %d, want %d: %s", c.method, cl.path, role, r.status, c.want[role], r.raw)
					}
					if r.status >= 400 {
						code := r.errCode(t)
						if r.status == 401 && code != helpdesk.CodeUnauthorized {
							t.Errorf("code %q, want unauthorized", code)
						}
						if r.status == 409 && code != helpdesk.CodeConflict {
							t.Errorf("code %q, want conflict", code)
						}
						if r.status == 403 && code != helpdesk.CodeForbidden {
							t.Errorf("code %q, want forbidden", code)
						}
					}
				})
			}
		}
		// Every route of the OpenAPI document is in the matrix.
		doc := e.mustStatus(e.call("GET", "/api/v1/openapi.json", "", nil), 200).json(t)
		for path, item := range doc["paths"].(map[string]any) {
			for method := range item.(map[string]any) {
				if key := strings.ToUpper(method) + " " + path; !covered[key] {
					t.Errorf("route %s is not in the authorization matrix", key)
				}
			}
		}
	})
}

// all expects the same status for every caller (public routes).
func all(status int) map[string]int {
	return map[string]int{"none": status, "agent": status, "supervisor": status, "admin": status}
}

// authed expects 401 without a token and the given statuses per role.
func authed(agent, supervisor, admin int) map[string]int {
	return map[string]int{"none": 401, "agent": agent, "supervisor": supervisor, "admin": admin}
}

// An agent may edit their own name, but not their role or departments.
func TestUpdateOwnProfile(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		agent, _ := e.newUser(admin.access, helpdesk.RoleAgent)
		m := e.mustStatus(e.call("PATCH", "/api/v1/users/"+agent.userID, agent.access, map[string]any{"name": "Ana Souza"}), 200).json(t)
		if m["name"] != "Ana Souza" {
			t.Errorf("name = %v", m["name"])
		}
		for _, body := range []map[string]any{
			{"role": "admin"},
			{"departmentIds": []string{e.depts["Vendas"]}},
			{"active": false},
			{"maxConversations": 50},
			{"password": "Hijack123"},
		} {
			r := e.mustStatus(e.call("PATCH", "/api/v1/users/"+agent.userID, agent.access, body), 403)
			if r.errCode(t) != helpdesk.CodeForbidden {
				t.Errorf("%v: code %s", body, r.errCode(t))
			}
		}
		me := e.mustStatus(e.call("GET", "/api/v1/auth/me", agent.access, nil), 200).json(t)
		if me["role"] != "agent" || me["active"] != true {
			t.Errorf("agent changed own role/status: %v", me)
		}
	})
}
