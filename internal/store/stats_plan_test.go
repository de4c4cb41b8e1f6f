package store_test

import (
	"strings"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

// The period figures are ranges over the 00019 time indexes, never a walk
// of the conversations or messages table, on either engine. On PostgreSQL
// sequential scans are disabled so the plan shows whether an index can
// serve each range at all (on empty tables the planner would scan them
// anyway).
func TestPeriodStatsUseIndexes(t *testing.T) {
	t.Parallel()
	for _, eng := range []struct {
		name     string
		open     func(testing.TB) *store.DB
		from, to string
	}{
		{"sqlite", storetest.OpenSQLite, "'2026-03-10 03:00:00+00:00'", "'2026-03-11 03:00:00+00:00'"},
		{"postgres", storetest.OpenPostgres, "'2026-03-10 03:00:00+00'::timestamptz", "'2026-03-11 03:00:00+00'::timestamptz"},
	} {
		t.Run(eng.name, func(t *testing.T) {
			db := eng.open(t)
			tx, err := db.SQL().BeginTx(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback() }()
			explain := "EXPLAIN QUERY PLAN "
			if eng.name == "postgres" {
				explain = "EXPLAIN "
				if _, err := tx.ExecContext(t.Context(), "SET LOCAL enable_seqscan = off"); err != nil {
					t.Fatal(err)
				}
			}
			var plans strings.Builder
			for _, q := range store.PeriodQueries(db.Dialect()) {
				q = strings.NewReplacer("$1", eng.from, "$2", eng.to).Replace(q)
				rows, err := tx.QueryContext(t.Context(), explain+q)
				if err != nil {
					t.Fatal(err)
				}
				cols, _ := rows.Columns()
				for rows.Next() {
					vals := make([]any, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					if err := rows.Scan(ptrs...); err != nil {
						t.Fatal(err)
					}
					plans.WriteString(fmtRow(vals[len(vals)-1]) + "\n")
				}
				if err := rows.Close(); err != nil {
					t.Fatal(err)
				}
			}
			plan := plans.String()
			for _, idx := range []string{"conversations_created_idx", "conversations_closed_idx", "messages_created_idx"} {
				if !strings.Contains(plan, idx) {
					t.Errorf("plan does not use %s:\n%s", idx, plan)
				}
			}
			for _, scan := range []string{"Seq Scan on conversations", "Seq Scan on messages", "SCAN conversations", "SCAN messages", "SCAN c\n"} {
				if strings.Contains(plan, scan) {
					t.Errorf("plan walks a table (%q):\n%s", scan, plan)
				}
			}
		})
	}
}

func fmtRow(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}
