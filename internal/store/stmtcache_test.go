package store_test

import (
	"fmt"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

// Queries over a list of values are one statement whatever the list's
// length: the prepared statement cache must not fill with one copy per
// batch size (it is bounded, and once full nothing new is prepared).
func TestListQueriesShareOneStatement(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(testing.TB) *store.DB{"sqlite": storetest.OpenSQLite, "postgres": storetest.OpenPostgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := open(t)
			ctx := t.Context()
			ids := func(n int) []string {
				out := make([]string, n)
				for i := range out {
					out[i] = fmt.Sprintf("id-%d", i)
				}
				return out
			}
			run := func(n int) {
				if _, err := db.StoredWAMIDs(ctx, ids(n)); err != nil {
					t.Fatal(err)
				}
				if _, err := db.MissingDepartments(ctx, ids(n)); err != nil {
					t.Fatal(err)
				}
				viewer := helpdesk.Viewer{UserID: "u", DepartmentIDs: ids(n)}
				statuses := []helpdesk.ConversationStatus{helpdesk.StatusWaiting, helpdesk.StatusOpen, helpdesk.StatusBot}[:1+n%3]
				if _, err := db.ListConversations(ctx, helpdesk.ConversationFilter{Viewer: &viewer, Statuses: statuses}); err != nil {
					t.Fatal(err)
				}
				if _, err := db.RekeyCustomer(ctx, ids(n), ids(n+1), helpdesk.Now()); err != nil {
					t.Fatal(err)
				}
			}
			// One status and several are two shapes of the list query (one
			// status can use the status index): prime both.
			run(1)
			run(3)
			before := db.CachedStatements()
			for n := 2; n <= 40; n++ {
				run(n)
			}
			if after := db.CachedStatements(); after != before {
				t.Errorf("prepared statements grew from %d to %d with the list lengths", before, after)
			}
		})
	}
}
