package jobs_test

import (
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/jobs"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

// TestInboxRetention: the job deletes processed entries past the retention
// and keeps unrouted, partial and recent ones; a retention of 0 keeps all.
func TestInboxRetention(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *store.DB{"sqlite": storetest.OpenSQLite, "postgres": storetest.OpenPostgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, ctx := open(t), t.Context()
			now := time.Now().UTC()
			old := now.Add(-31 * 24 * time.Hour)
			var entries []helpdesk.InboxEntry
			for _, e := range []struct {
				status string
				at     time.Time
			}{
				{helpdesk.InboxProcessed, old}, {helpdesk.InboxUnrouted, old}, {helpdesk.InboxPartial, old},
				{helpdesk.InboxProcessed, now.Add(-29 * 24 * time.Hour)},
			} {
				entries = append(entries, helpdesk.InboxEntry{ID: helpdesk.NewID(), BodySHA256: "x", Body: []byte("{}"), Status: e.status, ReceivedAt: e.at})
			}
			if err := db.InsertInboxEntries(ctx, entries); err != nil {
				t.Fatal(err)
			}
			in := helpdesk.NewIngester(db, helpdesk.IngesterOptions{})
			defer in.Close()
			inbox := helpdesk.NewInbox(helpdesk.NewService(db, nil, nil, nil), in, nil, "")
			remaining := func() int {
				es, err := db.ListInboxEntries(ctx, helpdesk.InboxFilter{Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				return len(es)
			}
			keepAll := &jobs.InboxRetentionWorker{Inbox: inbox, Retention: 0}
			if err := keepAll.Work(ctx, &river.Job[jobs.InboxRetentionArgs]{}); err != nil || remaining() != 4 {
				t.Fatalf("retention 0: %d entries left (%v), want 4", remaining(), err)
			}
			w := &jobs.InboxRetentionWorker{Inbox: inbox, Retention: 30 * 24 * time.Hour}
			if err := w.Work(ctx, &river.Job[jobs.InboxRetentionArgs]{}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.GetInboxEntry(ctx, entries[0].ID); err == nil {
				t.Error("the old processed entry was kept")
			}
			for _, e := range entries[1:] {
				if _, err := db.GetInboxEntry(ctx, e.ID); err != nil {
					t.Errorf("%s entry received %s was deleted: %v", e.Status, e.ReceivedAt, err)
				}
			}
		})
	}
}

// TestInboxReplaySecondPass: a live webhook whose transaction read the
// channels before the change committed can commit its body, unrouted,
// after the first replay listed the number's entries (PostgreSQL); a
// second replay runs once every such transaction has ended.
func TestInboxReplaySecondPass(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *store.DB{"sqlite": storetest.OpenSQLite, "postgres": storetest.OpenPostgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, ctx := open(t), t.Context()
			workers := river.NewWorkers()
			river.AddWorker(workers, &jobs.InboxReplayWorker{})
			q, err := jobs.Open(ctx, db, jobs.Config{Workers: workers})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(q.Close)
			before := time.Now()
			err = db.InTx(ctx, func(tx helpdesk.Store) error {
				return jobs.Enqueuer{Queue: q}.EnqueueInboxReplay(ctx, tx, "5550000001", "", "test")
			})
			if err != nil {
				t.Fatal(err)
			}
			res, err := q.Client().JobList(ctx, river.NewJobListParams().Kinds(jobs.InboxReplayArgs{}.Kind()).States(rivertype.JobStateAvailable, rivertype.JobStateScheduled))
			if err != nil {
				t.Fatal(err)
			}
			var now, later int
			for _, j := range res.Jobs {
				switch {
				case j.ScheduledAt.After(before.Add(helpdesk.MaxIngestTransaction)):
					later++
				case j.ScheduledAt.Before(time.Now().Add(time.Second)):
					now++
				}
			}
			if len(res.Jobs) != 2 || now != 1 || later != 1 {
				t.Errorf("%d replay jobs, %d now and %d after the longest ingest transaction; want one of each", len(res.Jobs), now, later)
			}
		})
	}
}
