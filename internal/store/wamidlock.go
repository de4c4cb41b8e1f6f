package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
)

// LockWAMIDs implements helpdesk.IngestStore. On PostgreSQL it takes one
// transaction-scoped advisory lock per wamid, in sorted order and in a
// statement of its own, so that the statements after it see whatever a
// transaction that held one of them committed. Two writers meet on a wamid:
// the ingest of a status (which records it as unknown when the wamid is not
// stored yet) and MarkMessageSent (which stores the wamid and replays the
// unknown statuses). Without the lock each can miss the other's uncommitted
// row and the status is lost. Two ingests of one message meet on it too
// (a redelivery reaching another replica): the second waits, then finds the
// message stored. Outside a transaction, and on SQLite (whose
// single writer serialises them already), it does nothing.
func (d *DB) LockWAMIDs(ctx context.Context, wamids []string) error {
	if d.dialect != DialectPostgres || d.tx == nil || len(wamids) == 0 {
		return nil
	}
	keys := make([]int64, 0, len(wamids))
	for _, w := range wamids {
		keys = append(keys, wamidLockKey(w))
	}
	// Sorted keys: two transactions locking overlapping sets take them in
	// the same order and cannot deadlock. unnest returns them in array
	// order.
	slices.Sort(keys)
	keys = slices.Compact(keys)
	rows, err := d.q.QueryContext(ctx, "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k", keys)
	if err != nil {
		return fmt.Errorf("lock wamids: %w", d.translate(err))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("lock wamids: %w", d.translate(err))
	}
	return nil
}

// wamidLockKey is the advisory lock key of a wamid: a 64-bit hash in a
// namespace of its own (a collision only makes two wamids share a lock).
func wamidLockKey(wamid string) int64 {
	h := fnv.New64a()
	h.Write([]byte("supportwhatsapp wamid "))
	h.Write([]byte(wamid))
	return int64(h.Sum64())
}
