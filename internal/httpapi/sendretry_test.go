package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
)

// timedGraphFake is a graphFake that also notes when each send request
// came. Started on ln when it is not nil.
func timedGraphFake(t *testing.T, ln net.Listener) (*graphFake, func() []time.Time) {
	t.Helper()
	g := &graphFake{sent: make(chan string, 100), media: map[string][]byte{}}
	var mu sync.Mutex
	var at []time.Time
	g.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/messages") && !bytes.Contains(body, []byte(`"status":"read"`)) {
			mu.Lock()
			at = append(at, time.Now())
			mu.Unlock()
		}
		g.serve(w, r)
	}))
	t.Cleanup(g.srv.Close)
	if ln != nil {
		g.srv.Listener.Close()
		g.srv.Listener = ln
	}
	g.srv.Start()
	return g, func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Time(nil), at...)
	}
}

// sendJobMetadata is the metadata River kept on the message's send job.
func sendJobMetadata(t *testing.T, e *testEnv) map[string]any {
	t.Helper()
	res, err := e.srv.Jobs.Client().JobList(t.Context(), river.NewJobListParams().Kinds("whatsapp_send"))
	if err != nil || len(res.Jobs) != 1 {
		t.Fatalf("send jobs: %v, %v", res, err)
	}
	var md map[string]any
	if err := json.Unmarshal(res.Jobs[0].Metadata, &md); err != nil {
		t.Fatalf("send job metadata %s: %v", res.Jobs[0].Metadata, err)
	}
	return md
}

// TestThrottledSendBacksOff: Meta throttles a reply three times (130429).
// The retries come after about 1, 2 and 4 s — the delay doubles — instead
// of every 2 s (River gives a snooze its attempt back, so the attempt count
// never grew), and the reply is sent once.
func TestThrottledSendBacksOff(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			g, attempts := timedGraphFake(t, nil)
			e := newTestEnv(t, eng.open(t), newDeliveryEnv(t, g, nil))
			if err := e.srv.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			admin := e.admin()
			conv := e.customerWrites(admin.access, "5511944440101", "wamid.th1", "oi", time.Now())
			g.fail(3, 400, 130429, "(#130429) Rate limit hit")
			m := e.mustStatus(e.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": conv, "text": "Já respondo"}), 202).json(t)
			waitStatus(t, e, admin.access, conv, m["id"].(string), "sent")
			at := attempts()
			if len(at) != 4 || g.sendCount() != 1 {
				t.Fatalf("Graph got %d send requests and accepted %d, want 4 and 1", len(at), g.sendCount())
			}
			// Lower bounds only: a loaded machine may run a retry late, never early.
			for i, least := range []time.Duration{800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond} {
				if gap := at[i+1].Sub(at[i]); gap < least {
					t.Errorf("throttled retry %d came %v after the refusal, want at least %v (the delay doubles from 1 s)", i+1, gap, least)
				}
			}
			if n := sendJobMetadata(t, e)["throttled_retries"]; n != 3.0 {
				t.Errorf("send job counted %v throttled retries, want 3", n)
			}
		})
	}
}

// TestPairRateLimitWaitsSixSeconds: 131056 (the business–user pair limit)
// asks for at least 6 s before writing to that customer again.
func TestPairRateLimitWaitsSixSeconds(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			g, attempts := timedGraphFake(t, nil)
			e := newTestEnv(t, eng.open(t), newDeliveryEnv(t, g, nil))
			if err := e.srv.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			admin := e.admin()
			conv := e.customerWrites(admin.access, "5511944440102", "wamid.th2", "oi", time.Now())
			g.fail(1, 400, 131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit")
			m := e.mustStatus(e.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": conv, "text": "Um momento"}), 202).json(t)
			waitStatus(t, e, admin.access, conv, m["id"].(string), "sent")
			at := attempts()
			if len(at) != 2 || g.sendCount() != 1 {
				t.Fatalf("Graph got %d send requests and accepted %d, want 2 and 1", len(at), g.sendCount())
			}
			if gap := at[1].Sub(at[0]); gap < 6*time.Second {
				t.Errorf("retry after 131056 came %v later, want at least 6 s", gap)
			}
		})
	}
}

