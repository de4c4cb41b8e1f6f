package httpapi_test

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

func TestFirstLoginRequiresPasswordChange(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		m := e.mustStatus(e.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "ADMIN@suporte.com ", "password": adminPassword}), 200).json(t)
		user := m["user"].(map[string]any)
		if user["email"] != helpdesk.BootstrapAdminEmail || user["role"] != "admin" || user["mustChangePassword"] != true {
			t.Fatalf("bootstrap admin = %v", user)
		}
		if m["expiresIn"] != float64(900) || m["tokenType"] != "Bearer" {
			t.Errorf("expiresIn/tokenType = %v/%v, want 900/Bearer", m["expiresIn"], m["tokenType"])
		}
		if ids, ok := user["departmentIds"].([]any); !ok || len(ids) != 0 {
			t.Errorf("departmentIds = %v, want []", user["departmentIds"])
		}
		access, refresh := m["accessToken"].(string), m["refreshToken"].(string)

		// Locked: everything but me, change-password, refresh and logout.
		for _, path := range []string{"/api/v1/users", "/api/v1/departments", "/api/v1/users/" + user["id"].(string)} {
			r := e.mustStatus(e.call("GET", path, access, nil), 403)
			if r.errCode(t) != helpdesk.CodePasswordChangeRequired {
				t.Errorf("%s: code %s", path, r.errCode(t))
			}
		}
		e.mustStatus(e.call("GET", "/api/v1/auth/me", access, nil), 200)

		// The policy applies to the new password.
		for _, weak := range []string{"short1", "onlyletters", "12345678"} {
			r := e.mustStatus(e.call("POST", "/api/v1/auth/change-password", access, map[string]string{"currentPassword": adminPassword, "newPassword": weak}), 400)
			if r.errFields(t)["newPassword"] == nil {
				t.Errorf("%q: no newPassword field error: %s", weak, r.raw)
			}
		}
		r := e.mustStatus(e.call("POST", "/api/v1/auth/change-password", access, map[string]string{"currentPassword": "Wrong@123", "newPassword": "Better1234"}), 400)
		if r.errFields(t)["currentPassword"] == nil {
			t.Errorf("wrong current password: %s", r.raw)
		}

		m = e.mustStatus(e.call("POST", "/api/v1/auth/change-password", access, map[string]string{"currentPassword": adminPassword, "newPassword": "Better1234"}), 200).json(t)
		if m["user"].(map[string]any)["mustChangePassword"] != false {
			t.Errorf("lock not lifted: %v", m["user"])
		}
		e.mustStatus(e.call("GET", "/api/v1/users", m["accessToken"].(string), nil), 200)
		// The sessions from before the change are over.
		e.mustStatus(e.call("POST", "/api/v1/auth/refresh-token", "", map[string]string{"refreshToken": refresh}), 401)
		// Old password no longer works, the new one does.
		e.mustStatus(e.call("POST", "/api/v1/auth/login", "", map[string]string{"email": helpdesk.BootstrapAdminEmail, "password": adminPassword}), 401)
		e.login(helpdesk.BootstrapAdminEmail, "Better1234")
	})
}

func TestLoginFailures(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		for name, body := range map[string]map[string]string{
			"wrong password": {"email": helpdesk.BootstrapAdminEmail, "password": "Nope12345"},
			"unknown email":  {"email": "nobody@example.com", "password": "Nope12345"},
		} {
			r := e.mustStatus(e.call("POST", "/api/v1/auth/login", "", body), 401)
			if r.errCode(t) != helpdesk.CodeInvalidCredentials {
				t.Errorf("%s: code %s", name, r.errCode(t))
			}
		}
		r := e.mustStatus(e.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "x@example.com"}), 400)
		if r.errFields(t)["password"] != "is required" {
			t.Errorf("missing password: %s", r.raw)
		}
		admin := e.admin()
		logs := e.mustStatus(e.call("GET", "/api/v1/audit-logs?action=auth.login_failed", admin.access, nil), 200).json(t)["data"].([]any)
		if len(logs) != 2 {
			t.Fatalf("failed-login audit rows = %d, want 2", len(logs))
		}
		for _, l := range logs {
			details := l.(map[string]any)["details"].(map[string]any)
			if details["email"] == nil || details["password"] != nil {
				t.Errorf("audit details = %v", details)
			}
		}
	})
}

