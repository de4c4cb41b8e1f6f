// Package storetest is the contract suite of helpdesk.Store, written once and
// run against every engine (internal/store's sqlite_test.go and
// postgres_test.go), plus helpers that give other packages' tests a fresh
// database: OpenSQLite and OpenPostgres.
package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// Opener returns a fresh, migrated, empty store for one test; it registers
// its own cleanup on t.
type Opener func(t *testing.T) helpdesk.Store

// Run exercises every method of helpdesk.Store on stores from open: results,
// the errors promised for missing rows and conflicts, transactions, time
// precision and races. Each subtest opens its own store and runs in
// parallel. The schema tests insert rows that the Store interface cannot
// create yet (channels, customers, conversations) through the *sql.DB of a
// store that has a SQL() *sql.DB method, as *store.DB does.
func Run(t *testing.T, open Opener) {
	t.Run("Ping", func(t *testing.T) {
		t.Parallel()
		if err := open(t).Ping(t.Context()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
	t.Run("InTx", func(t *testing.T) { t.Parallel(); testInTx(t, open) })
	t.Run("TimeRoundTrip", func(t *testing.T) { t.Parallel(); testTimeRoundTrip(t, open) })
	t.Run("Users", func(t *testing.T) { t.Parallel(); testUsers(t, open) })
	t.Run("Departments", func(t *testing.T) { t.Parallel(); testDepartments(t, open) })
	t.Run("RefreshTokens", func(t *testing.T) { t.Parallel(); testRefreshTokens(t, open) })
	t.Run("AuditLogs", func(t *testing.T) { t.Parallel(); testAuditLogs(t, open) })
	t.Run("Schema", func(t *testing.T) { t.Parallel(); testSchema(t, open) })
	t.Run("Ingest", func(t *testing.T) { t.Parallel(); testIngest(t, open) })
	t.Run("RekeyCustomer", func(t *testing.T) { t.Parallel(); testRekeyCustomer(t, open) })
	t.Run("StatusBeforeWAMID", func(t *testing.T) { t.Parallel(); testStatusBeforeWAMID(t, open) })
	t.Run("StartGroupCommit", func(t *testing.T) { t.Parallel(); testStartGroupCommit(t, open) })
	t.Run("IngestBatch", func(t *testing.T) { t.Parallel(); testIngestBatch(t, open) })
	t.Run("NoteSeesConcurrentCommit", func(t *testing.T) { t.Parallel(); testNoteSeesConcurrentCommit(t, open) })
	t.Run("BatchResultOrder", func(t *testing.T) { t.Parallel(); testBatchResultOrder(t, open) })
	t.Run("Bot", func(t *testing.T) { t.Parallel(); testBot(t, open) })
	t.Run("Inbox", func(t *testing.T) { t.Parallel(); testInbox(t, open) })
	t.Run("QueuedOutboundBefore", func(t *testing.T) { t.Parallel(); testQueuedOutboundBefore(t, open) })
}

var errBoom = errors.New("boom")

func testInTx(t *testing.T, open Opener) {
	t.Run("CommitOnSuccess", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		dep := newDepartment("Suporte")
		err := s.InTx(ctx, func(tx helpdesk.Store) error {
			if err := tx.CreateDepartment(ctx, dep); err != nil {
				return err
			}
			_, err := tx.GetDepartment(ctx, dep.ID) // the transaction sees its own writes
			return err
		})
		if err != nil {
			t.Fatalf("InTx: %v", err)
		}
		if _, err := s.GetDepartment(ctx, dep.ID); err != nil {
			t.Fatalf("GetDepartment after commit: %v", err)
		}
	})

	t.Run("RollbackOnError", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		dep := newDepartment("Suporte")
		err := s.InTx(ctx, func(tx helpdesk.Store) error {
			if err := tx.CreateDepartment(ctx, dep); err != nil {
				return err
			}
			return errBoom
		})
		if err != errBoom { // not errors.Is: InTx must return fn's error as it is
			t.Fatalf("InTx = %v, want fn's error unchanged", err)
		}
		requireNotFound(t, s, dep.ID)
	})

	t.Run("RollbackAfterStoreError", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		mustCreateDepartment(t, s, newDepartment("Suporte"))
		dep := newDepartment("Vendas")
		err := s.InTx(ctx, func(tx helpdesk.Store) error {
			if err := tx.CreateDepartment(ctx, dep); err != nil {
				return err
			}
			return tx.CreateDepartment(ctx, newDepartment("suporte"))
		})
		requireErr(t, err, helpdesk.ErrConflict)
		requireNotFound(t, s, dep.ID)
	})

	t.Run("NestedRunsInOuterTransaction", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		dep := newDepartment("Suporte")
		err := s.InTx(ctx, func(tx helpdesk.Store) error {
			if err := tx.InTx(ctx, func(inner helpdesk.Store) error {
				return inner.CreateDepartment(ctx, dep)
			}); err != nil {
				return err
			}
			return errBoom
		})
		requireErr(t, err, errBoom)
		requireNotFound(t, s, dep.ID)
	})

	t.Run("RollbackOnPanic", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		dep := newDepartment("Suporte")
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("the panic did not propagate")
				}
			}()
			_ = s.InTx(ctx, func(tx helpdesk.Store) error {
				if err := tx.CreateDepartment(ctx, dep); err != nil {
					return err
				}
				panic(errBoom)
			})
		}()
		requireNotFound(t, s, dep.ID)
		// A transaction left open would hold SQLite's write lock: this would
		// wait out the busy timeout and fail.
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := s.CreateDepartment(wctx, newDepartment("Vendas")); err != nil {
			t.Fatalf("write after a panicking transaction: %v", err)
		}
	})
}

