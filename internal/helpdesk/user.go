package helpdesk

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what a user may do. The seed's profiles: admin (everything),
// supervisor (metrics, every conversation, transfers) and agent (own
// conversations and own departments' queues).
type Role string

const (
	RoleAdmin      Role = "admin"
	RoleSupervisor Role = "supervisor"
	RoleAgent      Role = "agent"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleSupervisor || r == RoleAgent
}

// AtLeast reports whether r includes every right of min
// (admin ⊇ supervisor ⊇ agent).
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() }

func (r Role) rank() int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleSupervisor:
		return 2
	case RoleAgent:
		return 1
	}
	return 0
}

// DefaultMaxConversations is how many open conversations an agent carries
// when nobody says otherwise.
const DefaultMaxConversations = 5

// User is an agent, supervisor or admin of the helpdesk. PasswordHash never
// leaves the server.
type User struct {
	ID                 string
	Name               string
	Email              string // stored lower-cased
	PasswordHash       string
	Role               Role
	Active             bool
	MustChangePassword bool
	MaxConversations   int
	DepartmentIDs      []string
	LastLoginAt        *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// MaxEmailLength is the longest address RFC 5321 allows in a path.
const MaxEmailLength = 254

// NormalizeEmail trims and lower-cases an address so that lookups and the
// uniqueness check ignore case.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateEmail returns a message for fields when s is not a plain address.
func ValidateEmail(s string) string {
	if s == "" {
		return "is required"
	}
	if len(s) > MaxEmailLength {
		return "must be at most 254 characters"
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "must be a valid e-mail address"
	}
	return ""
}

// ValidateName returns a message for fields when s is not a usable name.
func ValidateName(s string, max int) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "is required"
	case utf8.RuneCountInString(s) > max:
		return "is too long"
	}
	return ""
}