func TestRefreshTokenRotationAndReuse(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		r1 := admin.refresh
		m := e.mustStatus(e.call("POST", "/api/v1/auth/refresh-token", "", map[string]string{"refreshToken": r1}), 200).json(t)
		r2 := m["refreshToken"].(string)
		if r2 == r1 || m["accessToken"] == "" || m["user"].(map[string]any)["id"] != admin.userID {
			t.Fatalf("rotation returned %v", m)
		}
		e.mustStatus(e.call("GET", "/api/v1/auth/me", m["accessToken"].(string), nil), 200)

		// r1 is dead; presenting it again is reuse and kills r2 too.
		r := e.mustStatus(e.call("POST", "/api/v1/auth/refresh-token", "", map[string]string{"refreshToken": r1}), 401)
		if r.errCode(t) != helpdesk.CodeInvalidToken {
			t.Errorf("code %s", r.errCode(t))
		}
		e.mustStatus(e.call("POST", "/api/v1/auth/refresh-token", "", map[string]string{"refreshToken": r2}), 401)
		logs := e.mustStatus(e.call("GET", "/api/v1/audit-logs?action=auth.refresh_token_reuse", admin.access, nil), 200).json(t)["data"].([]any)
		if len(logs) != 1 {
			t.Errorf("reuse audit rows = %d, want 1", len(logs))
		}

		// A session from another login is untouched.
		other := e.login(helpdesk.BootstrapAdminEmail, "NewAdmin@2024")
		e.mustStatus(e.call("POST", "/api/v1/auth/refresh-token", "", map[string]string{"refreshToken": other.refresh}), 200)

		// Garbage is refused the same way.
		e.mustStatus(e.call("POST", "/api/v1/auth/refresh-token", "", map[string]string{"refreshToken": "garbage"}), 401)
	})
}

func TestLogout(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		e.mustStatus(e.call("POST", "/api/v1/auth/logout", admin.access, map[string]string{"refreshToken": admin.refresh}), 204)
		e.mustStatus(e.call("POST", "/api/v1/auth/refresh-token", "", map[string]string{"refreshToken": admin.refresh}), 401)
		// Logging out twice is harmless.
		e.mustStatus(e.call("POST", "/api/v1/auth/logout", "", map[string]string{"refreshToken": admin.refresh}), 204)
	})
}

func TestAccessTokenChecks(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		for name, header := range map[string]string{
			"no scheme":    admin.access,
			"basic":        "Basic " + admin.access,
			"garbage":      "Bearer not.a.token",
			"empty bearer": "Bearer ",
			"tampered":     "Bearer " + admin.access[:len(admin.access)-2] + "xx",
		} {
			r := e.call("GET", "/api/v1/auth/me", "", nil, withHeader("Authorization", header))
			if r.status != 401 {
				t.Errorf("%s: status %d", name, r.status)
			}
			if r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: no WWW-Authenticate", name)
			}
		}
	})
}

