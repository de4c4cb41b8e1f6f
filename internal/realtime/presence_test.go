package realtime_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/supportwhatsapp/supportwhatsapp/internal/fanout"
	"github.com/supportwhatsapp/supportwhatsapp/internal/fanout/fanouttest"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/realtime"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

// presenceOf returns the changes an online_status frame reports, in either
// of its shapes: {userId, online}, or {users:[{userId, online}, …]}.
func presenceOf(t testing.TB, fr frame) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	if fr.Event != "online_status" {
		return out
	}
	if list, ok := fr.Data["users"].([]any); ok {
		if _, single := fr.Data["userId"]; single {
			t.Fatalf("online_status with both users and userId: %v", fr.Data)
		}
		for _, e := range list {
			m, _ := e.(map[string]any)
			id, _ := m["userId"].(string)
			online, ok := m["online"].(bool)
			if id == "" || !ok {
				t.Fatalf("online_status entry %v", e)
			}
			if _, dup := out[id]; dup {
				t.Fatalf("online_status lists %s twice", id)
			}
			out[id] = online
		}
		return out
	}
	id, _ := fr.Data["userId"].(string)
	online, ok := fr.Data["online"].(bool)
	if id == "" || !ok || len(fr.Data) != 2 {
		t.Fatalf("online_status %v", fr.Data)
	}
	out[id] = online
	return out
}

// heartbeats publishes, through bus, what another replica with these
// users connected publishes, at once and then every interval until the
// returned stop (a bus between processes may start listening after the
// first).
func heartbeats(t testing.TB, bus fanout.Bus, replica string, users []string, interval time.Duration) (stop func()) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"r": replica, "h": true, "p": users})
	if err != nil {
		t.Fatal(err)
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			if err := bus.Publish(context.Background(), b); err != nil {
				t.Error(err)
				return
			}
			select {
			case <-done:
				return
			case <-time.After(interval):
			}
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			close(done)
			<-stopped
		})
	}
	t.Cleanup(stop) // before the bus closes, should the test end first
	return stop
}

func newIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = helpdesk.NewID()
	}
	return ids
}

// awaitPresence reads c until every user in ids has been reported with
// online, and returns how many online_status frames that took. Other
// changes (the client's own user) may come along.
func awaitPresence(t testing.TB, c *websocket.Conn, ids []string, online bool) int {
	t.Helper()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	frames := 0
	for len(want) > 0 {
		fr := read(t, c)
		if fr.Event != "online_status" {
			continue
		}
		frames++
		for id, on := range presenceOf(t, fr) {
			if want[id] {
				if on != online {
					t.Fatalf("%s reported online=%v, want %v", id, on, online)
				}
				delete(want, id)
			}
		}
	}
	return frames
}

