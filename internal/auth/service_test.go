package auth_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/supportwhatsapp/supportwhatsapp/internal/auth"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

const (
	accessTTL  = 15 * time.Minute
	refreshTTL = 7 * 24 * time.Hour
	password   = "senha123"
)

var client = auth.ClientInfo{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (test)"}

// clock is a settable clock shared by the service and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	svc   *auth.Service
	db    *store.DB
	clock *clock
}

// setup returns an auth.Service over a fresh SQLite store, on a clock
// standing at t0.
func setup(t *testing.T) fixture {
	t.Helper()
	db := storetest.OpenSQLite(t)
	clk := &clock{t: t0}
	svc := auth.NewService(db, auth.Config{
		AccessSecret:  testAccessSecret,
		RefreshSecret: testRefreshSecret,
		AccessTTL:     accessTTL,
		RefreshTTL:    refreshTTL,
		BcryptCost:    bcrypt.MinCost,
		Now:           clk.Now,
		Log:           slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	return fixture{svc: svc, db: db, clock: clk}
}

type userOption func(*helpdesk.User)

func inactive(u *helpdesk.User)           { u.Active = false }
func mustChangePassword(u *helpdesk.User) { u.MustChangePassword = true }

// mustCreateUser inserts an agent with the given e-mail and password
// directly through the store.
func mustCreateUser(t *testing.T, db *store.DB, email, pw string, opts ...userOption) helpdesk.User {
	t.Helper()
	hash, err := auth.HashPassword(pw, bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(-24 * time.Hour)
	u := helpdesk.User{
		ID: helpdesk.NewID(), Name: "Ana Atendente", Email: email, PasswordHash: hash,
		Role: helpdesk.RoleAgent, Active: true, MaxConversations: helpdesk.DefaultMaxConversations,
		CreatedAt: now, UpdatedAt: now,
	}
	for _, o := range opts {
		o(&u)
	}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

func mustLogin(t *testing.T, f fixture, email, pw string) auth.Session {
	t.Helper()
	sess, err := f.svc.Login(context.Background(), email, pw, client)
	if err != nil {
		t.Fatalf("Login(%s): %v", email, err)
	}
	return sess
}

func mustRefresh(t *testing.T, f fixture, token string) auth.Session {
	t.Helper()
	sess, err := f.svc.Refresh(context.Background(), token, client)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	return sess
}

// wantCode fails unless err is a helpdesk error with the given code.
func wantCode(t *testing.T, err error, code string) *helpdesk.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want code %s", code)
	}
	var he *helpdesk.Error
	if !errors.As(err, &he) || he.Code != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
	return he
}

func refreshFails(t *testing.T, f fixture, token, why string) {
	t.Helper()
	_, err := f.svc.Refresh(context.Background(), token, client)
	if err == nil {
		t.Fatalf("Refresh succeeded %s, want invalid_token", why)
	}
	if helpdesk.ErrorCode(err) != helpdesk.CodeInvalidToken {
		t.Fatalf("Refresh %s: %v, want code invalid_token", why, err)
	}
}

func auditLogs(t *testing.T, db *store.DB, action string) []helpdesk.AuditLog {
	t.Helper()
	logs, err := db.ListAuditLogs(context.Background(), helpdesk.AuditFilter{Action: action, Limit: 100})
	if err != nil {
		t.Fatalf("list audit logs %s: %v", action, err)
	}
	return logs
}

func storedToken(t *testing.T, db *store.DB, token string) helpdesk.RefreshToken {
	t.Helper()
	row, err := db.GetRefreshTokenByHash(context.Background(), auth.HashRefreshToken(testRefreshSecret, token))
	if err != nil {
		t.Fatalf("refresh token row: %v", err)
	}
	return row
}

func TestService_Login(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	u := mustCreateUser(t, f.db, "ana@suporte.com", password)

	sess := mustLogin(t, f, "ana@suporte.com", password)

	if sess.AccessToken == "" || sess.RefreshToken == "" {
		t.Fatalf("session = %+v, want both tokens", sess)
	}
	if sess.ExpiresIn != accessTTL {
		t.Errorf("ExpiresIn = %v, want %v", sess.ExpiresIn, accessTTL)
	}
	if sess.User.ID != u.ID || sess.User.Email != u.Email {
		t.Errorf("session user = %s %s, want %s %s", sess.User.ID, sess.User.Email, u.ID, u.Email)
	}
	if sess.User.LastLoginAt == nil || !sess.User.LastLoginAt.Equal(t0) {
		t.Errorf("session user LastLoginAt = %v, want %v", sess.User.LastLoginAt, t0)
	}
	stored, err := f.db.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.LastLoginAt == nil || !stored.LastLoginAt.Equal(t0) {
		t.Errorf("stored LastLoginAt = %v, want %v", stored.LastLoginAt, t0)
	}

	// The access token identifies the user.
	got, err := f.svc.Authenticate(ctx, sess.AccessToken)
	if err != nil || got.ID != u.ID {
		t.Errorf("Authenticate(access token) = %s, %v; want %s", got.ID, err, u.ID)
	}

	// Only an HMAC of the refresh token is stored, with the client's details.
	row := storedToken(t, f.db, sess.RefreshToken)
	if row.TokenHash == sess.RefreshToken {
		t.Error("the refresh token is stored in clear")
	}
	if row.UserID != u.ID || row.RevokedAt != nil || !row.ExpiresAt.Equal(t0.Add(refreshTTL)) {
		t.Errorf("refresh row = user %s revoked %v expires %v; want %s, nil, %v", row.UserID, row.RevokedAt, row.ExpiresAt, u.ID, t0.Add(refreshTTL))
	}
	if row.IP != client.IP || row.UserAgent != client.UserAgent {
		t.Errorf("refresh row client = %q %q, want %q %q", row.IP, row.UserAgent, client.IP, client.UserAgent)
	}

	logs := auditLogs(t, f.db, helpdesk.AuditLogin)
	if len(logs) != 1 {
		t.Fatalf("%d auth.login rows, want 1", len(logs))
	}
	if a := logs[0]; a.ActorID != u.ID || a.EntityID != u.ID || a.IP != client.IP || !a.CreatedAt.Equal(t0) {
		t.Errorf("auth.login row = %+v, want actor and entity %s, ip %s, at %v", a, u.ID, client.IP, t0)
	}
	if n := len(auditLogs(t, f.db, helpdesk.AuditLoginFailed)); n != 0 {
		t.Errorf("%d auth.login_failed rows after a good login, want 0", n)
	}
}

func TestService_Login_EmailCaseInsensitive(t *testing.T) {
	t.Parallel()
	f := setup(t)
	u := mustCreateUser(t, f.db, "ana@suporte.com", password)

	for _, email := range []string{"ANA@SUPORTE.COM", "Ana@Suporte.com", "  ana@suporte.com\t"} {
		sess, err := f.svc.Login(context.Background(), email, password, client)
		if err != nil {
			t.Errorf("Login(%q): %v", email, err)
			continue
		}
		if sess.User.ID != u.ID {
			t.Errorf("Login(%q) user = %s, want %s", email, sess.User.ID, u.ID)
		}
	}
}

func TestService_Login_InvalidCredentials(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		email      string
		password   string
		wantReason string
		wantActor  bool // the failed row names the user it was about
	}{
		{"wrong password", "ana@suporte.com", "senha124", "wrong_password", true},
		{"empty password", "ana@suporte.com", "", "wrong_password", true},
		{"unknown email", "nobody@suporte.com", password, "unknown_email", false},
		{"deactivated user, right password", "off@suporte.com", password, "deactivated", true},
		{"deactivated user, wrong password", "off@suporte.com", "senha124", "wrong_password", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			ana := mustCreateUser(t, f.db, "ana@suporte.com", password)
			off := mustCreateUser(t, f.db, "off@suporte.com", password, inactive)
			ids := map[string]string{ana.Email: ana.ID, off.Email: off.ID}

			sess, err := f.svc.Login(context.Background(), tc.email, tc.password, client)
			he := wantCode(t, err, helpdesk.CodeInvalidCredentials)
			// Every case answers the same words: nothing tells which accounts exist.
			if he.Message != "e-mail or password is incorrect" {
				t.Errorf("message = %q, want the shared one", he.Message)
			}
			if sess.AccessToken != "" || sess.RefreshToken != "" {
				t.Errorf("failed login returned tokens: %+v", sess)
			}

			logs := auditLogs(t, f.db, helpdesk.AuditLoginFailed)
			if len(logs) != 1 {
				t.Fatalf("%d auth.login_failed rows, want 1", len(logs))
			}
			a := logs[0]
			if a.Details["reason"] != tc.wantReason || a.Details["email"] != tc.email {
				t.Errorf("details = %v, want reason %s and email %s", a.Details, tc.wantReason, tc.email)
			}
			if want := ids[tc.email]; a.EntityID != want {
				t.Errorf("entity = %q, want %q", a.EntityID, want)
			}
			if a.ActorID != "" || a.IP != client.IP {
				t.Errorf("actor, ip = %q, %q; want anonymous from %s", a.ActorID, a.IP, client.IP)
			}
			if n := len(auditLogs(t, f.db, helpdesk.AuditLogin)); n != 0 {
				t.Errorf("%d auth.login rows, want 0", n)
			}
			for _, id := range []string{ana.ID, off.ID} {
				u, err := f.db.GetUser(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				if u.LastLoginAt != nil {
					t.Errorf("%s LastLoginAt = %v after a failed login, want nil", u.Email, u.LastLoginAt)
				}
			}
		})
	}
}

func TestService_Refresh_RotationAndReuse(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	u := mustCreateUser(t, f.db, "ana@suporte.com", password)

	first := mustLogin(t, f, "ana@suporte.com", password)
	other := mustLogin(t, f, "ana@suporte.com", password) // another device, another family
	f.clock.Advance(time.Minute)

	second := mustRefresh(t, f, first.RefreshToken)
	if second.RefreshToken == first.RefreshToken || second.AccessToken == "" {
		t.Fatalf("Refresh did not issue new tokens")
	}
	if second.User.ID != u.ID || second.ExpiresIn != accessTTL {
		t.Errorf("refreshed session = user %s, ExpiresIn %v", second.User.ID, second.ExpiresIn)
	}
	if got, err := f.svc.Authenticate(ctx, second.AccessToken); err != nil || got.ID != u.ID {
		t.Errorf("Authenticate(refreshed access token) = %s, %v", got.ID, err)
	}
	old := storedToken(t, f.db, first.RefreshToken)
	next := storedToken(t, f.db, second.RefreshToken)
	if old.RevokedAt == nil || old.ReplacedBy != next.ID {
		t.Errorf("rotated row: revoked %v, replaced by %q; want revoked and replaced by %s", old.RevokedAt, old.ReplacedBy, next.ID)
	}
	if next.FamilyID != old.FamilyID {
		t.Errorf("rotation left the family: %s → %s", old.FamilyID, next.FamilyID)
	}
	if n := len(auditLogs(t, f.db, helpdesk.AuditTokenReuse)); n != 0 {
		t.Fatalf("%d reuse rows after a normal rotation, want 0", n)
	}

	// The rotated token is dead, and presenting it is treated as theft.
	refreshFails(t, f, first.RefreshToken, "with a rotated token")
	logs := auditLogs(t, f.db, helpdesk.AuditTokenReuse)
	if len(logs) != 1 {
		t.Fatalf("%d auth.refresh_token_reuse rows, want 1", len(logs))
	}
	if a := logs[0]; a.ActorID != u.ID || a.Details["familyId"] != old.FamilyID || a.IP != client.IP {
		t.Errorf("reuse row = actor %s, details %v, ip %s; want actor %s, family %s, ip %s",
			a.ActorID, a.Details, a.IP, u.ID, old.FamilyID, client.IP)
	}
	if row := storedToken(t, f.db, second.RefreshToken); row.RevokedAt == nil {
		t.Error("the newest token of the family is still live after the reuse")
	}
	refreshFails(t, f, second.RefreshToken, "with the newest token of a family whose old token was reused")

	// The other device's family is untouched.
	if _, err := f.svc.Refresh(ctx, other.RefreshToken, client); err != nil {
		t.Errorf("Refresh on another device after reuse: %v", err)
	}
}

func TestService_Refresh_Invalid(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		prepare func(t *testing.T, f fixture, u helpdesk.User, sess auth.Session) string // returns the token to present
	}{
		{"garbage", func(*testing.T, fixture, helpdesk.User, auth.Session) string { return "not-a-refresh-token" }},
		{"empty", func(*testing.T, fixture, helpdesk.User, auth.Session) string { return "" }},
		{"access token instead", func(_ *testing.T, _ fixture, _ helpdesk.User, s auth.Session) string { return s.AccessToken }},
		{"at expiry", func(_ *testing.T, f fixture, _ helpdesk.User, s auth.Session) string {
			f.clock.Advance(refreshTTL)
			return s.RefreshToken
		}},
		{"long expired", func(_ *testing.T, f fixture, _ helpdesk.User, s auth.Session) string {
			f.clock.Advance(refreshTTL + 30*24*time.Hour)
			return s.RefreshToken
		}},
		{"deactivated user", func(t *testing.T, f fixture, u helpdesk.User, s auth.Session) string {
			off := false
			if _, err := f.db.UpdateUser(context.Background(), u.ID, helpdesk.UserUpdate{Active: &off}, t0); err != nil {
				t.Fatal(err)
			}
			return s.RefreshToken
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			u := mustCreateUser(t, f.db, "ana@suporte.com", password)
			sess := mustLogin(t, f, "ana@suporte.com", password)

			token := tc.prepare(t, f, u, sess)
			refreshFails(t, f, token, "")
		})
	}
}

