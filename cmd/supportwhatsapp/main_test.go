package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/auth"
	"github.com/supportwhatsapp/supportwhatsapp/internal/config"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/server"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp/sandbox"
	"io"
	"net/http/httptest"
)

// isolate runs the test in an empty directory (so no .env is read) with the
// variables that decide the environment cleared. t.Setenv and t.Chdir rule
// out t.Parallel for every test here.
func isolate(t *testing.T) {
	t.Helper()
	t.Chdir(t.TempDir())
	for _, k := range []string{
		"APP_ENV", "NODE_ENV", "PORT", "DATABASE_URL", "LOG_LEVEL", "JWT_SECRET", "JWT_REFRESH_SECRET",
		"WEBHOOK_VERIFY_TOKEN", "BCRYPT_ROUNDS",
	} {
		t.Setenv(k, "") // empty means unset to the config loader
	}
	t.Setenv("BCRYPT_ROUNDS", "4") // bcrypt.MinCost: seeding hashes several passwords
}

func runCmd(t *testing.T, ctx context.Context, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(ctx, args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestRun_Version(t *testing.T) {
	for _, arg := range []string{"version", "-v", "--version"} {
		t.Run(arg, func(t *testing.T) {
			out, errOut, err := runCmd(t, t.Context(), arg)
			if err != nil {
				t.Fatalf("run %s: %v", arg, err)
			}
			if want := "supportwhatsapp " + server.Version + "\n"; out != want {
				t.Errorf("stdout = %q, want %q", out, want)
			}
			if errOut != "" {
				t.Errorf("stderr = %q, want nothing", errOut)
			}
		})
	}
}

func TestRun_Help(t *testing.T) {
	out, _, err := runCmd(t, t.Context(), "help")
	if err != nil {
		t.Fatalf("run help: %v", err)
	}
	for _, cmd := range []string{"serve", "migrate", "seed", "version"} {
		if !strings.Contains(out, cmd) {
			t.Errorf("usage does not list %q:\n%s", cmd, out)
		}
	}
}

func TestRun_UnknownCommand(t *testing.T) {
	out, errOut, err := runCmd(t, t.Context(), "frobnicate")
	if err == nil {
		t.Fatal("run frobnicate succeeded, want an error")
	}
	if !strings.Contains(err.Error(), `"frobnicate"`) {
		t.Errorf("error = %v, want it to name the command", err)
	}
	if !strings.HasPrefix(errOut, "usage: supportwhatsapp") {
		t.Errorf("stderr = %q, want the usage", errOut)
	}
	if out != "" {
		t.Errorf("stdout = %q, want nothing", out)
	}
}

func TestRun_Migrate(t *testing.T) {
	isolate(t)
	path := filepath.Join(t.TempDir(), "nested", "x.db")
	t.Setenv("DATABASE_URL", "sqlite:"+path)

	for i := range 2 { // the second run finds nothing to do
		_, errOut, err := runCmd(t, t.Context(), "migrate")
		if err != nil {
			t.Fatalf("run migrate #%d: %v\nstderr:\n%s", i+1, err, errOut)
		}
		if !strings.Contains(errOut, "migrations applied") {
			t.Errorf("run migrate #%d: log does not say the migrations were applied:\n%s", i+1, errOut)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("database file: %v (size %d), want a non-empty file", err, sizeOf(fi))
	}

	// The schema is there: the store can count users on it.
	db, err := store.Open(t.Context(), "sqlite:"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := db.CountUsers(t.Context()); err != nil || n != 0 {
		t.Errorf("CountUsers = %d, %v; want 0 on a migrated, unseeded database", n, err)
	}
}

func TestRun_MigrateBadDatabaseURL(t *testing.T) {
	isolate(t)
	t.Setenv("DATABASE_URL", "mysql://root@localhost/helpdesk")

	_, _, err := runCmd(t, t.Context(), "migrate")
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("run migrate = %v, want an error naming DATABASE_URL", err)
	}
}

func TestRun_ServeRefusesProductionWithoutSecrets(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"serve", []string{"serve"}},
		{"no command means serve", nil},
		{"migrate also validates", []string{"migrate"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			dbPath := filepath.Join(t.TempDir(), "x.db")
			t.Setenv("DATABASE_URL", "sqlite:"+dbPath)
			t.Setenv("APP_ENV", "production")
			t.Setenv("BCRYPT_ROUNDS", "12")

			_, _, err := runCmd(t, t.Context(), tc.args...)
			if err == nil {
				t.Fatal("run succeeded in production without secrets")
			}
			for _, want := range []string{"JWT_SECRET", "JWT_REFRESH_SECRET", "WEBHOOK_VERIFY_TOKEN"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not mention %s:\n%v", want, err)
				}
			}
			if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
				t.Errorf("the database was opened before the configuration was validated (stat: %v)", err)
			}
		})
	}
}