// pingPong proves the socket is still open and everything before is read.
func pingPong(t testing.TB, c *websocket.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"event":"ping"}`)); err != nil {
		t.Fatalf("ping: %v", err)
	}
	for {
		if fr := read(t, c); fr.Event == "pong" {
			return
		}
	}
}

// A heartbeat naming more users than a socket's send queue holds (another
// replica first heard of, or back from a crash), and that replica's death
// after PresenceTTL or its leaving, do not drop a client that reads
// promptly: each is one online_status frame listing every change, whatever
// the number of users, so a socket's queue and the stream's ring take one
// frame for it. On the in-process bus, and on PostgreSQL and Redis with the
// heartbeat published by another replica's bus.
func TestPresenceBurstKeepsPromptClient(t *testing.T) {
	for _, tc := range []struct {
		name    string
		bus     string
		queue   int
		users   int
		leaving bool // the replica says it is leaving, rather than falling silent
	}{
		{"default queue, 400 users", "local", 0, 400, false},
		{"least queue, 2000 users, leaving", "local", 1, 2000, true},
		{"postgres, 400 users", "postgres", 0, 400, false},
		{"redis, 400 users, leaving", "redis", 0, 400, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := realtime.Options{SendQueue: tc.queue, PresenceTTL: time.Second, HeartbeatInterval: 200 * time.Millisecond}
			var other fanout.Bus // the other replica's
			switch tc.bus {
			case "postgres":
				db := storetest.OpenPostgres(t)
				channel := "swa_presence_test_" + strings.ToLower(rand.Text())
				log := slog.New(slog.DiscardHandler)
				o.Bus = fanout.NewPostgres(db.SQL(), db.PostgresURL(), channel, log)
				other = fanout.NewPostgres(db.SQL(), db.PostgresURL(), channel, log)
			case "redis":
				o.Bus, other = fanouttest.RedisPair(t, "swa_presence_test_")
			}
			f := newFixture(t, o)
			if other == nil {
				other = f.bus
			}
			_, tok := f.user("Local")
			c := f.dial(tok)
			remote := newIDs(tc.users)
			stop := heartbeats(t, other, "crashed-replica", remote, 200*time.Millisecond)
			if n := awaitPresence(t, c, remote, true); n > 2 { // its own user's may come first
				t.Errorf("%d users online took %d frames, want one", tc.users, n)
			}
			stop()
			if tc.leaving {
				if err := other.Publish(context.Background(), []byte(`{"r":"crashed-replica","l":true}`)); err != nil {
					t.Fatal(err)
				}
			} // else: no more heartbeats, and after PresenceTTL all of them go offline
			if n := awaitPresence(t, c, remote, false); n != 1 {
				t.Errorf("%d users offline took %d frames, want one", tc.users, n)
			}
			pingPong(t, c)
			for _, id := range remote[:3] {
				if f.hub.Online(id) {
					t.Errorf("%s still online", id)
				}
			}
		})
	}
}

// A presence burst while a user is away stays one event of the stream: a
// reconnect with since resumes past it (rather than resync) and learns it.
func TestResumePastPresenceBurst(t *testing.T) {
	f := newFixture(t, realtime.Options{})
	u, tok := f.user("Away")
	_, watcherTok := f.user("Watcher")
	watcher := f.dial(watcherTok)
	c := f.dial(tok)
	var last uint64
	for {
		fr := read(t, c)
		if fr.Seq > 0 {
			last = fr.Seq
		}
		if presenceOf(t, fr)[u.ID] {
			break // its own coming online: the last event before it leaves
		}
	}
	awaitPresence(t, watcher, []string{u.ID}, true)
	_ = c.Close(websocket.StatusNormalClosure, "")
	awaitPresence(t, watcher, []string{u.ID}, false) // its stream has that event too

	remote := newIDs(400)
	heartbeats(t, f.bus, "other-replica", remote, time.Second)
	awaitPresence(t, watcher, remote, true) // delivered to every stream by now

	back := f.dialQuery(tok, fmt.Sprintf("since=%d", last))
	want := last + 1
	seen := map[string]bool{}
	for len(seen) < len(remote) {
		fr := read(t, back)
		if fr.Event == "resync" {
			t.Fatalf("resync after a presence burst: %v", fr.Data)
		}
		if fr.Seq == 0 {
			continue
		}
		if fr.Seq != want {
			t.Fatalf("seq %d (%s), want %d", fr.Seq, fr.Event, want)
		}
		want++
		for id, on := range presenceOf(t, fr) {
			if id != u.ID {
				if !on {
					t.Fatalf("%s reported offline", id)
				}
				seen[id] = true
			}
		}
	}
}

// Users connecting to this replica one by one (a rolling restart moving
// them here) are told together, not a frame each: hundreds of them would
// otherwise take a client that is away past the events its stream keeps,
// and it would get resync instead of resuming.
func TestLocalConnectsAreToldTogether(t *testing.T) {
	f := newFixture(t, realtime.Options{})
	_, watcherTok := f.user("Watcher")
	watcher := f.dial(watcherTok)
	pingPong(t, watcher)
	const n = 300
	ids := make([]string, n)
	tokens := make([]string, n)
	for i := range n {
		u, tok := f.user(fmt.Sprintf("Agent%d", i))
		ids[i], tokens[i] = u.ID, tok
	}
	for _, tok := range tokens {
		f.dial(tok)
	}
	frames := awaitPresence(t, watcher, ids, true)
	if frames > n/3 {
		t.Fatalf("%d users connecting one by one were told in %d online_status frames, want them grouped", n, frames)
	}
	t.Logf("%d connects told in %d frames", n, frames)
}

// A user who connects and leaves within one presence window is not told at
// all: clients never saw them online, so "offline" would be news of nothing.
func TestFlashVisitIsNotTold(t *testing.T) {
	f := newFixture(t, realtime.Options{PresenceWindow: 2 * time.Second})
	_, watcherTok := f.user("Watcher")
	watcher := f.dial(watcherTok)
	flash, flashTok := f.user("Flash")
	_ = f.dial(flashTok).CloseNow()
	marker, markerTok := f.user("Marker")
	f.dial(markerTok)
	for {
		fr := read(t, watcher)
		p := presenceOf(t, fr)
		if _, told := p[flash.ID]; told {
			t.Fatalf("a visit within one window was told: %v", fr.Data)
		}
		if p[marker.ID] {
			return
		}
	}
}