func TestDeactivatedUserIsLockedOut(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		agent, email := e.newUser(admin.access, helpdesk.RoleAgent, "Vendas")
		e.mustStatus(e.call("GET", "/api/v1/auth/me", agent.access, nil), 200)

		e.mustStatus(e.call("DELETE", "/api/v1/users/"+agent.userID, admin.access, nil), 204)
		e.mustStatus(e.call("GET", "/api/v1/auth/me", agent.access, nil), 401)
		e.mustStatus(e.call("POST", "/api/v1/auth/refresh-token", "", map[string]string{"refreshToken": agent.refresh}), 401)
		r := e.mustStatus(e.call("POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": "Changed123"}), 401)
		if r.errCode(t) != helpdesk.CodeInvalidCredentials {
			t.Errorf("code %s", r.errCode(t))
		}
		u := e.mustStatus(e.call("GET", "/api/v1/users/"+agent.userID, admin.access, nil), 200).json(t)
		if u["active"] != false {
			t.Errorf("user still active: %v", u)
		}
		inactive := e.mustStatus(e.call("GET", "/api/v1/users?active=false", admin.access, nil), 200).json(t)["data"].([]any)
		if len(inactive) != 1 || inactive[0].(map[string]any)["id"] != agent.userID {
			t.Errorf("active=false filter = %v", inactive)
		}
		// Deactivating again is a no-op; reactivating lets them back in.
		e.mustStatus(e.call("DELETE", "/api/v1/users/"+agent.userID, admin.access, nil), 204)
		e.mustStatus(e.call("PATCH", "/api/v1/users/"+agent.userID, admin.access, map[string]any{"active": true}), 200)
		e.login(email, "Changed123")

		// Nobody deactivates themselves, and the last admin stays an admin.
		r = e.mustStatus(e.call("DELETE", "/api/v1/users/"+admin.userID, admin.access, nil), 422)
		if r.errCode(t) != helpdesk.CodeUnprocessable {
			t.Errorf("code %s", r.errCode(t))
		}
		e.mustStatus(e.call("PATCH", "/api/v1/users/"+admin.userID, admin.access, map[string]any{"role": "agent"}), 422)
		second, _ := e.newUser(admin.access, helpdesk.RoleAdmin)
		// PATCH is not a way round the self-deactivation rule either.
		e.mustStatus(e.call("PATCH", "/api/v1/users/"+admin.userID, admin.access, map[string]any{"active": false}), 422)
		e.mustStatus(e.call("PATCH", "/api/v1/users/"+admin.userID, second.access, map[string]any{"role": "supervisor"}), 200)
		// The demotion applies at the next request, without a new token.
		e.mustStatus(e.call("POST", "/api/v1/departments", admin.access, map[string]any{"name": "Nope"}), 403)
	})
}

// Two admins demoting or deactivating each other at the same moment: one
// wins, the other is refused, and an active admin always remains.
func TestLastAdminRace(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		newAdmin := func(name string) (string, string) {
			u := mustCreateUser(t, e, name+"@example.com")
			admin := helpdesk.RoleAdmin
			if _, err := e.srv.DB.UpdateUser(t.Context(), u.ID, helpdesk.UserUpdate{Role: &admin}, helpdesk.Now()); err != nil {
				t.Fatal(err)
			}
			tok, err := e.srv.Auth.IssueAccessToken(u.ID)
			if err != nil {
				t.Fatal(err)
			}
			return u.ID, tok
		}
		aID, aTok := newAdmin("first")
		bootstrap := e.admin()
		e.mustStatus(e.call("PATCH", "/api/v1/users/"+bootstrap.userID, aTok, map[string]any{"role": "agent"}), 200)

		for round := 0; round < 6; round++ {
			bID, bTok := newAdmin(fmt.Sprintf("round%d", round))
			method, body := "PATCH", any(map[string]any{"role": "supervisor"})
			if round%2 == 1 {
				method, body = "DELETE", nil
			}
			var aRes, bRes resp
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); aRes = e.call(method, "/api/v1/users/"+bID, aTok, body) }()
			go func() { defer wg.Done(); bRes = e.call(method, "/api/v1/users/"+aID, bTok, body) }()
			wg.Wait()
			ok := func(r resp) bool { return r.status == 200 || r.status == 204 }
			if ok(aRes) == ok(bRes) {
				t.Fatalf("round %d: %s answered %d and %d, want exactly one success: %s / %s", round, method, aRes.status, bRes.status, aRes.raw, bRes.raw)
			}
			active := true
			admins, err := e.srv.DB.ListUsers(t.Context(), helpdesk.UserFilter{Role: helpdesk.RoleAdmin, Active: &active, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(admins) != 1 {
				t.Fatalf("round %d: %d active admins, want 1", round, len(admins))
			}
			aID, aTok = admins[0].ID, map[string]string{aID: aTok, bID: bTok}[admins[0].ID]
		}
	})
}