func TestRun_ReadsDotEnv(t *testing.T) {
	isolate(t)
	// isolate cleared DATABASE_URL; an empty variable still wins over
	// .env, so unset it for real for this test.
	unsetenv(t, "DATABASE_URL")
	dir := t.TempDir()
	path := filepath.Join(dir, "from-dotenv.db")
	if err := os.WriteFile(".env", []byte("DATABASE_URL=sqlite:"+path+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	if _, errOut, err := runCmd(t, t.Context(), "migrate"); err != nil {
		t.Fatalf("run migrate: %v\n%s", err, errOut)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database named in .env was not created: %v", err)
	}
}

var createdRE = regexp.MustCompile(`demo accounts created: (\d+)`)

func TestRun_Seed(t *testing.T) {
	isolate(t)
	path := filepath.Join(t.TempDir(), "x.db")
	t.Setenv("DATABASE_URL", "sqlite:"+path)

	seed := func() (int, string) {
		t.Helper()
		out, errOut, err := runCmd(t, t.Context(), "seed")
		if err != nil {
			t.Fatalf("run seed: %v\nstderr:\n%s", err, errOut)
		}
		m := createdRE.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("stdout does not say how many accounts were created:\n%s", out)
		}
		n, _ := strconv.Atoi(m[1])
		return n, out
	}

	n, out := seed()
	if n != len(helpdesk.DemoUsers) {
		t.Errorf("first seed created %d accounts, want %d:\n%s", n, len(helpdesk.DemoUsers), out)
	}
	for _, du := range helpdesk.DemoUsers {
		if !strings.Contains(out, du.Email) {
			t.Errorf("stdout does not list %s:\n%s", du.Email, out)
		}
	}
	if n, out := seed(); n != 0 {
		t.Errorf("second seed created %d accounts, want 0:\n%s", n, out)
	}

	// The accounts exist, next to the bootstrap admin, with the demo password.
	db, err := store.Open(t.Context(), "sqlite:"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := db.CountUsers(t.Context()); err != nil || n != len(helpdesk.DemoUsers)+1 {
		t.Errorf("CountUsers = %d, %v; want %d demo accounts plus the admin", n, err, len(helpdesk.DemoUsers))
	}
	for _, du := range helpdesk.DemoUsers {
		u, err := db.GetUserByEmail(t.Context(), du.Email)
		if err != nil {
			t.Errorf("demo user %s: %v", du.Email, err)
			continue
		}
		if u.Role != du.Role || !u.Active || !auth.CheckPassword(u.PasswordHash, helpdesk.DemoPassword) {
			t.Errorf("demo user %s: role %s, active %v, demo password works %v", du.Email, u.Role, u.Active,
				auth.CheckPassword(u.PasswordHash, helpdesk.DemoPassword))
		}
		if du.Department != "" && len(u.DepartmentIDs) != 1 {
			t.Errorf("demo agent %s is in %d departments, want 1 (%s)", du.Email, len(u.DepartmentIDs), du.Department)
		}
	}
	if _, err := db.GetUserByEmail(t.Context(), helpdesk.BootstrapAdminEmail); err != nil {
		t.Errorf("bootstrap admin: %v", err)
	}
}

// serve answers /health and stops cleanly when its context is cancelled.
func TestRun_ServeStopsOnCancel(t *testing.T) {
	isolate(t)
	t.Setenv("DATABASE_URL", "sqlite:"+filepath.Join(t.TempDir(), "x.db"))
	port := freePort(t)
	t.Setenv("PORT", strconv.Itoa(port))
	t.Setenv("LOG_LEVEL", "warn")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	var errOut bytes.Buffer // written by run's goroutine; read only after done
	go func() { done <- run(ctx, []string{"serve"}, &bytes.Buffer{}, &errOut) }()

	hc := &http.Client{Timeout: 5 * time.Second}
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/health"
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("serve returned before it was stopped: %v\n%s", err, errOut.String())
		default:
		}
		resp, err := hc.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /health = %d, want 200", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer on port %d: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond) // polling a port: there is no signal to wait on
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after cancel = %v, want nil\n%s", err, errOut.String())
		}
	case <-time.After(server.ShutdownTimeout + 5*time.Second):
		t.Fatal("serve did not stop after its context was cancelled")
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// unsetenv removes k for the rest of the test; t.Setenv first so the
// original value comes back in cleanup.
func unsetenv(t *testing.T, k string) {
	t.Helper()
	t.Setenv(k, "")
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}

func sizeOf(fi os.FileInfo) int64 {
	if fi == nil {
		return 0
	}
	return fi.Size()
}

// The demo accounts share a published password, so production refuses them.
func TestRun_SeedRefusedInProduction(t *testing.T) {
	isolate(t)
	dbPath := filepath.Join(t.TempDir(), "x.db")
	t.Setenv("DATABASE_URL", "sqlite:"+dbPath)
	t.Setenv("APP_ENV", "production")
	t.Setenv("JWT_SECRET", strings.Repeat("a1", 32))
	t.Setenv("JWT_REFRESH_SECRET", strings.Repeat("b2", 32))
	t.Setenv("WEBHOOK_VERIFY_TOKEN", "verify-token-for-test")
	t.Setenv("BCRYPT_ROUNDS", "10")

	_, _, err := runCmd(t, t.Context(), "seed")
	if err == nil || !strings.Contains(err.Error(), "production") {
		t.Fatalf("seed in production = %v, want a refusal", err)
	}
	if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
		t.Errorf("seed touched the database in production (stat: %v)", err)
	}
}