func testTimeRoundTrip(t *testing.T, open Opener) {
	s, ctx := open(t), t.Context()

	// Nanoseconds, a zone other than UTC and a monotonic reading all go in;
	// UTC milliseconds come out.
	in := time.Date(2026, 3, 14, 15, 9, 26, 535_897_932, time.FixedZone("BRT", -3*60*60))
	want := in.UTC().Truncate(time.Millisecond)
	now := time.Now()

	u := newUser("time@example.com")
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = in, now, &in
	mustCreateUser(t, s, u)
	got, err := s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	requireTime(t, "CreatedAt", got.CreatedAt, want)
	requireTime(t, "UpdatedAt", got.UpdatedAt, now.UTC().Truncate(time.Millisecond))
	if got.LastLoginAt == nil {
		t.Fatal("LastLoginAt = nil")
	}
	requireTime(t, "LastLoginAt", *got.LastLoginAt, want)

	// helpdesk.Now is already in store precision: it comes back identical.
	dep := newDepartment("Suporte")
	mustCreateDepartment(t, s, dep)
	gotDep, err := s.GetDepartment(ctx, dep.ID)
	if err != nil {
		t.Fatalf("GetDepartment: %v", err)
	}
	requireTime(t, "Department.CreatedAt", gotDep.CreatedAt, dep.CreatedAt)

	// Fractions of every width, including none, survive.
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, frac := range []time.Duration{0, 5 * time.Millisecond, 50 * time.Millisecond, 500 * time.Millisecond, 999 * time.Millisecond} {
		upd, err := s.UpdateDepartment(ctx, dep.ID, helpdesk.DepartmentUpdate{}, base.Add(frac))
		if err != nil {
			t.Fatalf("UpdateDepartment: %v", err)
		}
		requireTime(t, fmt.Sprintf("UpdatedAt +%v", frac), upd.UpdatedAt, base.Add(frac))
	}
}

func requireTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	// == as well as Equal: the location must be UTC and nothing else may differ.
	if !got.Equal(want) || got != want.UTC() {
		t.Errorf("%s = %v (location %v), want %v in UTC", what, got, got.Location(), want.UTC())
	}
}

// --- fixtures -------------------------------------------------------------

func newUser(email string, departmentIDs ...string) helpdesk.User {
	now := helpdesk.Now()
	return helpdesk.User{
		ID:               helpdesk.NewID(),
		Name:             "Agent " + email,
		Email:            email,
		PasswordHash:     "$2a$10$hash",
		Role:             helpdesk.RoleAgent,
		Active:           true,
		MaxConversations: helpdesk.DefaultMaxConversations,
		DepartmentIDs:    departmentIDs,
		CreatedAt:        now,
		UpdatedAt:        now,
	}
}

