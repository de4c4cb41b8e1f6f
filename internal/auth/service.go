package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// Session is what a successful login, refresh or password change returns.
type Session struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration // lifetime of AccessToken
	User         helpdesk.User
}

// ClientInfo describes where a request came from, for refresh-token rows and
// audit logs.
type ClientInfo struct {
	IP        string
	UserAgent string
}

// Config configures a Service.
type Config struct {
	AccessSecret  string
	RefreshSecret string
	AccessTTL     time.Duration
	RefreshTTL    time.Duration
	BcryptCost    int
	Now           func() time.Time // defaults to helpdesk.Now
	Log           *slog.Logger
}

// Service runs the login, refresh, logout and password-change flows.
type Service struct {
	store         helpdesk.Store
	access        *AccessTokens
	refreshSecret string
	refreshTTL    time.Duration
	cost          int
	now           func() time.Time
	log           *slog.Logger

	dummyOnce sync.Once
	dummyHash string
}

// NewService returns a Service over store.
func NewService(store helpdesk.Store, cfg Config) *Service {
	now := cfg.Now
	if now == nil {
		now = helpdesk.Now
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		store:         store,
		access:        NewAccessTokens(cfg.AccessSecret, cfg.AccessTTL, now),
		refreshSecret: cfg.RefreshSecret,
		refreshTTL:    cfg.RefreshTTL,
		cost:          cfg.BcryptCost,
		now:           now,
		log:           log,
	}
}

// BcryptCost is the cost new password hashes are made with.
func (s *Service) BcryptCost() int { return s.cost }

var errInvalidCredentials = &helpdesk.Error{Code: helpdesk.CodeInvalidCredentials, Message: "e-mail or password is incorrect"}

func errInvalidRefresh() error {
	return &helpdesk.Error{Code: helpdesk.CodeInvalidToken, Message: "refresh token is invalid or expired; log in again"}
}

// Login checks the credentials and starts a new refresh-token family.
// Unknown e-mails, wrong passwords and deactivated users all answer the same
// invalid_credentials error, after the same bcrypt work, so the response
// reveals nothing about which accounts exist.
func (s *Service) Login(ctx context.Context, email, password string, client ClientInfo) (Session, error) {
	email = helpdesk.NormalizeEmail(email)
	u, err := s.store.GetUserByEmail(ctx, email)
	switch {
	case errors.Is(err, helpdesk.ErrNotFound):
		CheckPassword(s.dummyPasswordHash(), password)
		s.auditFailedLogin(ctx, "", email, "unknown_email", client)
		return Session{}, errInvalidCredentials
	case err != nil:
		return Session{}, fmt.Errorf("login: %w", err)
	}
	if !CheckPassword(u.PasswordHash, password) {
		s.auditFailedLogin(ctx, u.ID, email, "wrong_password", client)
		return Session{}, errInvalidCredentials
	}
	if !u.Active {
		s.auditFailedLogin(ctx, u.ID, email, "deactivated", client)
		return Session{}, errInvalidCredentials
	}

	now := s.now()
	var sess Session
	err = s.store.InTx(ctx, func(tx helpdesk.Store) error {
		u, err = tx.UpdateUser(ctx, u.ID, helpdesk.UserUpdate{LastLoginAt: &now}, now)
		if err != nil {
			return err
		}
		refresh, row := s.newRefreshToken(u.ID, helpdesk.NewID(), client)
		if err := tx.CreateRefreshToken(ctx, row); err != nil {
			return err
		}
		if err := tx.InsertAuditLog(ctx, helpdesk.AuditLog{
			ID: helpdesk.NewID(), ActorID: u.ID, Action: helpdesk.AuditLogin,
			EntityType: "user", EntityID: u.ID, IP: client.IP, CreatedAt: now,
		}); err != nil {
			return err
		}
		sess, err = s.session(u, refresh)
		return err
	})
	if err != nil {
		return Session{}, fmt.Errorf("login: %w", err)
	}
	return sess, nil
}

// auditFailedLogin records a failed attempt. A failure to write it is logged
// and does not change the answer the caller gets.
func (s *Service) auditFailedLogin(ctx context.Context, userID, email, reason string, client ClientInfo) {
	err := s.store.InsertAuditLog(ctx, helpdesk.AuditLog{
		ID: helpdesk.NewID(), Action: helpdesk.AuditLoginFailed, EntityType: "user", EntityID: userID,
		IP: client.IP, Details: map[string]any{"email": email, "reason": reason}, CreatedAt: s.now(),
	})
	if err != nil {
		s.log.ErrorContext(ctx, "audit failed login", "err", err)
	}
}

