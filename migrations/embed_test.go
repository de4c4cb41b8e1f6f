package migrations_test

import (
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/migrations"
)

// Both engines must always be at the same schema version, so every migration
// exists in both folders under the same name.
func TestMigrations_SameFilesForBothEngines(t *testing.T) {
	t.Parallel()

	sqlite := list(t, migrations.SQLite)
	postgres := list(t, migrations.Postgres)
	if len(sqlite) == 0 {
		t.Fatal("no migrations embedded")
	}
	if !slices.Equal(sqlite, postgres) {
		t.Fatalf("migration folders differ:\n  sqlite:   %v\n  postgres: %v", sqlite, postgres)
	}
}

func TestMigrations_GooseAnnotations(t *testing.T) {
	t.Parallel()

	for name, fsys := range map[string]fs.FS{"sqlite": migrations.SQLite, "postgres": migrations.Postgres} {
		for _, file := range list(t, fsys) {
			b, err := fs.ReadFile(fsys, file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), "-- +goose Up\n") {
				t.Errorf("%s/%s: missing the \"-- +goose Up\" annotation", name, file)
			}
		}
	}
}

func list(t *testing.T, fsys fs.FS) []string {
	t.Helper()
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	return names // fs.Glob returns names in lexical order
}
