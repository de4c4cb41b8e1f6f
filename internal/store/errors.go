package store

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// sqliteError translates an error of modernc.org/sqlite: a unique or
// primary-key violation becomes helpdesk.ErrConflict, a foreign-key
// violation (the row referred to does not exist) and sql.ErrNoRows become
// helpdesk.ErrNotFound. The driver error stays in the chain for logs and
// errors.As; other errors pass unchanged.
func sqliteError(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return helpdesk.ErrNotFound
	}
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() { // extended result codes, which the driver enables
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", helpdesk.ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w", helpdesk.ErrNotFound, err)
		}
	}
	return err
}

// postgresError is sqliteError for PostgreSQL through pgx.
func postgresError(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return helpdesk.ErrNotFound
	}
	var e *pgconn.PgError
	if errors.As(err, &e) {
		switch e.Code {
		case "23505": // unique_violation, also for primary keys
			return fmt.Errorf("%w: %w", helpdesk.ErrConflict, err)
		case "23503": // foreign_key_violation
			return fmt.Errorf("%w: %w", helpdesk.ErrNotFound, err)
		}
	}
	return err
}
