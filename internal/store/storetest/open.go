package storetest

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
)

// OpenSQLite returns a fresh, migrated SQLite store in a file under
// tb.TempDir() (not in memory: each pooled connection to an in-memory
// database would see its own empty one). It is closed by tb.Cleanup.
func OpenSQLite(tb testing.TB) *store.DB {
	tb.Helper()
	return openMigrated(tb, "sqlite:"+filepath.Join(tb.TempDir(), "test.db"))
}

// OpenPostgres returns a fresh, migrated PostgreSQL store in a schema of its
// own, created in the database named by TEST_DATABASE_URL and dropped by
// tb.Cleanup. When TEST_DATABASE_URL is unset or the database does not
// answer, the test is skipped with the reason, or fails when CI=true:
// CI must never pass by skipping the PostgreSQL half of the suite.
func OpenPostgres(tb testing.TB) *store.DB {
	tb.Helper()
	return OpenPostgresWithSettings(tb, nil)
}

// OpenPostgresWithSettings is OpenPostgres with session settings of the
// pool's connections (as a DBA may set them on a database or a role),
// e.g. default_transaction_isolation.
func OpenPostgresWithSettings(tb testing.TB, settings map[string]string) *store.DB {
	tb.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		unavailable(tb, "TEST_DATABASE_URL is not set; it names a PostgreSQL database the tests may create schemas in, "+
			"e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	admin, err := adminDB()
	if err != nil {
		unavailable(tb, "PostgreSQL at TEST_DATABASE_URL is unreachable: "+err.Error())
	}

	// Unquoted identifiers fold to lower case; base32 is letters and digits.
	schema := "storetest_" + strings.ToLower(rand.Text())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.SQL().ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	// Registered before openMigrated's Close, so it runs after it.
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.SQL().ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})

	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("TEST_DATABASE_URL is not a URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx sends unknown URL parameters as session settings
	for k, v := range settings {
		q.Set(k, v)
	}
	// pgx reads "+" literally; Encode writes a literal "+" as %2B.
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return openMigrated(tb, u.String())
}

// unavailable skips the test, or fails it under CI=true.
func unavailable(tb testing.TB, reason string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatal(reason + " (CI=true: PostgreSQL tests must run)")
	}
	tb.Skip(reason + "; skipping PostgreSQL tests")
}

// adminDB is the connection to TEST_DATABASE_URL that creates and drops the
// test schemas, shared by the whole test binary and never closed. A failure
// to connect is remembered, so an unreachable server costs one timeout.
var adminDB = sync.OnceValues(func() (*store.DB, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return store.Open(ctx, os.Getenv("TEST_DATABASE_URL"), nil)
})

func openMigrated(tb testing.TB, databaseURL string) *store.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, databaseURL, testLogger(tb))
	if err != nil {
		tb.Fatalf("open test database: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close test database: %v", err)
		}
	})
	if err := db.Migrate(ctx); err != nil {
		tb.Fatalf("migrate test database: %v", err)
	}
	return db
}

// testLogger writes warnings and errors to the test's output, which shows
// with -v or when the test fails.
func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}
