package store

import (
	"context"
	"fmt"
)

// PreferIndexes implements helpdesk.IngestStore. Each pool connection
// keeps a prepared statement's generic plan until the table's statistics
// change. On a fresh install PostgreSQL plans the ingest's lookups by key
// (stored wamids, customers by wa_id, live conversations) while the
// tables are nearly empty, chooses sequential scans, and kept them while
// the tables grew, until autovacuum first analysed them: measured on a
// fresh database, the stored-wamid check alone took 4–8 ms per group
// commit after 30 seconds, and the customer and conversation lookups
// compared every row with every key of the batch. Every lookup of the
// ingest is by an indexed key, so for its transaction sequential scans
// are priced out: plans made there use the indexes at any table size.
// SQLite plans without such a cache and needs nothing.
func (d *DB) PreferIndexes(ctx context.Context) error {
	if d.dialect != DialectPostgres {
		return nil
	}
	if _, err := d.q.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
		return fmt.Errorf("prefer indexes: %w", d.translate(err))
	}
	return nil
}