func TestService_Refresh_JustBeforeExpiry(t *testing.T) {
	t.Parallel()
	f := setup(t)
	mustCreateUser(t, f.db, "ana@suporte.com", password)
	sess := mustLogin(t, f, "ana@suporte.com", password)

	f.clock.Advance(refreshTTL - time.Millisecond)
	next := mustRefresh(t, f, sess.RefreshToken)
	// Each rotation gives the new token a full lifetime from now.
	if row := storedToken(t, f.db, next.RefreshToken); !row.ExpiresAt.Equal(f.clock.Now().Add(refreshTTL)) {
		t.Errorf("new token expires %v, want %v", row.ExpiresAt, f.clock.Now().Add(refreshTTL))
	}
}

func TestService_Refresh_DeactivatedUserStaysOut(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	u := mustCreateUser(t, f.db, "ana@suporte.com", password)
	sess := mustLogin(t, f, "ana@suporte.com", password)

	off, on := false, true
	if _, err := f.db.UpdateUser(ctx, u.ID, helpdesk.UserUpdate{Active: &off}, t0); err != nil {
		t.Fatal(err)
	}
	refreshFails(t, f, sess.RefreshToken, "for a deactivated user")

	// Reactivation does not bring the old session back: its family died.
	if _, err := f.db.UpdateUser(ctx, u.ID, helpdesk.UserUpdate{Active: &on}, t0); err != nil {
		t.Fatal(err)
	}
	refreshFails(t, f, sess.RefreshToken, "after reactivation with a token of the deactivated period")
}

