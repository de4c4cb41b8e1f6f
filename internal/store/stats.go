package store

import (
	"context"
	"fmt"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// PeriodCounts implements helpdesk.PeriodStatsStore in two statements,
// each a range over a time index (migration 00019): conversations by
// created_at, messages by (created_at, direction), closed conversations by
// closed_at. The closed ones are summed in the database, grouped by
// assignee and score, so the rows read back are a handful per agent
// whatever the period holds.
func (d *DB) PeriodCounts(ctx context.Context, from, to time.Time) (helpdesk.PeriodCounts, error) {
	var out helpdesk.PeriodCounts
	f, t := dbTime(from), dbTime(to)
	if err := d.q.QueryRowContext(ctx, periodCountsQuery, f, t).Scan(&out.Opened, &out.Received, &out.Sent); err != nil {
		return helpdesk.PeriodCounts{}, fmt.Errorf("period counts: %w", d.translate(err))
	}
	rows, err := d.q.QueryContext(ctx, periodClosedQuery(d.dialect), f, t)
	if err != nil {
		return helpdesk.PeriodCounts{}, fmt.Errorf("period closed: %w", d.translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		var g helpdesk.ClosedGroup
		if err := rows.Scan(&g.AssigneeID, &g.AssigneeName, &g.CSATScore, &g.Count, &g.HandleMillis); err != nil {
			return helpdesk.PeriodCounts{}, fmt.Errorf("period closed: %w", d.translate(err))
		}
		out.Closed = append(out.Closed, g)
	}
	return out, d.rowsErr(rows, "period closed")
}

// One walk of the messages' range counts both directions.
const periodCountsQuery = `SELECT
	(SELECT COUNT(*) FROM conversations WHERE created_at >= $1 AND created_at < $2),
	COALESCE(SUM(CASE WHEN direction = 'inbound' THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN direction = 'outbound' THEN 1 ELSE 0 END), 0)
	FROM messages WHERE created_at >= $1 AND created_at < $2`

// periodClosedQuery sums handle times in milliseconds, each clamped at
// zero as Stats does. SQLite reads its timestamp text with julianday, a
// double of days precise to well under a millisecond. No status = 'closed':
// only closing sets closed_at and reopening clears it, and on SQLite that
// equality would steer the planner to conversations_queue_idx, which walks
// every closed conversation ever.
func periodClosedQuery(dialect string) string {
	handle := "GREATEST(EXTRACT(EPOCH FROM c.closed_at - c.created_at) * 1000, 0)"
	if dialect == DialectSQLite {
		handle = "MAX((julianday(c.closed_at) - julianday(c.created_at)) * 86400000.0, 0)"
	}
	return `SELECT COALESCE(c.assignee_id, ''), COALESCE(MAX(u.name), ''),
	COALESCE(c.csat_score, 0), COUNT(*), CAST(ROUND(SUM(` + handle + `)) AS BIGINT)
	FROM conversations c LEFT JOIN users u ON u.id = c.assignee_id
	WHERE c.closed_at >= $1 AND c.closed_at < $2
	GROUP BY c.assignee_id, c.csat_score`
}