func TestCreateUser(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		good := func() map[string]any {
			return map[string]any{"name": "Maria José", "email": "maria@example.com", "password": "Secret123", "role": "agent",
				"departmentIds": []string{e.depts["Suporte"], e.depts["Vendas"]}, "maxConversations": 8}
		}
		r := e.mustStatus(e.call("POST", "/api/v1/users", admin.access, good()), 201)
		u := r.json(t)
		if u["email"] != "maria@example.com" || u["role"] != "agent" || u["maxConversations"] != float64(8) ||
			len(u["departmentIds"].([]any)) != 2 || u["mustChangePassword"] != true || u["active"] != true || u["password"] != nil || u["passwordHash"] != nil {
			t.Errorf("created user = %v", u)
		}
		if r.header.Get("Location") != "/api/v1/users/"+u["id"].(string) {
			t.Errorf("Location = %q", r.header.Get("Location"))
		}
		got := e.mustStatus(e.call("GET", "/api/v1/users/"+u["id"].(string), admin.access, nil), 200).json(t)
		if got["name"] != "Maria José" {
			t.Errorf("get = %v", got)
		}
		dept := e.mustStatus(e.call("GET", "/api/v1/users?departmentId="+e.depts["Vendas"], admin.access, nil), 200).json(t)["data"].([]any)
		if len(dept) != 1 {
			t.Errorf("department filter = %v", dept)
		}

		dup := good()
		dup["email"] = "MARIA@example.com"
		r = e.mustStatus(e.call("POST", "/api/v1/users", admin.access, dup), 409)
		if r.errCode(t) != helpdesk.CodeEmailTaken {
			t.Errorf("duplicate: code %s", r.errCode(t))
		}

		cases := []struct {
			name  string
			edit  func(m map[string]any)
			field string
		}{
			{"missing name", func(m map[string]any) { delete(m, "name") }, "name"},
			{"blank name", func(m map[string]any) { m["name"] = "   " }, "name"},
			{"missing email", func(m map[string]any) { delete(m, "email") }, "email"},
			{"bad email", func(m map[string]any) { m["email"] = "not-an-email" }, "email"},
			{"email with name", func(m map[string]any) { m["email"] = "Maria <m@example.com>" }, "email"},
			{"missing password", func(m map[string]any) { delete(m, "password") }, "password"},
			{"short password", func(m map[string]any) { m["password"] = "Ab1" }, "password"},
			{"password without digit", func(m map[string]any) { m["password"] = "abcdefghij" }, "password"},
			{"missing role", func(m map[string]any) { delete(m, "role") }, "role"},
			{"bad role", func(m map[string]any) { m["role"] = "root" }, "role"},
			{"unknown department", func(m map[string]any) { m["departmentIds"] = []string{helpdesk.NewID()} }, "departmentIds"},
			{"malformed department", func(m map[string]any) { m["departmentIds"] = []string{"x"} }, "departmentIds"},
			{"zero capacity", func(m map[string]any) { m["maxConversations"] = 0 }, "maxConversations"},
			{"capacity as string", func(m map[string]any) { m["maxConversations"] = "8" }, "maxConversations"},
			{"unknown field", func(m map[string]any) { m["isAdmin"] = true }, "isAdmin"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				body := good()
				body["email"] = fmt.Sprintf("case%d@example.com", e.seq.Add(1))
				c.edit(body)
				r := e.call("POST", "/api/v1/users", admin.access, body)
				if r.status != 400 {
					t.Fatalf("status %d, want 400: %s", r.status, r.raw)
				}
				if r.errCode(t) != helpdesk.CodeValidation || r.errFields(t)[c.field] == nil {
					t.Errorf("want validation_failed on %s: %s", c.field, r.raw)
				}
			})
		}
		// Nothing was written by the refused requests.
		list := e.mustStatus(e.call("GET", "/api/v1/users?limit=100", admin.access, nil), 200).json(t)["data"].([]any)
		if len(list) != 2 {
			t.Errorf("users = %d, want 2 (admin, maria)", len(list))
		}
	})
}

