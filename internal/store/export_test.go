package store

import (
	"context"
	"strings"
)

// CachedStatements is how many prepared statements d's cache holds.
func (d *DB) CachedStatements() int {
	d.stmts.mu.Lock()
	defer d.stmts.mu.Unlock()
	return len(d.stmts.stmts)
}

// SetSearchThresholds makes every search take the paths meant for common
// words and names: probe is the most matches answered from their list
// (SQLite, and PostgreSQL below trust), trust the planner estimate from
// which PostgreSQL plans alone. It returns the restore function; tests
// using it must not run in parallel with other searches.
func SetSearchThresholds(probe int, trust float64) (restore func()) {
	p, r := ftsProbeLimit, plannerTrustRows
	ftsProbeLimit, plannerTrustRows = probe, trust
	return func() { ftsProbeLimit, plannerTrustRows = p, r }
}

// Plan is PostgreSQL's EXPLAIN of query inside a transaction, after
// StartGroupCommit's planner setting when prefer is set.
func (d *DB) Plan(ctx context.Context, prefer bool, query string) (string, error) {
	var plan strings.Builder
	err := d.inTx(ctx, func(tx *DB) error {
		if prefer {
			if _, err := tx.StartGroupCommit(ctx, nil, nil, nil); err != nil {
				return err
			}
		}
		rows, err := tx.tx.QueryContext(ctx, "EXPLAIN "+query)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			plan.WriteString(line + "\n")
		}
		return rows.Err()
	})
	return plan.String(), err
}

// QueuedOutboundBeforeQuery is the statement of QueuedOutboundBefore, for
// plan checks.
const QueuedOutboundBeforeQuery = queuedOutboundBeforeQuery
