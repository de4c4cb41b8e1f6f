package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsFrame is a server frame as a client decodes it.
type wsFrame struct {
	Event string         `json:"event"`
	Seq   uint64         `json:"seq"`
	Data  map[string]any `json:"data"`
}

// wsClient is a real WebSocket client of /ws that collects every frame.
type wsClient struct {
	t      *testing.T
	conn   *websocket.Conn
	frames chan wsFrame
	closed chan error // the read error that ended the socket
	seen   []wsFrame  // frames taken so far, in order
}

// wsWait bounds every wait for an event; generous, never asserted.
const wsWait = 20 * time.Second

// dialWS opens /ws with query (e.g. "token=…&since=3"); it fails the test
// unless the upgrade succeeds.
func (e *testEnv) dialWS(query string) *wsClient {
	e.t.Helper()
	c, res, err := e.tryDialWS(query)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		e.t.Fatalf("dial /ws?%s: %v (status %d)", query, err, status)
	}
	return c
}

func (e *testEnv) tryDialWS(query string) (*wsClient, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	u := "ws" + strings.TrimPrefix(e.http.URL, "http") + "/ws"
	if query != "" {
		u += "?" + query
	}
	conn, res, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		return nil, res, err
	}
	conn.SetReadLimit(1 << 20)
	c := &wsClient{t: e.t, conn: conn, frames: make(chan wsFrame, 1000), closed: make(chan error, 1)}
	go func() {
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				c.closed <- err
				close(c.frames)
				return
			}
			var f wsFrame
			if err := json.Unmarshal(b, &f); err != nil {
				c.closed <- fmt.Errorf("undecodable frame %s: %w", b, err)
				close(c.frames)
				return
			}
			c.frames <- f
		}
	}()
	e.t.Cleanup(func() { _ = conn.CloseNow() })
	return c, res, nil
}

func (c *wsClient) send(event string, data any) {
	c.t.Helper()
	b, _ := json.Marshal(map[string]any{"event": event, "data": data})
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write %s: %v", event, err)
	}
}

// next returns the next frame named event for which match (may be nil)
// holds, skipping others.
func (c *wsClient) next(event string, match func(wsFrame) bool) wsFrame {
	c.t.Helper()
	deadline := time.After(wsWait)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				c.t.Fatalf("socket closed while waiting for %s: %v", event, <-c.closed)
			}
			c.seen = append(c.seen, f)
			if f.Event == event && (match == nil || match(f)) {
				return f
			}
		case <-deadline:
			c.t.Fatalf("no %s frame; got %v (last %v)", event, events(c.seen), c.seen[len(c.seen)-1].Data)
		}
	}
}

// barrier pings and returns the frames that came before the pong: every
// event delivered to this user before the ping is among them.
func (c *wsClient) barrier() []wsFrame {
	c.t.Helper()
	start := len(c.seen)
	c.send("ping", nil)
	c.next("pong", nil)
	return c.seen[start:]
}

// closeErr waits for the socket to end and returns its close status.
func (c *wsClient) closeStatus() websocket.StatusCode {
	c.t.Helper()
	for {
		select {
		case f, ok := <-c.frames:
			if ok {
				c.seen = append(c.seen, f)
				continue
			}
			return websocket.CloseStatus(<-c.closed)
		case <-time.After(wsWait):
			c.t.Fatal("socket still open")
		}
	}
}

func events(fs []wsFrame) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Event
	}
	return out
}

func forConv(id string) func(wsFrame) bool {
	return func(f wsFrame) bool { return f.Data["conversationId"] == id }
}

// presenceIs matches an online_status frame telling that userID is online
// or not: {userId, online} for one user, {users: [...]} for several told
// together.
func presenceIs(userID string, online bool) func(wsFrame) bool {
	return func(f wsFrame) bool {
		if list, ok := f.Data["users"].([]any); ok {
			for _, e := range list {
				if m, _ := e.(map[string]any); m["userId"] == userID {
					return m["online"] == online
				}
			}
			return false
		}
		return f.Data["userId"] == userID && f.Data["online"] == online
	}
}

func hasEvent(fs []wsFrame, event, convID string) bool {
	for _, f := range fs {
		if f.Event == event && (convID == "" || f.Data["conversationId"] == convID) {
			return true
		}
	}
	return false
}
