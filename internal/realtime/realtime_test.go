package realtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/supportwhatsapp/supportwhatsapp/internal/auth"
	"github.com/supportwhatsapp/supportwhatsapp/internal/fanout"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/realtime"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

// fixture is a hub on a real SQLite store and auth service, served by an
// httptest server; clients authenticate with their first frame.
type fixture struct {
	t    testing.TB
	db   *store.DB
	auth *auth.Service
	bus  *fanout.Local
	hub  *realtime.Hub
	srv  *httptest.Server
}

func newFixture(t testing.TB, o realtime.Options) *fixture {
	db := storetest.OpenSQLite(t)
	svc := auth.NewService(db, auth.Config{AccessSecret: "access-secret-for-tests-0123456789", RefreshSecret: "refresh-secret-for-tests-0123456789",
		AccessTTL: time.Hour, RefreshTTL: time.Hour, BcryptCost: 4, Log: slog.New(slog.DiscardHandler)})
	bus := fanout.NewLocal(64)
	if o.Bus == nil {
		o.Bus = bus
	}
	o.Auth, o.Store = svc, db
	hub := realtime.New(o)
	hub.Start()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hub.ServeWS(w, r, nil) }))
	t.Cleanup(func() {
		hub.Close()
		srv.Close()
	})
	return &fixture{t: t, db: db, auth: svc, bus: bus, hub: hub, srv: srv}
}

func (f *fixture) user(name string) (helpdesk.User, string) {
	f.t.Helper()
	now := helpdesk.Now()
	u := helpdesk.User{ID: helpdesk.NewID(), Name: name, Email: strings.ToLower(name) + "@example.com", PasswordHash: "x",
		Role: helpdesk.RoleAgent, Active: true, MaxConversations: 5, CreatedAt: now, UpdatedAt: now}
	if err := f.db.CreateUser(context.Background(), u); err != nil {
		f.t.Fatal(err)
	}
	tok, err := f.auth.IssueAccessToken(u.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return u, tok
}

type frame struct {
	Event string         `json:"event"`
	Seq   uint64         `json:"seq"`
	Data  map[string]any `json:"data"`
}

// dial connects and authenticates, returning the socket after its hello.
func (f *fixture) dial(token string) *websocket.Conn {
	f.t.Helper()
	return f.dialQuery(token, "")
}

// dialQuery is dial with a query (since, stream).
func (f *fixture) dialQuery(token, query string) *websocket.Conn {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(f.srv.URL, "http")
	if query != "" {
		u += "?" + query
	}
	c, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	f.t.Cleanup(func() { _ = c.CloseNow() })
	b, _ := json.Marshal(map[string]any{"event": "auth", "data": map[string]string{"token": token}})
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		f.t.Fatal(err)
	}
	if fr := read(f.t, c); fr.Event != "hello" {
		f.t.Fatalf("first frame %v, want hello", fr)
	}
	return c
}

func read(t testing.TB, c *websocket.Conn) frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var fr frame
	if err := json.Unmarshal(b, &fr); err != nil {
		t.Fatal(err)
	}
	return fr
}

// A client that stops reading is dropped once its bounded queue is full;
// the events it could not take are not kept for it, and it is offline.
// (The queue is raised to its least size; the events outnumber what the
// kernel's socket buffers absorb and the queue together, so the queue, not
// the write timeout, drops the client.)
func TestSlowClientIsDropped(t *testing.T) { testSlowClientIsDropped(t, 0) }