func TestService_Refresh_ConcurrentSameToken(t *testing.T) {
	t.Parallel()
	f := setup(t)
	mustCreateUser(t, f.db, "ana@suporte.com", password)
	sess := mustLogin(t, f, "ana@suporte.com", password)

	const n = 10
	var (
		wg        sync.WaitGroup
		start     = make(chan struct{})
		successes atomic.Int32
		winner    atomic.Value // string: the refresh token the winner got
		errs      = make(chan error, n)
	)
	for range n {
		wg.Go(func() {
			<-start
			s, err := f.svc.Refresh(context.Background(), sess.RefreshToken, client)
			if err != nil {
				errs <- err
				return
			}
			successes.Add(1)
			winner.Store(s.RefreshToken)
		})
	}
	close(start)
	wg.Wait()
	close(errs)

	if got := successes.Load(); got != 1 {
		t.Fatalf("%d of %d concurrent refreshes succeeded, want exactly 1", got, n)
	}
	for err := range errs {
		if helpdesk.ErrorCode(err) != helpdesk.CodeInvalidToken {
			t.Errorf("losing refresh: %v, want code invalid_token (not a database error)", err)
		}
	}
	// Presenting one token twice is what theft looks like, so the losers
	// revoked the family, the winner's new token included.
	if len(auditLogs(t, f.db, helpdesk.AuditTokenReuse)) == 0 {
		t.Error("no auth.refresh_token_reuse row after concurrent reuse")
	}
	refreshFails(t, f, winner.Load().(string), "with the winner's token after the family was revoked")
}

