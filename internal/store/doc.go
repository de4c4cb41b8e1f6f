// Package store persists the helpdesk in SQLite (the zero-setup default) or
// PostgreSQL (production) through one code path: database/sql, "$1"
// placeholders (both drivers bind them) and a dialect subset both engines
// share. *DB implements helpdesk.Store; the contract suite in storetest runs
// against both engines.
//
// # Errors
//
// Every method returns helpdesk.ErrNotFound for a missing row and
// helpdesk.ErrConflict for a unique violation or a lost race, wrapped with
// context (test with errors.Is). One function per engine (errors.go)
// translates driver errors: unique and primary-key violations become
// ErrConflict, foreign-key violations ErrNotFound (the row referred to does
// not exist) and sql.ErrNoRows ErrNotFound. On PostgreSQL a failed statement
// aborts the surrounding transaction, so a function running in InTx must
// return the error rather than carry on.
//
// # Transactions
//
// InTx hands its callback a *DB bound to one transaction; InTx on a bound DB
// just runs the callback in the same transaction. Methods that write several
// rows run in a transaction of their own (or the caller's). On SQLite every
// transaction begins IMMEDIATE: it takes the write lock up front and waits
// for it up to the busy timeout, where a deferred transaction would fail with
// SQLITE_BUSY when it tried to upgrade a read lock. Races are settled by
// conditional updates ("… WHERE revoked_at IS NULL"; no row changed →
// ErrConflict), which behave the same on both engines under PostgreSQL's
// READ COMMITTED.
//
// # Engine differences the code hides
//
//   - Times are written as UTC truncated to milliseconds and read back in UTC,
//     so a value round-trips equal. SQLite stores them as text in a format that
//     sorts chronologically and that its date functions understand
//     ("2006-01-02 15:04:05.999-07:00", always +00:00); PostgreSQL as
//     TIMESTAMPTZ.
//   - JSON is TEXT on SQLite and JSONB on PostgreSQL; the store passes and reads
//     it as text.
//   - Text order: PostgreSQL sorts by the database collation, SQLite by bytes.
//     Lists whose order people read (departments by name) are sorted in Go.
//   - Case folding: SQLite's lower() folds ASCII letters only, so on SQLite
//     "Ética" and "ÉTICA" are different department names and a search for "é"
//     does not find "É". PostgreSQL folds every letter.
//   - NULLs sort first on PostgreSQL and last on SQLite in descending order;
//     write "DESC NULLS LAST" where it matters (the inbox indexes do).
package store
