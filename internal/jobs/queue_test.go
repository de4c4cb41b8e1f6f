package jobs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/jobs"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

type echoArgs struct {
	Word string `json:"word"`
}

func (echoArgs) Kind() string { return "test_echo" }

type echoWorker struct {
	river.WorkerDefaults[echoArgs]
	done chan string
}

func (w *echoWorker) Work(ctx context.Context, job *river.Job[echoArgs]) error {
	w.done <- job.Args.Word
	return nil
}

func TestInsertTxRunsOnlyCommittedJobs(t *testing.T) {
	for _, eng := range []struct {
		name string
		open func(testing.TB) *store.DB
	}{{"sqlite", storetest.OpenSQLite}, {"postgres", storetest.OpenPostgres}} {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			db := eng.open(t)
			ctx := t.Context()
			w := &echoWorker{done: make(chan string, 4)}
			workers := river.NewWorkers()
			river.AddWorker(workers, w)
			q, err := jobs.Open(ctx, db, jobs.Config{Workers: workers, PollInterval: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(q.Close)
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = q.Stop(context.Background()) })

			boom := errors.New("boom")
			err = db.InTx(ctx, func(tx helpdesk.Store) error {
				if err := q.InsertTx(ctx, tx, echoArgs{Word: "rolled back"}, nil); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatal(err)
			}
			err = db.InTx(ctx, func(tx helpdesk.Store) error { return q.InsertTx(ctx, tx, echoArgs{Word: "committed"}, nil) })
			if err != nil {
				t.Fatal(err)
			}
			if err := q.InsertTx(ctx, db, echoArgs{Word: "no tx"}, nil); err == nil {
				t.Error("InsertTx outside a transaction succeeded")
			}
			select {
			case got := <-w.done:
				if got != "committed" {
					t.Fatalf("worked %q, want the committed job", got)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("committed job never ran")
			}
			// The queue is drained: the rolled-back job does not exist.
			var n int
			if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM river_job WHERE kind = 'test_echo'").Scan(&n); err != nil || n != 1 {
				t.Errorf("river_job rows = %d (%v), want 1", n, err)
			}
		})
	}
}