// TestSendRetriesAtOnceWhenGraphWasUnreachable: the first send finds
// nobody listening at the Graph API (connection refused), so the request
// provably never reached Meta. The retry must send at once instead of
// waiting 2 minutes for a status about a message Meta never saw; and it
// sends once.
func TestSendRetriesAtOnceWhenGraphWasUnreachable(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close() // Graph is down
			// The fake starts at that address after the first send failed.
			env := newDeliveryEnv(t, &graphFake{srv: &httptest.Server{URL: "http://" + addr}}, nil)
			e := newTestEnv(t, eng.open(t), env)
			failed, cancel := e.srv.Jobs.Client().Subscribe(river.EventKindJobFailed)
			defer cancel()
			if err := e.srv.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			admin := e.admin()
			conv := e.customerWrites(admin.access, "5511944440103", "wamid.nr1", "oi", time.Now())
			m := e.mustStatus(e.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": conv, "text": "Voltamos"}), 202).json(t)
			id := m["id"].(string)
		wait:
			for {
				select {
				case ev := <-failed:
					if ev.Job.Kind == "whatsapp_send" {
						if len(ev.Job.Errors) == 0 || !strings.Contains(ev.Job.Errors[0].Error, "refused") {
							t.Fatalf("first send failed with %+v, want connection refused", ev.Job.Errors)
						}
						break wait
					}
				case <-time.After(15 * time.Second):
					t.Fatal("the first send never failed")
				}
			}

			ln, err = net.Listen("tcp", addr) // Graph is back
			if err != nil {
				t.Fatalf("reopen the Graph address: %v", err)
			}
			g, attempts := timedGraphFake(t, ln)
			// The retry comes about a second later; 15 s is far below the
			// 2 minutes an unanswered request waits for its status.
			if !eventuallyStatus(t, e, admin.access, conv, id, "sent", 15*time.Second) {
				t.Fatal("the message was not sent within 15 s of Graph coming back")
			}
			if n, reqs := g.sendCount(), len(attempts()); n != 1 || reqs != 1 {
				t.Errorf("Graph got %d send requests and accepted %d, want 1 and 1", reqs, n)
			}
		})
	}
}

// eventuallyStatus polls the API until message msgID has status want, for
// at most within.
func eventuallyStatus(t *testing.T, e *testEnv, token, convID, msgID, want string, within time.Duration) bool {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, m := range e.mustStatus(e.call("GET", "/api/v1/messages?conversationId="+convID, token, nil), 200).json(t)["data"].([]any) {
			if mm := m.(map[string]any); mm["id"] == msgID && mm["status"] == want {
				return true
			}
		}
	}
	return false
}

// TestSendLeftRunningByADeadProcessIsRescued: a process killed while its
// send was in flight leaves the job `running`, with the request's
// send_attempted_at. The next process must take the job back within
// minutes, not River's default hour past the job timeout, and send it.
// River's rescuer runs once when its client becomes leader and then every
// 30 s, so a job abandoned 3 minutes ago (past the 2-minute timeout and
// its 30 s margin) is rescued at the new process's start.
func TestSendLeftRunningByADeadProcessIsRescued(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			g := newGraphFake(t)
			db := eng.open(t)
			env := newDeliveryEnv(t, g, nil)
			first := newTestEnv(t, db, env) // its workers never run
			admin := first.admin()
			conv := first.customerWrites(admin.access, "5511944440104", "wamid.rs1", "oi", time.Now())
			m := first.mustStatus(first.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": conv, "text": "Quase lá"}), 202).json(t)
			id := m["id"].(string)
			first.http.Close()
			if err := first.srv.Close(); err != nil {
				t.Fatal(err)
			}

			// What the killed process left: the job running since 3 minutes
			// ago, and its request in flight (no answer recorded).
			ctx := t.Context()
			killedAt := time.Now().Add(-3 * time.Minute).UTC()
			var exec riverdriver.Executor
			if db.Dialect() == store.DialectSQLite {
				exec = riversqlite.New(db.SQL()).GetExecutor()
			} else {
				exec = riverdatabasesql.New(db.SQL()).GetExecutor()
			}
			var jobID int64
			if err := db.SQL().QueryRowContext(ctx, "SELECT id FROM river_job WHERE kind = 'whatsapp_send'").Scan(&jobID); err != nil {
				t.Fatal(err)
			}
			if _, err := exec.JobUpdateFull(ctx, &riverdriver.JobUpdateFullParams{ID: jobID,
				StateDoUpdate: true, State: rivertype.JobStateRunning,
				AttemptDoUpdate: true, Attempt: 1,
				AttemptedAtDoUpdate: true, AttemptedAt: &killedAt,
				AttemptedByDoUpdate: true, AttemptedBy: []string{"killed-process"}}); err != nil {
				t.Fatal(err)
			}
			if err := db.SetSendAttempt(ctx, id, &killedAt); err != nil {
				t.Fatal(err)
			}

			second := newTestEnv(t, db, env)
			if err := second.srv.Start(ctx); err != nil {
				t.Fatal(err)
			}
			tok := second.login("admin@suporte.com", "NewAdmin@2024")
			if !eventuallyStatus(t, second, tok.access, conv, id, "sent", 20*time.Second) {
				t.Fatal("the abandoned send was not retried within 20 s of the new process starting")
			}
			if n := g.sendCount(); n != 1 {
				t.Errorf("Graph accepted %d sends, want 1", n)
			}
		})
	}
}