func TestService_Logout(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	u := mustCreateUser(t, f.db, "ana@suporte.com", password)
	sess := mustLogin(t, f, "ana@suporte.com", password)
	other := mustLogin(t, f, "ana@suporte.com", password)

	if err := f.svc.Logout(ctx, sess.RefreshToken, client); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	refreshFails(t, f, sess.RefreshToken, "after logout")

	// Idempotent, and silent about tokens it does not know.
	for _, tok := range []string{sess.RefreshToken, "unknown-token", ""} {
		if err := f.svc.Logout(ctx, tok, client); err != nil {
			t.Errorf("Logout(%q) = %v, want nil", tok, err)
		}
	}
	logs := auditLogs(t, f.db, helpdesk.AuditLogout)
	if len(logs) != 1 || logs[0].ActorID != u.ID {
		t.Errorf("auth.logout rows = %+v, want one by %s", logs, u.ID)
	}
	// Logging out one device leaves the others signed in.
	if _, err := f.svc.Refresh(ctx, other.RefreshToken, client); err != nil {
		t.Errorf("Refresh on the other device: %v", err)
	}
}

func TestService_ChangePassword_Refused(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		current   string
		next      string
		wantField string
		wantMsg   string
	}{
		{"wrong current", "senha999", "novaSenha1", "currentPassword", "incorrect"},
		{"empty current", "", "novaSenha1", "currentPassword", "required"},
		{"new too short", password, "abc1", "newPassword", "at least 8"},
		{"new without digit", password, "senhanova", "newPassword", "digit"},
		{"new too long", password, "a1" + strings.Repeat("x", 71), "newPassword", "72 bytes"},
		{"new same as current", password, password, "newPassword", "differ"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			ctx := context.Background()
			u := mustCreateUser(t, f.db, "ana@suporte.com", password, mustChangePassword)
			sess := mustLogin(t, f, "ana@suporte.com", password)

			_, err := f.svc.ChangePassword(ctx, u.ID, tc.current, tc.next, client)
			he := wantCode(t, err, helpdesk.CodeValidation)
			if msg, ok := he.Fields[tc.wantField]; !ok || !strings.Contains(msg, tc.wantMsg) {
				t.Errorf("fields = %v, want %s mentioning %q", he.Fields, tc.wantField, tc.wantMsg)
			}

			// Nothing changed: the old password, the lock and the session stay.
			stored, err := f.db.GetUser(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !stored.MustChangePassword || !auth.CheckPassword(stored.PasswordHash, password) {
				t.Errorf("a refused change altered the user: must change %v", stored.MustChangePassword)
			}
			mustRefresh(t, f, sess.RefreshToken)
			if n := len(auditLogs(t, f.db, helpdesk.AuditPasswordChange)); n != 0 {
				t.Errorf("%d auth.password_change rows, want 0", n)
			}
		})
	}
}

