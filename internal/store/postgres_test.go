package store_test

import (
	"strings"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

// TestPostgres needs TEST_DATABASE_URL; without it the test skips, or fails
// under CI=true.
func TestPostgres(t *testing.T) {
	t.Parallel()
	// One store first, so a missing database skips (or fails) once here
	// rather than in every subtest; it also checks that Migrate is idempotent.
	db := storetest.OpenPostgres(t)
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if db.Dialect() != store.DialectPostgres {
		t.Errorf("Dialect = %q, want %q", db.Dialect(), store.DialectPostgres)
	}

	storetest.Run(t, func(t *testing.T) helpdesk.Store { return storetest.OpenPostgres(t) })
}

// On a fresh install the ingest's tables are empty when PostgreSQL first
// plans its lookups by key, and a plan made then is kept by the
// connection's prepared statement while the tables grow. PreferIndexes
// makes those plans use the indexes at any size.
func TestPostgresIngestLookupsUseIndexesOnEmptyTables(t *testing.T) {
	t.Parallel()
	db := storetest.OpenPostgres(t)
	keys := "'{" + strings.Repeat("wamid.x,", 63) + "wamid.y}'"
	for _, q := range []string{
		"SELECT wa_message_id FROM messages WHERE wa_message_id = ANY(" + keys + ")",
		"SELECT wa_id FROM customers WHERE wa_id = ANY(" + keys + ")",
	} {
		plan, err := db.Plan(t.Context(), true, q)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "Index") {
			t.Errorf("%s\nplanned as\n%s\nwant an index scan", q, plan)
		}
		// What the setting is for: unless the planner changed, the same
		// lookup on the empty table scans it.
		if plain, err := db.Plan(t.Context(), false, q); err == nil && !strings.Contains(plain, "Seq Scan") {
			t.Logf("without PreferIndexes the planner chose an index too:\n%s", plain)
		}
	}
}
