package helpdesk

import (
	"context"
	"time"
)

// RefreshToken is one link of a rotating refresh-token chain. Only the
// SHA-256 of the opaque token is stored. Every token minted by rotation keeps
// the FamilyID of the login that started the chain, so presenting a token
// that was already rotated (a stolen copy) can revoke the whole family.
type RefreshToken struct {
	ID         string
	UserID     string
	FamilyID   string
	TokenHash  string
	ExpiresAt  time.Time
	CreatedAt  time.Time
	RevokedAt  *time.Time
	ReplacedBy string // id of the token that rotated this one, "" if none
	UserAgent  string
	IP         string
}

// AuditLog records who did what: logins, failed logins, user and department
// changes. ActorID is "" for anonymous actions (a failed login).
type AuditLog struct {
	ID         string
	ActorID    string
	Action     string // e.g. "auth.login", "auth.login_failed", "user.create"
	EntityType string // "user", "department", …
	EntityID   string
	IP         string
	Details    map[string]any
	CreatedAt  time.Time
}

// Audit actions.
const (
	AuditLogin          = "auth.login"
	AuditLoginFailed    = "auth.login_failed"
	AuditLogout         = "auth.logout"
	AuditPasswordChange = "auth.password_change"
	AuditTokenReuse     = "auth.refresh_token_reuse"
	AuditUserCreate     = "user.create"
	AuditUserUpdate     = "user.update"
	AuditUserDeactivate = "user.deactivate"
	AuditDeptCreate     = "department.create"
	AuditDeptUpdate     = "department.update"
	AuditDeptDelete     = "department.delete"
)

// UserFilter selects users for ListUsers. Zero fields do not filter.
type UserFilter struct {
	Role         Role
	DepartmentID string
	Active       *bool
	Query        string // case-insensitive fragment of name or e-mail
	Limit        int    // 1..100
	After        string // id of the last user of the previous page (users are ordered by id)
}

// UserUpdate changes the non-nil fields of a user.
type UserUpdate struct {
	Name               *string
	Email              *string
	PasswordHash       *string
	Role               *Role
	Active             *bool
	MustChangePassword *bool
	MaxConversations   *int
	DepartmentIDs      *[]string // replaces the whole set
	LastLoginAt        *time.Time
}

// DepartmentUpdate changes the non-nil fields of a department.
type DepartmentUpdate struct {
	Name        *string
	Description *string
	Active      *bool
	AutoAssign  *bool
}

// AuditFilter selects audit rows, newest first.
type AuditFilter struct {
	Action   string
	ActorID  string
	EntityID string
	Limit    int
	Before   string // id of the last row of the previous page
}

// Store is the persistence the helpdesk needs. Implementations return
// ErrNotFound for a missing row and ErrConflict for a unique violation or a
// lost race; they never return a zero value with a nil error for a missing
// row. Times are stored in UTC with millisecond precision.
type Store interface {
	ChannelStore
	IngestStore
	ConversationReadStore
	OutboundStore
	WorkflowStore
	StatsStore
	PeriodStatsStore
	AssignStore
	BotStore
	InboxStore

	// InTx runs fn with a Store bound to one transaction: it commits when fn
	// returns nil and rolls back otherwise.
	InTx(ctx context.Context, fn func(tx Store) error) error
	Ping(ctx context.Context) error

	// CreateUser inserts u with its department links. ErrConflict when the
	// e-mail is taken; ErrNotFound when a department id does not exist.
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id string) (User, error)
	// GetUserByEmail looks the user up by normalised e-mail.
	GetUserByEmail(ctx context.Context, email string) (User, error)
	ListUsers(ctx context.Context, f UserFilter) ([]User, error)
	// UpdateUser applies upd and returns the user as stored afterwards.
	// ErrConflict when the new e-mail is taken; ErrNotFound for an unknown
	// user or department.
	UpdateUser(ctx context.Context, id string, upd UserUpdate, now time.Time) (User, error)
	CountUsers(ctx context.Context) (int, error)
	// LockActiveAdmins returns the ids of the active admins and, inside a
	// transaction on PostgreSQL, locks their rows until it ends, so two
	// admins demoting each other at once cannot both see the other still
	// active (SQLite transactions are serialised already).
	LockActiveAdmins(ctx context.Context) ([]string, error)

	CreateDepartment(ctx context.Context, d Department) error // ErrConflict: name taken
	GetDepartment(ctx context.Context, id string) (Department, error)
	ListDepartments(ctx context.Context) ([]Department, error) // ordered by name
	UpdateDepartment(ctx context.Context, id string, upd DepartmentUpdate, now time.Time) (Department, error)
	// DeleteDepartment removes a department and its agent links.
	// ErrConflict when conversations still reference it.
	DeleteDepartment(ctx context.Context, id string) error
	// MissingDepartments returns the ids among ids that do not exist.
	MissingDepartments(ctx context.Context, ids []string) ([]string, error)

	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	GetRefreshTokenByHash(ctx context.Context, hash string) (RefreshToken, error)
	// RotateRefreshToken revokes old (setting ReplacedBy to next.ID) and
	// inserts next, atomically. ErrConflict when old was already revoked,
	// so of two concurrent rotations of one token exactly one succeeds.
	RotateRefreshToken(ctx context.Context, oldID string, next RefreshToken, now time.Time) error
	// RevokeRefreshToken is a no-op for a token already revoked.
	RevokeRefreshToken(ctx context.Context, id string, now time.Time) error
	RevokeRefreshTokenFamily(ctx context.Context, familyID string, now time.Time) error
	RevokeUserRefreshTokens(ctx context.Context, userID string, now time.Time) error

	InsertAuditLog(ctx context.Context, a AuditLog) error
	ListAuditLogs(ctx context.Context, f AuditFilter) ([]AuditLog, error)
}