func mustCreateUser(t *testing.T, s helpdesk.Store, u helpdesk.User) helpdesk.User {
	t.Helper()
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", u.Email, err)
	}
	return u
}

func newDepartment(name string) helpdesk.Department {
	now := helpdesk.Now()
	return helpdesk.Department{
		ID:          helpdesk.NewID(),
		Name:        name,
		Description: "Fila de " + name,
		Active:      true,
		CreatedAt:   now,
		UpdatedAt:   now,
	}
}

func mustCreateDepartment(t *testing.T, s helpdesk.Store, d helpdesk.Department) helpdesk.Department {
	t.Helper()
	if err := s.CreateDepartment(t.Context(), d); err != nil {
		t.Fatalf("CreateDepartment(%s): %v", d.Name, err)
	}
	return d
}

// --- assertions -----------------------------------------------------------

func requireErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

func requireNotFound(t *testing.T, s helpdesk.Store, departmentID string) {
	t.Helper()
	_, err := s.GetDepartment(t.Context(), departmentID)
	requireErr(t, err, helpdesk.ErrNotFound)
}

// requireUser compares every field; DepartmentIDs as a set in the store's
// order (sorted), never nil.
func requireUser(t *testing.T, got, want helpdesk.User) {
	t.Helper()
	want.DepartmentIDs = slices.Sorted(slices.Values(want.DepartmentIDs))
	if want.DepartmentIDs == nil {
		want.DepartmentIDs = []string{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("user differs:\n got  %+v\n want %+v", got, want)
	}
}

func userIDs(users []helpdesk.User) []string {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return ids
}

// --- raw SQL for tables the Store interface does not cover yet -------------

func rawDB(t *testing.T, s helpdesk.Store) *sql.DB {
	t.Helper()
	r, ok := s.(interface{ SQL() *sql.DB })
	if !ok {
		t.Fatalf("%T has no SQL() *sql.DB method, which the schema tests need", s)
	}
	return r.SQL()
}

func mustInsertChannel(t *testing.T, db *sql.DB) string {
	t.Helper()
	id, now := helpdesk.NewID(), helpdesk.Now()
	_, err := db.ExecContext(t.Context(), `INSERT INTO channels (id, name, phone_number_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5)`, id, "Principal", "phone-"+id, now, now)
	if err != nil {
		t.Fatalf("insert channel: %v", err)
	}
	return id
}

func mustInsertCustomer(t *testing.T, db *sql.DB) string {
	t.Helper()
	id, now := helpdesk.NewID(), helpdesk.Now()
	_, err := db.ExecContext(t.Context(), `INSERT INTO customers (id, wa_id, name, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5)`, id, "55119"+id[:8], "Cliente", now, now)
	if err != nil {
		t.Fatalf("insert customer: %v", err)
	}
	return id
}

// insertConversation returns the new conversation's id and the driver's
// error, untranslated.
func insertConversation(ctx context.Context, db *sql.DB, channelID, customerID, departmentID, status string) (string, error) {
	id, now := helpdesk.NewID(), helpdesk.Now()
	var dept any
	if departmentID != "" {
		dept = departmentID
	}
	_, err := db.ExecContext(ctx, `INSERT INTO conversations (id, channel_id, customer_id, department_id, status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, channelID, customerID, dept, status, now, now)
	return id, err
}

func mustInsertConversation(t *testing.T, db *sql.DB, departmentID, status string) string {
	t.Helper()
	id, err := insertConversation(t.Context(), db, mustInsertChannel(t, db), mustInsertCustomer(t, db), departmentID, status)
	if err != nil {
		t.Fatalf("insert conversation: %v", err)
	}
	return id
}

// isUniqueViolation classifies a raw driver error of either engine. The
// store translates these for its own methods; SQL run on SQL() bypasses it.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	var pe *pgconn.PgError
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE ||
		errors.As(err, &pe) && pe.Code == "23505"
}