func TestService_ChangePassword(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	u := mustCreateUser(t, f.db, "ana@suporte.com", password, mustChangePassword)
	first := mustLogin(t, f, "ana@suporte.com", password)
	second := mustLogin(t, f, "ana@suporte.com", password) // another device
	f.clock.Advance(time.Minute)

	const newPassword = "novaSenha1"
	sess, err := f.svc.ChangePassword(ctx, u.ID, password, newPassword, client)
	if err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if sess.User.MustChangePassword {
		t.Error("session user still must change the password")
	}
	stored, err := f.db.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.MustChangePassword {
		t.Error("stored user still must change the password")
	}
	if !auth.CheckPassword(stored.PasswordHash, newPassword) || auth.CheckPassword(stored.PasswordHash, password) {
		t.Error("stored hash does not match the new password only")
	}

	// Every earlier session is over; the returned one works.
	refreshFails(t, f, first.RefreshToken, "with a token from before the change")
	refreshFails(t, f, second.RefreshToken, "with another device's token from before the change")
	if got, err := f.svc.Authenticate(ctx, sess.AccessToken); err != nil || got.ID != u.ID {
		t.Errorf("Authenticate(new access token) = %s, %v", got.ID, err)
	}
	mustRefresh(t, f, sess.RefreshToken)

	// The new password logs in, the old one does not.
	mustLogin(t, f, "ana@suporte.com", newPassword)
	_, err = f.svc.Login(ctx, "ana@suporte.com", password, client)
	wantCode(t, err, helpdesk.CodeInvalidCredentials)

	logs := auditLogs(t, f.db, helpdesk.AuditPasswordChange)
	if len(logs) != 1 || logs[0].ActorID != u.ID {
		t.Errorf("auth.password_change rows = %+v, want one by %s", logs, u.ID)
	}
}

