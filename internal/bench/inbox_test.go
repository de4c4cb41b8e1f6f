package bench_test

import (
	"context"
	"crypto/rand"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/bench"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
)

// A tiny inbox: every case is measured for both roles, and the searches
// find the generated customers and messages (accents folded) — not
// timings.
func TestInboxSmallRun(t *testing.T) {
	for _, eng := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(*testing.T) string { return "" }},
		{"postgres", postgresSchemaURL},
	} {
		t.Run(eng.name, func(t *testing.T) {
			res, err := bench.Inbox(t.Context(), bench.InboxOptions{DatabaseURL: eng.url(t), Conversations: 300, Messages: 2400,
				Requests: 3, PageSize: 2, Out: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			if res.Generation <= 0 || res.Conversations != 300 || res.Messages != 2400 {
				t.Errorf("result = %+v", res)
			}
			rows := map[string]int{}
			for _, c := range res.Cases {
				rows[c.Role+"/"+c.Case] = c.Rows
				if c.Requests != 3 || c.P50 <= 0 || c.P50 > c.P95 || c.P95 > c.P99 || c.Target() <= 0 {
					t.Errorf("%s/%s: %+v", c.Role, c.Case, c)
				}
			}
			if len(res.Cases) != 34 {
				t.Errorf("%d cases, want 17 per role", len(res.Cases))
			}
			for _, c := range []string{"first page", "next pages by cursor", "q: name, unaccented", "q: name, accented", "q: phone fragment",
				"q: common word", "q: common words, unaccented", "q: common words, accented", "q: rare word, unaccented", "q: rare word, accented"} {
				if rows["supervisor/"+c] == 0 {
					t.Errorf("supervisor, %s: found nothing", c)
				}
			}
			if n := rows["supervisor/q: no match"]; n != 0 {
				t.Errorf("no match found %d", n)
			}
			if rows["agent/assigneeId=me"] == 0 || rows["supervisor/assigneeId=me"] != 0 {
				t.Errorf("assigneeId=me: agent %d, supervisor %d", rows["agent/assigneeId=me"], rows["supervisor/assigneeId=me"])
			}
		})
	}
}

// postgresSchemaURL is TEST_DATABASE_URL with a fresh schema of its own as
// search path, dropped after the test; the test is skipped without it.
func postgresSchemaURL(t *testing.T) string {
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	admin, err := store.Open(t.Context(), base, nil)
	if err != nil {
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	schema := "benchtest_" + strings.ToLower(rand.Text())
	if _, err := admin.SQL().ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.SQL().ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
