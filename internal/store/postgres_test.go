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
// connection's prepared statement while the tables grow. StartGroupCommit
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
			t.Logf("without StartGroupCommit the planner chose an index too:\n%s", plain)
		}
	}
}

// The real-time bus's rows are ~50 KB batches of events written once and
// read back once; pglz was the hottest function in the server's profile of
// bench ingest. Where the server has lz4, migration 00017 uses it.
func TestPostgresFanoutPayloadCompression(t *testing.T) {
	t.Parallel()
	db := storetest.OpenPostgres(t)
	ctx := t.Context()
	var hasLZ4 bool
	if err := db.SQL().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_settings
		WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals))`).Scan(&hasLZ4); err != nil {
		t.Fatal(err)
	}
	var method string
	if err := db.SQL().QueryRowContext(ctx, `SELECT attcompression::text FROM pg_attribute
		WHERE attrelid = 'fanout_messages'::regclass AND attname = 'payload'`).Scan(&method); err != nil {
		t.Fatal(err)
	}
	want := "" // the server's default
	if hasLZ4 {
		want = "l"
	}
	if method != want {
		t.Errorf("fanout_messages.payload compression = %q, want %q (lz4 available: %v)", method, want, hasLZ4)
	}
	// A row written now is compressed that way.
	payload := strings.Repeat(`{"n":"new_message","d":{"id":"01J","text":"hello"}},`, 1000)
	var id int64
	if err := db.SQL().QueryRowContext(ctx, `INSERT INTO fanout_messages (payload, created_at)
		VALUES ($1, now()) RETURNING id`, payload).Scan(&id); err != nil {
		t.Fatal(err)
	}
	var got *string
	if err := db.SQL().QueryRowContext(ctx, `SELECT pg_column_compression(payload) FROM fanout_messages
		WHERE id = $1`, id).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if hasLZ4 && (got == nil || *got != "lz4") {
		t.Errorf("a new row's payload is compressed with %v, want lz4", got)
	}
}

// swa_fold is PL/pgSQL since migration 00017: as a SQL function calling the
// STABLE unaccent() it was never inlined, and each statement evaluating it
// paid for planning its body and an executor per call. Its results stay
// those of the indexes built with the SQL version.
func TestPostgresFoldIsPLpgSQL(t *testing.T) {
	t.Parallel()
	db := storetest.OpenPostgres(t)
	ctx := t.Context()
	var lang, folded string
	if err := db.SQL().QueryRowContext(ctx, `SELECT l.lanname, swa_fold('Não CONSIGO acessar, Açaí')
		FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
		WHERE p.oid = 'swa_fold(text)'::regprocedure`).Scan(&lang, &folded); err != nil {
		t.Fatal(err)
	}
	if lang != "plpgsql" {
		t.Errorf("swa_fold is written in %s, want plpgsql", lang)
	}
	if want := "nao consigo acessar, acai"; folded != want {
		t.Errorf("swa_fold = %q, want %q", folded, want)
	}
}