func TestUsersPagination(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		for i := 0; i < 4; i++ {
			e.mustStatus(e.call("POST", "/api/v1/users", admin.access, map[string]any{
				"name": fmt.Sprintf("User %d", i), "email": fmt.Sprintf("u%d@example.com", i), "password": "Secret123", "role": "agent",
			}), 201)
		}
		seen := map[string]bool{}
		path, pages := "/api/v1/users?limit=2", 0
		for {
			m := e.mustStatus(e.call("GET", path, admin.access, nil), 200).json(t)
			pages++
			for _, u := range m["data"].([]any) {
				id := u.(map[string]any)["id"].(string)
				if seen[id] {
					t.Fatalf("user %s on two pages", id)
				}
				seen[id] = true
			}
			next, ok := m["nextCursor"].(string)
			if !ok {
				break
			}
			path = "/api/v1/users?limit=2&cursor=" + next
		}
		if len(seen) != 5 || pages != 3 {
			t.Errorf("saw %d users on %d pages, want 5 on 3", len(seen), pages)
		}
		// The largest page still says whether more follow.
		for i := 0; i < 100; i++ {
			mustCreateUser(t, e, fmt.Sprintf("bulk%03d@example.com", i))
		}
		full := e.mustStatus(e.call("GET", "/api/v1/users?limit=100", admin.access, nil), 200).json(t)
		if len(full["data"].([]any)) != 100 || full["nextCursor"] == nil {
			t.Errorf("limit=100 over 105 users: %d rows, nextCursor %v", len(full["data"].([]any)), full["nextCursor"])
		}
		q := e.mustStatus(e.call("GET", "/api/v1/users?q=USER%203", admin.access, nil), 200).json(t)["data"].([]any)
		if len(q) != 1 {
			t.Errorf("search found %d", len(q))
		}
		roles := e.mustStatus(e.call("GET", "/api/v1/users?role=admin", admin.access, nil), 200).json(t)["data"].([]any)
		if len(roles) != 1 {
			t.Errorf("role filter found %d", len(roles))
		}
	})
}

func TestLoginGuard(t *testing.T) {
	forEachEngine(t, map[string]string{"LOGIN_MAX_FAILURES": "3", "TRUST_PROXY": "true"}, func(t *testing.T, e *testEnv) {
		from := func(ip string) reqOpt { return withHeader("X-Real-IP", ip) }
		login := func(email, pw, ip string) resp {
			return e.call("POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": pw}, from(ip))
		}
		// Per e-mail: three failures from three addresses lock the account,
		// even for the right password from a fourth.
		for i := 1; i <= 3; i++ {
			e.mustStatus(login(helpdesk.BootstrapAdminEmail, "Wrong1234", fmt.Sprintf("10.0.0.%d", i)), 401)
		}
		r := e.mustStatus(login(helpdesk.BootstrapAdminEmail, adminPassword, "10.0.0.9"), 429)
		if r.errCode(t) != helpdesk.CodeRateLimited {
			t.Errorf("code %s", r.errCode(t))
		}
		if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 15*60 {
			t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
		}
		// Per address: three failures on different e-mails lock the address.
		for i := 1; i <= 3; i++ {
			e.mustStatus(login(fmt.Sprintf("spray%d@example.com", i), "Wrong1234", "10.0.1.1"), 401)
		}
		e.mustStatus(login("other@example.com", "Wrong1234", "10.0.1.1"), 429)
		// Another address and another e-mail are unaffected.
		e.mustStatus(login("other@example.com", "Wrong1234", "10.0.1.2"), 401)

		// A parallel burst gets no more password checks than the limit:
		// each attempt is counted before its password is hashed.
		var wrong, limited atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch login("burst@example.com", "Wrong1234", fmt.Sprintf("10.0.2.%d", i)).status {
				case 401:
					wrong.Add(1)
				case 429:
					limited.Add(1)
				}
			}()
		}
		wg.Wait()
		if wrong.Load() != 3 || limited.Load() != 17 {
			t.Errorf("burst: %d wrong-password answers and %d refusals, want 3 and 17", wrong.Load(), limited.Load())
		}

		// A stolen access token is no way round it: wrong current passwords
		// on change-password count as failed logins of that account.
		u := mustCreateUser(t, e, "victim@example.com")
		tok, err := e.srv.Auth.IssueAccessToken(u.ID)
		if err != nil {
			t.Fatal(err)
		}
		change := func() resp {
			return e.call("POST", "/api/v1/auth/change-password", tok,
				map[string]string{"currentPassword": "Guess-1234", "newPassword": "Mine-12345"}, from("10.0.3.1"))
		}
		for i := 0; i < 3; i++ {
			if r := e.mustStatus(change(), 400); r.errFields(t)["currentPassword"] == nil {
				t.Errorf("wrong current password: %s", r.raw)
			}
		}
		e.mustStatus(change(), 429)
	})
}

