package httpapi_test

import (
	"context"
	"log/slog"
	"maps"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/fanout"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

// TestWSAcrossReplicas runs two server instances on one PostgreSQL
// database, their events crossing through PostgreSQL LISTEN/NOTIFY and,
// with TEST_REDIS_URL, through Redis: a webhook received by one reaches a
// socket held by the other, and both see the same people online.
func TestWSAcrossReplicas(t *testing.T) {
	for _, bus := range []string{"postgres", "redis"} {
		t.Run(bus, func(t *testing.T) {
			t.Parallel()
			env := maps.Clone(webhookEnv)
			if bus == "redis" {
				u := os.Getenv("TEST_REDIS_URL")
				if u == "" {
					if os.Getenv("CI") == "true" {
						t.Fatal("TEST_REDIS_URL is not set (CI=true: the Redis tests must run)")
					}
					t.Skip("TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0); skipping the Redis replicas")
				}
				env["REDIS_URL"] = u
			}
			db1 := storetest.OpenPostgres(t)
			db2, err := store.Open(context.Background(), db1.PostgresURL(), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db2.Close() })
			if bus == "redis" {
				var schema string
				if err := db1.SQL().QueryRow("SELECT current_schema()").Scan(&schema); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if r, err := fanout.NewRedis(env["REDIS_URL"], "supportwhatsapp:fanout_"+schema, slog.New(slog.DiscardHandler)); err == nil {
						_ = r.Delete(context.Background())
						_ = r.Close()
					}
				})
			}
			one, two := newTestEnv(t, db1, env), newTestEnv(t, db2, env)

			admin := one.admin()
			one.useSuporte(admin.access)
			ana, _ := one.newUser(admin.access, helpdesk.RoleAgent, "Suporte")
			watcher := one.dialWS("token=" + admin.access)
			watcher.next("hello", nil)
			anaWS := two.dialWS("token=" + ana.access)
			anaWS.next("hello", nil)

			// Ana connected to replica two: replica one tells its sockets
			// and lists her online.
			watcher.next("online_status", presenceIs(ana.userID, true))
			for _, e := range []*testEnv{one, two} {
				eventually(t, "both users online on "+e.http.URL, func() bool {
					ids := onlineOn(e, admin.access)
					return ids[ana.userID] && ids[admin.userID]
				})
			}

			// A webhook received by replica one reaches Ana's socket on two.
			one.customerSays("5511966665555", "Bom dia")
			f := anaWS.next("new_message", nil)
			if f.Data["message"].(map[string]any)["text"] != "Bom dia" {
				t.Errorf("new_message on replica two = %v", f.Data)
			}
			bomDia := func(f wsFrame) bool {
				c, _ := f.Data["conversation"].(map[string]any)
				return f.Event == "conversation_update" && f.Data["action"] == "created" && c["lastMessage"] == "Bom dia"
			}
			watcher.next("conversation_update", bomDia) // replica one's own socket, without the bus

			// She leaves: offline on both.
			_ = anaWS.conn.CloseNow()
			watcher.next("online_status", presenceIs(ana.userID, false))
			for _, e := range []*testEnv{one, two} {
				eventually(t, "Ana offline on "+e.http.URL, func() bool { return !onlineOn(e, admin.access)[ana.userID] })
			}
			// Replica two announced her leaving after it had "Bom dia" from
			// the bus, so on replica one the bus's copy of its own event would
			// have come before that: the watcher got the new conversation once.
			if n := len(slices.DeleteFunc(slices.Clone(watcher.seen), func(f wsFrame) bool { return !bomDia(f) })); n != 1 {
				t.Errorf("replica one's socket got its own conversation_update %d times, want 1", n)
			}
		})
	}
}

// eventually polls cond until it holds, failing after a generous deadline
// (presence crosses replicas asynchronously).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wsWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func onlineOn(e *testEnv, token string) map[string]bool {
	e.t.Helper()
	ids := map[string]bool{}
	for _, u := range e.mustStatus(e.call("GET", "/api/v1/users/online", token, nil), 200).json(e.t)["data"].([]any) {
		ids[u.(map[string]any)["id"].(string)] = true
	}
	return ids
}