// dummyPasswordHash is compared against when the e-mail is unknown, so an
// unknown account costs as much time as a wrong password.
func (s *Service) dummyPasswordHash() string {
	s.dummyOnce.Do(func() {
		h, err := HashPassword("not-a-real-password-0", s.cost)
		if err == nil {
			s.dummyHash = h
		}
	})
	return s.dummyHash
}

// Refresh exchanges a live refresh token for a new session. The presented
// token dies (rotation). Presenting a token that was already rotated or
// revoked is treated as theft: every token of its family is revoked.
func (s *Service) Refresh(ctx context.Context, token string, client ClientInfo) (Session, error) {
	old, err := s.store.GetRefreshTokenByHash(ctx, HashRefreshToken(s.refreshSecret, token))
	if errors.Is(err, helpdesk.ErrNotFound) {
		return Session{}, errInvalidRefresh()
	}
	if err != nil {
		return Session{}, fmt.Errorf("refresh: %w", err)
	}
	now := s.now()
	if old.RevokedAt != nil {
		s.revokeReusedFamily(ctx, old, client)
		return Session{}, errInvalidRefresh()
	}
	if !now.Before(old.ExpiresAt) {
		return Session{}, errInvalidRefresh()
	}
	u, err := s.store.GetUser(ctx, old.UserID)
	if err != nil && !errors.Is(err, helpdesk.ErrNotFound) {
		return Session{}, fmt.Errorf("refresh: %w", err)
	}
	if err != nil || !u.Active {
		if err := s.store.RevokeRefreshTokenFamily(ctx, old.FamilyID, now); err != nil {
			return Session{}, fmt.Errorf("refresh: %w", err)
		}
		return Session{}, errInvalidRefresh()
	}
	refresh, next := s.newRefreshToken(u.ID, old.FamilyID, client)
	err = s.store.RotateRefreshToken(ctx, old.ID, next, now)
	if errors.Is(err, helpdesk.ErrConflict) {
		// Another request rotated this token first: the same token was
		// presented twice, which is what reuse looks like.
		s.revokeReusedFamily(ctx, old, client)
		return Session{}, errInvalidRefresh()
	}
	if err != nil {
		return Session{}, fmt.Errorf("refresh: %w", err)
	}
	return s.session(u, refresh)
}

func (s *Service) revokeReusedFamily(ctx context.Context, t helpdesk.RefreshToken, client ClientInfo) {
	now := s.now()
	if err := s.store.RevokeRefreshTokenFamily(ctx, t.FamilyID, now); err != nil {
		s.log.ErrorContext(ctx, "revoke reused refresh-token family", "err", err)
	}
	if t.RevokedAt != nil && t.ReplacedBy == "" {
		// Revoked by logout, a password change or an earlier reuse, not by
		// rotation: a stale token, not evidence of a copied one.
		return
	}
	s.log.WarnContext(ctx, "refresh token reused; family revoked", "user_id", t.UserID, "family_id", t.FamilyID)
	if err := s.store.InsertAuditLog(ctx, helpdesk.AuditLog{
		ID: helpdesk.NewID(), ActorID: t.UserID, Action: helpdesk.AuditTokenReuse, EntityType: "user",
		EntityID: t.UserID, IP: client.IP, Details: map[string]any{"familyId": t.FamilyID}, CreatedAt: now,
	}); err != nil {
		s.log.ErrorContext(ctx, "audit token reuse", "err", err)
	}
}

