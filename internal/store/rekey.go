package store

import (
	"context"
	"fmt"
	"time"
)

// RekeyCustomer implements helpdesk.IngestStore: the customer known under
// any of oldWAIDs is known as newWAID from now on (WhatsApp's
// user_changed_number). Nothing changes, and false is returned, when no
// customer has an old form or when another customer already has the new
// number: merging two customers' histories is a person's decision. Should
// legacy data hold both Brazilian forms as two customers, the older moves.
func (d *DB) RekeyCustomer(ctx context.Context, oldWAIDs, newWAIDs []string, now time.Time) (bool, error) {
	if len(oldWAIDs) == 0 || len(newWAIDs) == 0 {
		return false, nil
	}
	var p params
	newID, at := p.add(newWAIDs[0]), p.add(dbTime(now))
	res, err := d.q.ExecContext(ctx, `UPDATE customers SET wa_id = `+newID+`, updated_at = `+at+`
		WHERE id = (SELECT id FROM customers WHERE wa_id `+p.anyOf(d.dialect, oldWAIDs)+` ORDER BY created_at, id LIMIT 1)
		AND NOT EXISTS (SELECT 1 FROM customers o WHERE o.wa_id `+p.anyOf(d.dialect, newWAIDs)+`)`, p...)
	if err != nil {
		return false, fmt.Errorf("rekey customer: %w", d.translate(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("rekey customer: %w", err)
	}
	return n > 0, nil
}
