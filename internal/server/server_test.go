package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/supportwhatsapp/supportwhatsapp/internal/config"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/server"
)

func testConfig(t *testing.T, dbURL string) config.Config {
	t.Helper()
	cfg, err := config.Load(map[string]string{"APP_ENV": "test", "BCRYPT_ROUNDS": "4", "DATABASE_URL": dbURL})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestServeAndShutdown starts the real process on a fresh SQLite file, logs
// in as the bootstrap admin, then cancels the context the way SIGTERM does
// and checks that Serve returns cleanly and the database is closed.
func TestServeAndShutdown(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "app.db")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := server.New(ctx, testConfig(t, "sqlite:"+dbPath), log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	base := "http://" + ln.Addr().String()
	res, err := http.Post(base+"/api/v1/auth/login", "application/json",
		strings.NewReader(`{"email":"admin@suporte.com","password":"Admin@123"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		AccessToken string `json:"accessToken"`
		User        struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := json.NewDecoder(res.Body).Decode(&login); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("login status %d", res.StatusCode)
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/auth/change-password",
		strings.NewReader(`{"currentPassword":"Admin@123","newPassword":"Changed@2024"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+login.AccessToken)
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(res.Body).Decode(&login); err != nil || res.StatusCode != 200 {
		t.Fatalf("change password: %d %v", res.StatusCode, err)
	}
	res.Body.Close()
	// An open dashboard socket is closed as "going away" (reconnect
	// elsewhere), not left hanging.
	ws, _, err := websocket.Dial(ctx, "ws://"+ln.Addr().String()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	wsEnded := make(chan error, 1)
	go func() {
		if err := ws.Write(context.Background(), websocket.MessageText, []byte(`{"event":"auth","data":{"token":"`+login.AccessToken+`"}}`)); err != nil {
			wsEnded <- err
			return
		}
		for {
			if _, _, err := ws.Read(context.Background()); err != nil {
				wsEnded <- err
				return
			}
		}
	}()

	// Wait for the hello, so the socket is the hub's before the shutdown.
	for srv.Hub.OnlineUsers()[login.User.ID].IsZero() {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-wsEnded:
		if websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("socket ended with %v, want going away", err)
		}
	case <-time.After(server.ShutdownTimeout + 5*time.Second):
		t.Fatal("socket still open after shutdown")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(server.ShutdownTimeout + 5*time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if err := srv.DB.Ping(context.Background()); err == nil {
		t.Error("database still open after shutdown")
	}
	if _, err := http.Get(base + "/health"); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}

// TestBootstrapOnce: a second start on the same database neither duplicates
// the admin nor the departments.
func TestBootstrapOnce(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "app.db")
	log := slog.New(slog.DiscardHandler)
	for i := 0; i < 2; i++ {
		srv, err := server.New(context.Background(), testConfig(t, dbURL), log)
		if err != nil {
			t.Fatal(err)
		}
		n, err := srv.DB.CountUsers(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ds, err := srv.DB.ListDepartments(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 || len(ds) != len(helpdesk.DefaultDepartments) {
			t.Errorf("start %d: %d users, %d departments; want 1 and %d", i+1, n, len(ds), len(helpdesk.DefaultDepartments))
		}
		u, err := srv.DB.GetUserByEmail(context.Background(), helpdesk.BootstrapAdminEmail)
		if err != nil || !u.MustChangePassword || u.Role != helpdesk.RoleAdmin {
			t.Errorf("bootstrap admin = %+v, %v", u, err)
		}
		if err := srv.DB.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRunReportsBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := testConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "app.db"))
	cfg.Port = ln.Addr().(*net.TCPAddr).Port
	srv, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Run(context.Background())
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Fatalf("Run on a busy port = %v, want a listen error", err)
	}
}

// TestShutdownFinishesInFlightRequests holds a request open (its handler is
// reading a body that is still arriving) while the stop signal comes, and
// checks it still gets its answer before Serve returns. The request carries
// "Expect: 100-continue", so the server's "100 Continue" proves the handler
// is running before the signal is sent.
func TestShutdownFinishesInFlightRequests(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := server.New(ctx, testConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "app.db")), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	body := `{"email":"admin@suporte.com","password":"Admin@123"}`
	fmt.Fprintf(conn, "POST /api/v1/auth/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", len(body))
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("want 100 Continue, got %q, %v", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // the blank line after it
		t.Fatal(err)
	}

	cancel() // the handler is now waiting for the body
	select {
	case err := <-done:
		t.Fatalf("Serve returned (%v) while a request was in flight", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := conn.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("in-flight request got %d, want 200", res.StatusCode)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve returned %v", err)
		}
	case <-time.After(server.ShutdownTimeout + 5*time.Second):
		t.Fatal("Serve did not return after the in-flight request finished")
	}
}

// TestRestartKeepsChannelEdits: a restart takes the environment's
// credentials but keeps what admins changed (name, pace, department,
// status), and a server talking to Meta switches the sandbox's number off,
// because the sandbox's webhook secret is public.
func TestRestartKeepsChannelEdits(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "app.db")
	ctx := context.Background()
	start := func(env map[string]string) *server.Server {
		t.Helper()
		return newServerOn(t, ctx, dbURL, env)
	}
	stop := func(srv *server.Server) {
		t.Helper()
		_ = srv.Close()
		if err := srv.DB.Close(); err != nil {
			t.Fatal(err)
		}
	}
	channel := func(srv *server.Server, phoneID string) helpdesk.Channel {
		t.Helper()
		ch, err := srv.DB.GetChannelByPhoneNumberID(ctx, phoneID)
		if err != nil {
			t.Fatalf("channel %s: %v", phoneID, err)
		}
		return ch
	}

	srv := start(nil)
	if sb := channel(srv, config.SandboxPhoneNumberID); sb.Status != helpdesk.ChannelActive || sb.AppSecret != config.SandboxAppSecret {
		t.Fatalf("sandbox channel at first start = %+v", sb)
	}
	stop(srv)

	const phoneID = "123456789012345"
	cloud := map[string]string{"WHATSAPP_ACCESS_TOKEN": "EAAG-first", "WHATSAPP_PHONE_NUMBER_ID": phoneID,
		"WHATSAPP_APP_SECRET": "real-app-secret", "WHATSAPP_BUSINESS_ACCOUNT_ID": "400000000000001"}
	srv = start(cloud)
	if sb := channel(srv, config.SandboxPhoneNumberID); sb.Status != helpdesk.ChannelDisabled || sb.StatusReason == "" {
		t.Errorf("sandbox channel on a server talking to Meta = %s (%q), want disabled", sb.Status, sb.StatusReason)
	}
	ch := channel(srv, phoneID)
	if ch.AccessToken != "EAAG-first" || ch.AppSecret != "real-app-secret" {
		t.Fatalf("channel from the environment = %+v", ch)
	}
	// An admin renames it, slows it down and gives it a department.
	ds, err := srv.DB.ListDepartments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ch.Name, ch.MessagesPerSecond, ch.DefaultDepartmentID = "Matriz", 20, ds[0].ID
	if _, err := srv.DB.UpsertChannel(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if err := srv.DB.SetChannelStatus(ctx, ch.ID, helpdesk.ChannelUnhealthy, "token expired", helpdesk.Now()); err != nil {
		t.Fatal(err)
	}
	stop(srv)

	cloud["WHATSAPP_ACCESS_TOKEN"] = "EAAG-rotated"
	srv = start(cloud)
	got := channel(srv, phoneID)
	if got.Name != "Matriz" || got.MessagesPerSecond != 20 || got.DefaultDepartmentID != ds[0].ID {
		t.Errorf("after restart the admin's edits are gone: %+v", got)
	}
	if got.AccessToken != "EAAG-rotated" || got.Status != helpdesk.ChannelActive {
		t.Errorf("after restart with a new token: token %q, status %s; want the new token and active", got.AccessToken, got.Status)
	}
	stop(srv)

	srv = start(nil)
	if sb := channel(srv, config.SandboxPhoneNumberID); sb.Status != helpdesk.ChannelActive {
		t.Errorf("sandbox channel back in sandbox mode = %s, want active", sb.Status)
	}
	stop(srv)
}

// TestEnvNumberReplaysItsInboxAtStart: webhooks that reached the configured
// number before it was a channel wait unrouted; the start that makes it a
// channel replays them.
func TestEnvNumberReplaysItsInboxAtStart(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "app.db")
	ctx := context.Background()
	const phoneID = "123456789012399"
	srv := newServerOn(t, ctx, dbURL, nil)
	body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{`+
		`"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":%q},`+
		`"contacts":[{"profile":{"name":"Rita"},"wa_id":"5511933330000"}],`+
		`"messages":[{"from":"5511933330000","id":"wamid.before","timestamp":"%d","type":"text","text":{"body":"oi"}}]}}]}]}`,
		phoneID, time.Now().Unix())
	err := srv.DB.InsertInboxEntries(ctx, []helpdesk.InboxEntry{{ID: helpdesk.NewID(), BodySHA256: strings.Repeat("0", 64),
		Body: []byte(body), Status: helpdesk.InboxUnrouted, ReceivedAt: helpdesk.Now(), Signer: helpdesk.SignerFingerprint("real-app-secret")}})
	if err != nil {
		t.Fatal(err)
	}
	_ = srv.Close()
	if err := srv.DB.Close(); err != nil {
		t.Fatal(err)
	}

	srv = newServerOn(t, ctx, dbURL, map[string]string{"WHATSAPP_ACCESS_TOKEN": "EAAG-first", "WHATSAPP_PHONE_NUMBER_ID": phoneID,
		"WHATSAPP_APP_SECRET": "real-app-secret"})
	defer func() {
		_ = srv.Close()
		_ = srv.DB.Close()
	}()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		known, err := srv.DB.StoredWAMIDs(ctx, []string{"wamid.before"})
		if err != nil {
			t.Fatal(err)
		}
		if known["wamid.before"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the configured number's unrouted webhook was not replayed at start")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEnvAppSecretCorrectedReplaysAtStart: a configured number started
// with a wrong WHATSAPP_APP_SECRET leaves the bodies its app signed
// unbound; the start with the corrected secret replays them.
func TestEnvAppSecretCorrectedReplaysAtStart(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "app.db")
	ctx := context.Background()
	const phoneID = "123456789012398"
	start := func(env map[string]string) *server.Server {
		srv := newServerOn(t, ctx, dbURL, env)
		if err := srv.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return srv
	}
	withSecret := func(secret string) map[string]string {
		return map[string]string{"WHATSAPP_ACCESS_TOKEN": "EAAG-first", "WHATSAPP_PHONE_NUMBER_ID": phoneID, "WHATSAPP_APP_SECRET": secret}
	}
	stop := func(srv *server.Server) {
		_ = srv.Close()
		_ = srv.DB.Close()
	}
	await := func(what string, done func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !done(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal(what)
			}
		}
	}

	srv := start(nil)
	body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{`+
		`"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":%q},`+
		`"contacts":[{"profile":{"name":"Rita"},"wa_id":"5511933330000"}],`+
		`"messages":[{"from":"5511933330000","id":"wamid.signed","timestamp":"%d","type":"text","text":{"body":"oi"}}]}}]}]}`,
		phoneID, time.Now().Unix())
	entry := helpdesk.InboxEntry{ID: helpdesk.NewID(), BodySHA256: strings.Repeat("0", 64), Body: []byte(body),
		Status: helpdesk.InboxUnrouted, ReceivedAt: helpdesk.Now(), Signer: helpdesk.SignerFingerprint("real-app-secret")}
	if err := srv.DB.InsertInboxEntries(ctx, []helpdesk.InboxEntry{entry}); err != nil {
		t.Fatal(err)
	}
	stop(srv)

	srv = start(withSecret("typo-app-secret"))
	await("the replay at the first start did not run", func() bool {
		e, err := srv.DB.GetInboxEntry(ctx, entry.ID)
		return err == nil && e.Note != ""
	})
	stored := func() bool {
		known, err := srv.DB.StoredWAMIDs(ctx, []string{"wamid.signed"})
		return err == nil && known["wamid.signed"]
	}
	if stored() {
		t.Fatal("a body signed by another secret than the channel's was applied")
	}
	stop(srv)

	srv = start(withSecret("real-app-secret"))
	defer stop(srv)
	await("the body signed by the corrected secret was not replayed at start", stored)
}

// newServerOn builds a server on dbURL with the tests' environment and env
// on top of it.
func newServerOn(t *testing.T, ctx context.Context, dbURL string, env map[string]string) *server.Server {
	t.Helper()
	vars := map[string]string{"APP_ENV": "test", "BCRYPT_ROUNDS": "4", "DATABASE_URL": dbURL}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load(vars)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return srv
}