// The standalone sandbox's control API makes a customer write: the
// helpdesk's webhook receives it, signed.
func TestSandboxControlAPI(t *testing.T) {
	got := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if sandbox.Sign(config.SandboxAppSecret, b) != r.Header.Get("X-Hub-Signature-256") {
			w.WriteHeader(401)
			return
		}
		got <- string(b)
	}))
	defer hook.Close()
	next := func() string {
		t.Helper()
		select {
		case b := <-got:
			return b
		case <-time.After(10 * time.Second):
			t.Fatal("no webhook arrived")
			return ""
		}
	}
	sb := sandbox.New(sandbox.Options{AppSecret: config.SandboxAppSecret, AccessToken: "tok", WebhookURL: hook.URL})
	defer sb.Close()
	srv := httptest.NewServer(sandboxHandler(sb))
	defer srv.Close()
	res, err := http.Post(srv.URL+"/customers/5511987654321/messages", "application/json", strings.NewReader(`{"name":"Maria","text":"Olá"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if body := next(); !strings.Contains(body, `"body":"Olá"`) || !strings.Contains(body, `"wa_id":"5511987654321"`) {
		t.Errorf("webhook body = %s", body)
	}
	bad, _ := http.Post(srv.URL+"/customers/5511987654321/messages", "application/json", strings.NewReader(`{}`))
	bad.Body.Close()
	if bad.StatusCode != 400 || !strings.HasPrefix(bad.Header.Get("Content-Type"), "application/json") {
		t.Errorf("empty message: status %d %s", bad.StatusCode, bad.Header.Get("Content-Type"))
	}

	// The rest of the control API is mounted beside the Graph API, which
	// still answers its own paths.
	res, err = http.Post(srv.URL+"/customers/5511987654321/messages?name=Maria", "application/json",
		strings.NewReader(`{"type":"location","location":{"latitude":-23.5,"longitude":-46.6}}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if body := next(); res.StatusCode != 200 || !strings.Contains(body, `"type":"location"`) || !strings.Contains(body, `"name":"Maria"`) {
		t.Errorf("message object: status %d, webhook %s", res.StatusCode, body)
	}
	res, err = http.Post(srv.URL+"/control/faults/duplicate", "application/json", strings.NewReader(`{"count":1}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("duplicate switch: status %d", res.StatusCode)
	}
	res, err = http.Post(srv.URL+"/customers/5511987654321/messages", "application/json", strings.NewReader(`{"text":"de novo"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if first, second := next(), next(); first != second || !strings.Contains(first, `"body":"de novo"`) {
		t.Errorf("duplicated webhook: %s / %s", first, second)
	}
	for path, want := range map[string]int{"/control/sent": 200, "/control/nope": 404, "/customers/5511987654321/nope": 404} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("GET %s: %d %s, want %d JSON", path, res.StatusCode, res.Header.Get("Content-Type"), want)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v26.0/"+sb.PhoneNumberID(), nil)
	req.Header.Set("Authorization", "Bearer tok")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("Graph API behind the control API: status %d", res.StatusCode)
	}
}

// The start-up banner lists every control route.
func TestRun_SandboxBannerListsControlRoutes(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // the server shuts down as soon as it starts
	out, _, err := runCmd(t, ctx, "sandbox", "-addr", "127.0.0.1:0", "-webhook", "http://127.0.0.1:1/hook")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/customers/{waId}/messages", "/customers/{waId}/sent", "/control/sent", "/control/faults/fail",
		"/control/faults/duplicate", "/control/faults/hold", "/control/faults/release", "/control/faults/latency",
		"/control/faults/status-plan", "/control/media"} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %s:\n%s", want, out)
		}
	}
}

