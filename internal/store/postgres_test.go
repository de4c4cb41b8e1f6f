package store_test

import (
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
