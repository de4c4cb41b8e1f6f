package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/config"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/server"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

// engines runs every API test on SQLite and on PostgreSQL (skipped with a
// reason when TEST_DATABASE_URL is unset, a failure under CI=true).
var engines = []struct {
	name string
	open func(testing.TB) *store.DB
}{
	{"sqlite", storetest.OpenSQLite},
	{"postgres", storetest.OpenPostgres},
}

func forEachEngine(t *testing.T, env map[string]string, test func(t *testing.T, e *testEnv)) {
	t.Helper()
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			test(t, newTestEnv(t, eng.open(t), env))
		})
	}
}

// testEnv is the real process (server.Assemble) behind an httptest server.
type testEnv struct {
	t     *testing.T
	srv   *server.Server
	http  *httptest.Server
	depts map[string]string // department name → id
	seq   atomic.Int64
}

const adminPassword = "Admin@123"

func newTestEnv(t *testing.T, db *store.DB, overrides map[string]string) *testEnv {
	t.Helper()
	vars := map[string]string{
		"APP_ENV":                 "test",
		"BCRYPT_ROUNDS":           "4",
		"RATE_LIMIT_MAX_REQUESTS": "100000",
		"LOGIN_MAX_FAILURES":      "1000",
	}
	for k, v := range overrides {
		vars[k] = v
	}
	cfg, err := config.Load(vars)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.Assemble(context.Background(), cfg, db, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	e := &testEnv{t: t, srv: srv, http: httptest.NewServer(srv.Handler()), depts: map[string]string{}}
	t.Cleanup(e.http.Close)
	ds, err := srv.Desk.ListDepartments(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		e.depts[d.Name] = d.ID
	}
	return e
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// resp is a decoded response.
type resp struct {
	status int
	header http.Header
	raw    []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.raw, &m); err != nil {
		t.Fatalf("response is not a JSON object (%d): %s", r.status, r.raw)
	}
	return m
}

func (r resp) errCode(t *testing.T) string {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	if e == nil {
		t.Fatalf("response has no error object (%d): %s", r.status, r.raw)
	}
	return e["code"].(string)
}

func (r resp) errFields(t *testing.T) map[string]any {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	return f
}

// request options
type reqOpt func(*http.Request)

func withHeader(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

// call sends body (marshalled to JSON unless it is a string or []byte) with
// an optional bearer token.
func (e *testEnv) call(method, path, token string, body any, opts ...reqOpt) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, o := range opts {
		o(req)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, raw: raw}
}

func (e *testEnv) mustStatus(r resp, want int) resp {
	e.t.Helper()
	if r.status != want {
		e.t.Fatalf("status %d, want %d: %s", r.status, want, r.raw)
	}
	return r
}

// session is what login returns.
type session struct {
	access, refresh, userID string
}

func (e *testEnv) login(email, password string) session {
	e.t.Helper()
	m := e.mustStatus(e.call("POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": password}), 200).json(e.t)
	return session{access: m["accessToken"].(string), refresh: m["refreshToken"].(string), userID: m["user"].(map[string]any)["id"].(string)}
}

// admin logs in as the bootstrap admin and clears the password-change lock.
func (e *testEnv) admin() session {
	e.t.Helper()
	s := e.login(helpdesk.BootstrapAdminEmail, adminPassword)
	m := e.mustStatus(e.call("POST", "/api/v1/auth/change-password", s.access,
		map[string]string{"currentPassword": adminPassword, "newPassword": "NewAdmin@2024"}), 200).json(e.t)
	return session{access: m["accessToken"].(string), refresh: m["refreshToken"].(string), userID: s.userID}
}

// newUser creates a user through the API (as admin) and logs it in with the
// password lock cleared. It returns the session and the e-mail.
func (e *testEnv) newUser(adminToken string, role helpdesk.Role, depts ...string) (session, string) {
	e.t.Helper()
	n := e.seq.Add(1)
	email := fmt.Sprintf("%s%d@example.com", role, n)
	ids := []string{}
	for _, d := range depts {
		ids = append(ids, e.depts[d])
	}
	e.mustStatus(e.call("POST", "/api/v1/users", adminToken, map[string]any{
		"name": fmt.Sprintf("%s %d", role, n), "email": email, "password": "Initial123", "role": role, "departmentIds": ids,
	}), 201)
	s := e.login(email, "Initial123")
	m := e.mustStatus(e.call("POST", "/api/v1/auth/change-password", s.access,
		map[string]string{"currentPassword": "Initial123", "newPassword": "Changed123"}), 200).json(e.t)
	return session{access: m["accessToken"].(string), refresh: m["refreshToken"].(string), userID: s.userID}, email
}

func storetestOpenSQLite(t *testing.T) *store.DB { return storetest.OpenSQLite(t) }