// inbox replay re-applies the unrouted webhooks of a number that has a
// channel now, once.
func TestRun_InboxReplay(t *testing.T) {
	isolate(t)
	path := filepath.Join(t.TempDir(), "x.db")
	t.Setenv("DATABASE_URL", "sqlite:"+path)
	db, err := store.Open(t.Context(), "sqlite:"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	body := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{` +
		`"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"` + config.SandboxPhoneNumberID + `"},` +
		`"messages":[{"from":"5511933330000","id":"wamid.cli","timestamp":"` + strconv.FormatInt(time.Now().Unix(), 10) + `","type":"text","text":{"body":"oi"}}]}}]}]}`
	err = db.InsertInboxEntries(t.Context(), []helpdesk.InboxEntry{{ID: helpdesk.NewID(), BodySHA256: strings.Repeat("0", 64),
		Body: []byte(body), Status: helpdesk.InboxUnrouted, ReceivedAt: helpdesk.Now()}})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"replayed 1 entries: 1 processed, 0 partial, 0 still unrouted, 0 skipped; 1 new messages", "replayed 0 entries"} {
		out, errOut, err := runCmd(t, t.Context(), "inbox", "replay", "-phone-number-id", config.SandboxPhoneNumberID)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("run %d: %q %v, want %q\nstderr:\n%s", i, out, err, want, errOut)
		}
	}
	if _, _, err := runCmd(t, t.Context(), "inbox", "replay", "-status", "done"); err == nil || !strings.Contains(err.Error(), "status") {
		t.Errorf("bad status: %v", err)
	}
	if _, _, err := runCmd(t, t.Context(), "inbox"); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("no subcommand: %v", err)
	}
}