func TestRequestRateLimitPerUser(t *testing.T) {
	forEachEngine(t, map[string]string{"RATE_LIMIT_MAX_REQUESTS": "5"}, func(t *testing.T, e *testEnv) {
		// Tokens straight from the service: logging in over HTTP would spend
		// the per-IP budget this test measures.
		tokenFor := func(email string) string {
			u := mustCreateUser(t, e, email)
			tok, err := e.srv.Auth.IssueAccessToken(u.ID)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		a, b := tokenFor("a@example.com"), tokenFor("b@example.com")
		for i := 0; i < 5; i++ {
			e.mustStatus(e.call("GET", "/api/v1/auth/me", a, nil), 200)
		}
		r := e.mustStatus(e.call("GET", "/api/v1/auth/me", a, nil), http.StatusTooManyRequests)
		if r.header.Get("Retry-After") == "" || r.errCode(t) != helpdesk.CodeRateLimited {
			t.Errorf("429 without Retry-After or code: %v %s", r.header, r.raw)
		}
		// Same address, other user: a separate budget.
		e.mustStatus(e.call("GET", "/api/v1/auth/me", b, nil), 200)
		// Anonymous callers share their address's budget.
		// Requests with a bad token are anonymous too: guessing tokens
		// spends the address's budget.
		for i := 0; i < 3; i++ {
			e.mustStatus(e.call("GET", "/api/v1/auth/me", "not-a-token", nil), 401)
		}
		for i := 0; i < 2; i++ {
			e.mustStatus(e.call("GET", "/api/v1/openapi.json", "", nil), 200)
		}
		e.mustStatus(e.call("GET", "/api/v1/openapi.json", "", nil), 429)
		e.mustStatus(e.call("GET", "/api/v1/users", "not-a-token", nil), 429)
		e.mustStatus(e.call("GET", "/api/v1/users", "", nil), 429)
		// Health checks and scrapes have their own, larger budget: a load
		// balancer polling them is not locked out with the people.
		for i := 0; i < 20; i++ {
			e.mustStatus(e.call("GET", "/health", "", nil), 200)
		}
	})
}

// mustCreateUser stores an active agent with no password lock directly.
func mustCreateUser(t *testing.T, e *testEnv, email string) helpdesk.User {
	t.Helper()
	now := helpdesk.Now()
	u := helpdesk.User{ID: helpdesk.NewID(), Name: email, Email: email, PasswordHash: "x", Role: helpdesk.RoleAgent,
		Active: true, MaxConversations: 5, CreatedAt: now, UpdatedAt: now}
	if err := e.srv.DB.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestOnlineUsers(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		agent, _ := e.newUser(admin.access, helpdesk.RoleAgent)
		idle := mustCreateUser(t, e, "idle@example.com") // never opened the dashboard
		// Online is having the dashboard's socket open; calling the API is not.
		e.dialWS("token="+admin.access).next("hello", nil)
		e.dialWS("token="+agent.access).next("hello", nil)
		list := e.mustStatus(e.call("GET", "/api/v1/users/online", agent.access, nil), 200).json(t)["data"].([]any)
		ids := map[string]bool{}
		for _, u := range list {
			um := u.(map[string]any)
			ids[um["id"].(string)] = true
			if um["lastSeenAt"] == nil || um["passwordHash"] != nil {
				t.Errorf("online user = %v", um)
			}
		}
		if !ids[admin.userID] || !ids[agent.userID] || ids[idle.ID] || len(ids) != 2 {
			t.Errorf("online = %v, want the admin and the agent only", ids)
		}
		// A deactivated user is not online, whatever they did before.
		e.mustStatus(e.call("DELETE", "/api/v1/users/"+agent.userID, admin.access, nil), 204)
		list = e.mustStatus(e.call("GET", "/api/v1/users/online", admin.access, nil), 200).json(t)["data"].([]any)
		if len(list) != 1 {
			t.Errorf("online after deactivation = %v", list)
		}
	})
}
