package helpdesk

import (
	"time"

	"github.com/google/uuid"
)

// NewID returns a new UUIDv7 string: time-ordered, so ids sort by creation
// and index well on both engines.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// ValidID reports whether s looks like an id this system issues, so that a
// malformed path parameter answers 404 without a query.
func ValidID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

// Now is the clock in store precision: UTC, truncated to milliseconds,
// because SQLite and PostgreSQL keep different sub-millisecond precision.
func Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
