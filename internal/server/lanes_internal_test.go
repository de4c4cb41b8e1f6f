package server

import (
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/config"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
)

// One lane on PostgreSQL unless INGEST_LANES says otherwise: on the
// two-core VM with the database beside the server, one lane stored as
// many messages per second as two with less CPU per message on both
// sides. SQLite has one writer whatever is set.
func TestIngestLanes(t *testing.T) {
	cfg, err := config.Load(map[string]string{"APP_ENV": "test"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ingestLanes(store.DialectPostgres, cfg.IngestLanes); got != 1 {
		t.Errorf("PostgreSQL lanes by default = %d, want 1", got)
	}
	cfg, err = config.Load(map[string]string{"APP_ENV": "test", "INGEST_LANES": "3"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ingestLanes(store.DialectPostgres, cfg.IngestLanes); got != 3 {
		t.Errorf("PostgreSQL lanes with INGEST_LANES=3 = %d, want 3", got)
	}
	if got := ingestLanes(store.DialectSQLite, cfg.IngestLanes); got != 1 {
		t.Errorf("SQLite lanes with INGEST_LANES=3 = %d, want 1", got)
	}
}