func TestService_Authenticate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		prepare func(t *testing.T, f fixture, u helpdesk.User, sess auth.Session) string
		wantOK  bool
	}{
		{"valid", func(_ *testing.T, _ fixture, _ helpdesk.User, s auth.Session) string { return s.AccessToken }, true},
		{"garbage", func(*testing.T, fixture, helpdesk.User, auth.Session) string { return "garbage" }, false},
		{"empty", func(*testing.T, fixture, helpdesk.User, auth.Session) string { return "" }, false},
		{"refresh token instead", func(_ *testing.T, _ fixture, _ helpdesk.User, s auth.Session) string { return s.RefreshToken }, false},
		{"expired", func(_ *testing.T, f fixture, _ helpdesk.User, s auth.Session) string {
			f.clock.Advance(accessTTL)
			return s.AccessToken
		}, false},
		{"deactivated user", func(t *testing.T, f fixture, u helpdesk.User, s auth.Session) string {
			off := false
			if _, err := f.db.UpdateUser(context.Background(), u.ID, helpdesk.UserUpdate{Active: &off}, t0); err != nil {
				t.Fatal(err)
			}
			return s.AccessToken
		}, false},
		{"unknown user", func(t *testing.T, _ fixture, u helpdesk.User, _ auth.Session) string {
			tok, err := auth.NewAccessTokens(testAccessSecret, accessTTL, fixedClock(t0)).IssueStamped(helpdesk.NewID(), auth.PasswordStamp(u.PasswordHash))
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}, false},
		{"issued before a password change", func(t *testing.T, f fixture, u helpdesk.User, s auth.Session) string {
			if _, err := f.svc.ChangePassword(context.Background(), u.ID, password, "Another-pass-123", auth.ClientInfo{}); err != nil {
				t.Fatal(err)
			}
			return s.AccessToken
		}, false},
		{"without a password stamp", func(t *testing.T, _ fixture, u helpdesk.User, _ auth.Session) string {
			tok, err := auth.NewAccessTokens(testAccessSecret, accessTTL, fixedClock(t0)).Issue(u.ID)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}, false},
		{"signed with another secret", func(t *testing.T, _ fixture, u helpdesk.User, _ auth.Session) string {
			tok, err := auth.NewAccessTokens("another-secret-0123456789abcdef01234567", accessTTL, fixedClock(t0)).Issue(u.ID)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			u := mustCreateUser(t, f.db, "ana@suporte.com", password)
			sess := mustLogin(t, f, "ana@suporte.com", password)

			got, err := f.svc.Authenticate(context.Background(), tc.prepare(t, f, u, sess))
			if tc.wantOK {
				if err != nil || got.ID != u.ID || !got.Active {
					t.Fatalf("Authenticate = %s, %v; want active user %s", got.ID, err, u.ID)
				}
				return
			}
			wantCode(t, err, helpdesk.CodeInvalidToken)
			if got.ID != "" {
				t.Errorf("Authenticate returned user %s with an error", got.ID)
			}
		})
	}
}

// A user agent longer than 255 bytes is cut to fit its column; the cut must
// not split a character, or PostgreSQL refuses the row (invalid UTF-8) and
// the login fails.
func TestService_Login_LongUserAgent(t *testing.T) {
	t.Parallel()
	f := setup(t)
	mustCreateUser(t, f.db, "ana@suporte.com", password)

	ua := strings.Repeat("a", 254) + "é" // 256 bytes; byte 255 is the first half of é
	sess, err := f.svc.Login(context.Background(), "ana@suporte.com", password, auth.ClientInfo{IP: client.IP, UserAgent: ua})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	row := storedToken(t, f.db, sess.RefreshToken)
	if len(row.UserAgent) > 255 || !utf8.ValidString(row.UserAgent) {
		t.Errorf("stored user agent is %d bytes, valid UTF-8 %v", len(row.UserAgent), utf8.ValidString(row.UserAgent))
	}
}