func testSlowClientIsDropped(t *testing.T, presenceWindow time.Duration) {
	// No pings while the test floods: a client that reads nothing answers
	// none, and a drop for a missing pong (of the slow client, or of the
	// watcher, which reads nothing meanwhile either) is not the queue's.
	f := newFixture(t, realtime.Options{SendQueue: 4, Ring: 4, PingInterval: time.Hour, PongTimeout: time.Hour,
		PresenceWindow: presenceWindow})
	slow, slowTok := f.user("Slow")
	watcher, watcherTok := f.user("Watcher")
	_ = watcher
	// The watcher connects first: presence is told to the sockets connected
	// when its window closes (hello does not carry it), so a watcher that
	// came later than one window after the slow one would never hear of it.
	w := f.dial(watcherTok)
	c := f.dial(slowTok)
	// The watcher hears of the slow one first: a user who comes and goes
	// within one presence window is never told at all.
	for {
		if on, ok := presenceOf(t, read(t, w))[slow.ID]; ok && on {
			break
		}
	}

	conv := helpdesk.Conversation{ID: helpdesk.NewID(), AssigneeID: slow.ID}
	big := strings.Repeat("x", 16<<10)
	// Frames go on until the hub gives up on the client: how many the
	// kernel's socket buffers absorb first depends on the machine (Linux
	// grows a receive buffer up to tcp_rmem's maximum, 32 MB on some).
	// The queue must drop it before a stuck write could (writeTimeout, 10 s,
	// bounds one between 5 and 10 s): 4 s of flooding is far more than any
	// socket buffer takes, and keeps a hub that queues without bound from
	// taking gigabytes of memory before the test fails, as does the count.
	const most = 20_000 // 320 MB: ten times the largest receive buffer (32 MB) and any send buffer
	deadline := time.Now().Add(4 * time.Second)
	sent := 0
	for ; sent < most && f.hub.Online(slow.ID); sent++ {
		if time.Now().After(deadline) {
			t.Fatalf("the client that reads nothing is still connected after %d frames of 16 KB in 4 s: its queue did not drop it", sent)
		}
		f.hub.MessageStored(context.Background(), conv, helpdesk.Message{ID: helpdesk.NewID(), ConversationID: conv.ID, Text: fmt.Sprint(sent, big)})
	}
	if sent == most {
		t.Fatalf("the client that reads nothing is still connected after %d frames of 16 KB", most)
	}
	// The watcher sees the slow one go offline.
	for {
		if on, ok := presenceOf(t, read(t, w))[slow.ID]; ok && !on {
			break
		}
	}
	if f.hub.Online(slow.ID) {
		t.Error("the dropped client's user is still online")
	}
	// What reached the slow client before the drop is far less than was
	// sent: nothing piled up for it.
	got := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, _, err := c.Read(ctx)
		cancel()
		if err != nil {
			break
		}
		got++
	}
	if got >= sent {
		t.Errorf("slow client got all %d frames; want it dropped", got)
	}
}

// The slow-client test must not depend on the watcher connecting within
// one presence window of the slow client (100 ms; a loaded machine or the
// race detector can take longer between two dials): presence is told only
// to the sockets connected when the window closes, and hello does not
// carry it, so a watcher that arrives later never hears that the slow one
// came online. A window of 1 ns makes that gap certain.
func TestSlowClientIsDroppedWhenTheWatcherArrivesLate(t *testing.T) {
	testSlowClientIsDropped(t, time.Nanosecond)
}

// A replica that stops publishing its heartbeats (it crashed) takes its
// users offline everywhere after PresenceTTL.
func TestSilentReplicaGoesOffline(t *testing.T) {
	f := newFixture(t, realtime.Options{PresenceTTL: time.Second, HeartbeatInterval: 200 * time.Millisecond})
	_, tok := f.user("Local")
	c := f.dial(tok)
	// What another replica publishes, once.
	remote := helpdesk.NewID()
	if err := f.bus.Publish(context.Background(), []byte(`{"r":"other-replica","h":true,"p":["`+remote+`"]}`)); err != nil {
		t.Fatal(err)
	}
	// Online, perhaps in one frame with the local user's own coming online
	// (changes close together are told together)…
	for {
		if on, ok := presenceOf(t, read(t, c))[remote]; ok {
			if !on {
				t.Fatal("the remote user went offline before it was told online")
			}
			break
		}
	}
	// …then offline alone: one user's change keeps its shape {userId, online}.
	for {
		fr := read(t, c)
		if fr.Event == "online_status" {
			if fr.Data["userId"] != remote || fr.Data["online"] != false || len(fr.Data) != 2 {
				t.Fatalf("online_status %v, want {userId: %s, online: false}", fr.Data, remote)
			}
			break
		}
	}
	if f.hub.Online(remote) {
		t.Error("the silent replica's user is still online")
	}
}

