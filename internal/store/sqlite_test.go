package store_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) helpdesk.Store { return storetest.OpenSQLite(t) })
}

func TestSQLite_MigrateTwice(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t) // migrated once
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if db.Dialect() != store.DialectSQLite {
		t.Errorf("Dialect = %q, want %q", db.Dialect(), store.DialectSQLite)
	}
}

func TestOpen_SQLiteURLs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name, url, file string
	}{
		{"SQLitePrefix", "sqlite:" + filepath.Join(dir, "a", "one.db"), filepath.Join(dir, "a", "one.db")},
		{"SQLiteScheme", "sqlite://" + filepath.Join(dir, "b", "two.db"), filepath.Join(dir, "b", "two.db")},
		{"FilePrefix", "file:" + filepath.Join(dir, "c", "three.db"), filepath.Join(dir, "c", "three.db")},
		{"OddCharacters", "sqlite:" + filepath.Join(dir, "d", "50% #1.db"), filepath.Join(dir, "d", "50% #1.db")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := store.Open(t.Context(), tc.url, nil)
			if err != nil {
				t.Fatalf("Open(%q): %v", tc.url, err)
			}
			defer db.Close()
			if err := db.Migrate(t.Context()); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if _, err := os.Stat(tc.file); err != nil {
				t.Fatalf("database file: %v", err)
			}
		})
	}
}

// The empty URL is the zero-setup default: ./data/supportwhatsapp.db.
func TestOpen_DefaultURL(t *testing.T) {
	t.Chdir(t.TempDir()) // not parallel: changes the working directory
	db, err := store.Open(t.Context(), "", nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	if _, err := os.Stat(filepath.Join("data", "supportwhatsapp.db")); err != nil {
		t.Fatalf("default database file: %v", err)
	}
}

func TestOpen_BadURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, url, mention string
	}{
		{"UnknownScheme", "mysql://root:s3cret@localhost/helpdesk", "postgres://"},
		{"NoScheme", "helpdesk.db", "sqlite:PATH"},
		{"InMemory", "sqlite::memory:", "in-memory"},
		{"Parameters", "sqlite:x.db?_pragma=foreign_keys(0)", "no parameters"},
		{"NoFile", "sqlite:", "names no file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := store.Open(t.Context(), tc.url, nil)
			if err == nil {
				t.Fatalf("Open(%q) succeeded", tc.url)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q reveals the password", err)
			}
		})
	}
}

func TestOpen_PostgresErrorHidesPassword(t *testing.T) {
	t.Parallel()
	// Nothing listens on port 1: the connection is refused at once.
	for _, url := range []string{
		"postgres://ana:s3cret@127.0.0.1:1/helpdesk?connect_timeout=2",
		"postgresql://ana@127.0.0.1:1/helpdesk?password=s3cret&connect_timeout=2",
	} {
		_, err := store.Open(t.Context(), url, nil)
		if err == nil {
			t.Fatalf("Open(%q) succeeded", url)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error %q reveals the password", err)
		}
	}
}