// Logout revokes the refresh token. Unknown or already revoked tokens are
// not an error: the session is over either way.
func (s *Service) Logout(ctx context.Context, token string, client ClientInfo) error {
	t, err := s.store.GetRefreshTokenByHash(ctx, HashRefreshToken(s.refreshSecret, token))
	if errors.Is(err, helpdesk.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	if t.RevokedAt != nil {
		return nil
	}
	now := s.now()
	return s.store.InTx(ctx, func(tx helpdesk.Store) error {
		if err := tx.RevokeRefreshToken(ctx, t.ID, now); err != nil {
			return err
		}
		return tx.InsertAuditLog(ctx, helpdesk.AuditLog{
			ID: helpdesk.NewID(), ActorID: t.UserID, Action: helpdesk.AuditLogout,
			EntityType: "user", EntityID: t.UserID, IP: client.IP, CreatedAt: now,
		})
	})
}

// ChangePassword replaces the password of userID after checking the current
// one, lifts the must-change-password lock, ends every other session of the
// user and returns a fresh one.
func (s *Service) ChangePassword(ctx context.Context, userID, current, next string, client ClientInfo) (Session, error) {
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return Session{}, fmt.Errorf("change password: %w", err)
	}
	fields := map[string]string{}
	if current == "" {
		fields["currentPassword"] = "is required"
	}
	if p := PasswordProblem(next); p != "" {
		fields["newPassword"] = p
	} else if next == current {
		fields["newPassword"] = "must differ from the current password"
	}
	if len(fields) > 0 {
		return Session{}, helpdesk.ValidationError(fields)
	}
	if !CheckPassword(u.PasswordHash, current) {
		return Session{}, errWrongPassword
	}
	hash, err := HashPassword(next, s.cost)
	if err != nil {
		return Session{}, err
	}
	now := s.now()
	var sess Session
	err = s.store.InTx(ctx, func(tx helpdesk.Store) error {
		mustChange := false
		u, err = tx.UpdateUser(ctx, userID, helpdesk.UserUpdate{PasswordHash: &hash, MustChangePassword: &mustChange}, now)
		if err != nil {
			return err
		}
		if err := tx.RevokeUserRefreshTokens(ctx, userID, now); err != nil {
			return err
		}
		refresh, row := s.newRefreshToken(userID, helpdesk.NewID(), client)
		if err := tx.CreateRefreshToken(ctx, row); err != nil {
			return err
		}
		if err := tx.InsertAuditLog(ctx, helpdesk.AuditLog{
			ID: helpdesk.NewID(), ActorID: userID, Action: helpdesk.AuditPasswordChange,
			EntityType: "user", EntityID: userID, IP: client.IP, CreatedAt: now,
		}); err != nil {
			return err
		}
		sess, err = s.session(u, refresh)
		return err
	})
	if err != nil {
		return Session{}, fmt.Errorf("change password: %w", err)
	}
	return sess, nil
}

// errWrongPassword is the validation error of a wrong current password;
// IsWrongPassword tells it apart from the other validation errors.
var errWrongPassword = helpdesk.ValidationError(map[string]string{"currentPassword": "is incorrect"})

// IsWrongPassword reports whether err is ChangePassword's answer to a wrong
// current password, which rate limiting counts like a failed login.
func IsWrongPassword(err error) bool {
	return errors.Is(err, errWrongPassword)
}

// Authenticate returns the active user an access token belongs to. Any
// problem — bad signature, expiry, unknown or deactivated user — is an
// invalid_token error.
func (s *Service) Authenticate(ctx context.Context, accessToken string) (helpdesk.User, error) {
	claims, err := s.access.VerifyClaims(accessToken)
	if err != nil {
		return helpdesk.User{}, &helpdesk.Error{Code: helpdesk.CodeInvalidToken, Message: "access token is invalid or expired"}
	}
	u, err := s.store.GetUser(ctx, claims.Subject)
	if errors.Is(err, helpdesk.ErrNotFound) || (err == nil && (!u.Active || claims.PasswordStamp != PasswordStamp(u.PasswordHash))) {
		return helpdesk.User{}, &helpdesk.Error{Code: helpdesk.CodeInvalidToken, Message: "access token is invalid or expired"}
	}
	if err != nil {
		return helpdesk.User{}, fmt.Errorf("authenticate: %w", err)
	}
	return u, nil
}

// IssueAccessToken signs an access token for userID; tests and the
// WebSocket hub use it.
func (s *Service) IssueAccessToken(userID string) (string, error) {
	u, err := s.store.GetUser(context.Background(), userID)
	if err != nil {
		return "", fmt.Errorf("issue access token: %w", err)
	}
	return s.access.IssueStamped(u.ID, PasswordStamp(u.PasswordHash))
}

func (s *Service) newRefreshToken(userID, familyID string, client ClientInfo) (string, helpdesk.RefreshToken) {
	token := NewRefreshToken()
	now := s.now()
	return token, helpdesk.RefreshToken{
		ID:        helpdesk.NewID(),
		UserID:    userID,
		FamilyID:  familyID,
		TokenHash: HashRefreshToken(s.refreshSecret, token),
		ExpiresAt: now.Add(s.refreshTTL),
		CreatedAt: now,
		UserAgent: storableText(client.UserAgent, 255),
		IP:        client.IP,
	}
}

func (s *Service) session(u helpdesk.User, refresh string) (Session, error) {
	access, err := s.access.IssueStamped(u.ID, PasswordStamp(u.PasswordHash))
	if err != nil {
		return Session{}, err
	}
	return Session{AccessToken: access, RefreshToken: refresh, ExpiresIn: s.access.TTL(), User: u}, nil
}

// storableText makes a client-supplied string that is only recorded (a
// User-Agent) storable by both engines: NUL bytes dropped, invalid UTF-8
// replaced with U+FFFD, cut to n bytes on a rune boundary.
func storableText(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