// A burst of events (many per bus payload, several per write) reaches a
// socket whole and in order, each with the next seq of the user's stream.
func TestBurstArrivesInOrder(t *testing.T) {
	f := newFixture(t, realtime.Options{})
	u, tok := f.user("Burst")
	receiveBurst(t, f, u, f.dial(tok), 200)
}

// A send queue set smaller than a bus payload's events still takes a
// whole payload: a client that reads promptly is not dropped, and loses
// nothing, because one 20 ms batch holds more events than it would queue.
// (One payload's worth of events: however late its writer runs, the client
// never has more than that waiting.)
func TestSmallSendQueueTakesWholeBatches(t *testing.T) {
	f := newFixture(t, realtime.Options{SendQueue: 8})
	u, tok := f.user("Small")
	receiveBurst(t, f, u, f.dial(tok), 64)
}

// receiveBurst sends u sent new_message events at once and reads them on
// c, in order and with consecutive seqs.
func receiveBurst(t *testing.T, f *fixture, u helpdesk.User, c *websocket.Conn, sent int) {
	t.Helper()
	conv := helpdesk.Conversation{ID: helpdesk.NewID(), AssigneeID: u.ID}
	for i := range sent {
		f.hub.MessageStored(context.Background(), conv, helpdesk.Message{ID: helpdesk.NewID(), ConversationID: conv.ID, Text: fmt.Sprint("m", i)})
	}
	var first uint64
	for i := 0; i < sent; {
		fr := read(t, c)
		if fr.Event != "new_message" {
			continue // presence
		}
		if first == 0 {
			first = fr.Seq - uint64(i)
		}
		msg, _ := fr.Data["message"].(map[string]any)
		if fr.Seq != first+uint64(i) || msg["Text"] != fmt.Sprint("m", i) { // the store's type, as no Encoder is set
			t.Fatalf("frame %d: seq %d (want %d), message %v", i, fr.Seq, first+uint64(i), msg)
		}
		i++
	}
}

// countedJSON encodes as a string and counts its encodings.
type countedJSON struct {
	text string
	n    *atomic.Int32
}

func (c countedJSON) MarshalJSON() ([]byte, error) {
	c.n.Add(1)
	return json.Marshal(c.text)
}

// On the in-process bus an event's data is encoded only when some stream
// receives it, and then once for all its recipients' sockets.
func TestEventEncodedOnlyForRecipients(t *testing.T) {
	var unseen, seen atomic.Int32
	counters := map[string]*atomic.Int32{"unseen": &unseen, "seen": &seen}
	f := newFixture(t, realtime.Options{Encoder: realtime.Encoder{
		Message: func(m helpdesk.Message) any { return countedJSON{text: m.Text, n: counters[m.Text]} },
	}})
	u, tok := f.user("Receiver")
	a, b := f.dial(tok), f.dial(tok)

	// Assigned to someone with no stream here: nobody receives it,
	// whenever the sockets above finish registering.
	elsewhere := helpdesk.Conversation{ID: helpdesk.NewID(), AssigneeID: helpdesk.NewID()}
	f.hub.MessageStored(context.Background(), elsewhere, helpdesk.Message{ID: helpdesk.NewID(), ConversationID: elsewhere.ID, Text: "unseen"})
	mine := helpdesk.Conversation{ID: helpdesk.NewID(), AssigneeID: u.ID}
	f.hub.MessageStored(context.Background(), mine, helpdesk.Message{ID: helpdesk.NewID(), ConversationID: mine.ID, Text: "seen"})

	// Events are delivered in order: once the second arrives, the first
	// has been handled.
	for _, c := range []*websocket.Conn{a, b} {
		for {
			fr := read(t, c)
			if fr.Event != "new_message" {
				continue // presence
			}
			if fr.Data["message"] != "seen" || fr.Data["conversationId"] != mine.ID {
				t.Fatalf("new_message %v, want the receiver's", fr.Data)
			}
			break
		}
	}
	if n := unseen.Load(); n != 0 {
		t.Errorf("the event nobody receives was encoded %d times, want 0", n)
	}
	if n := seen.Load(); n != 1 {
		t.Errorf("the event two sockets receive was encoded %d times, want 1", n)
	}
}
