package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// Close codes beyond RFC 6455's: 4401 for a refused or ended session, like
// HTTP 401 (the client logs in again rather than reconnecting).
const (
	closeUnauthorized = websocket.StatusCode(4401)
	closeGoingAway    = websocket.StatusGoingAway
	closeTooSlow      = websocket.StatusPolicyViolation
)

// maxFrame bounds what a client may send in one frame.
const maxFrame = 8 << 10

// maxSubscriptions bounds one user's subscriptions.
const maxSubscriptions = 200

// conn is one socket.
type conn struct {
	ws     *websocket.Conn
	socket *socket // the hijacked connection: the writer sends its frames there itself
	user   string
	max    int // frames that may wait; more and the client is dropped

	qmu     sync.Mutex
	pending *frameQueue     // frames waiting for the writer; nil when idle, so an idle socket holds no buffer
	staged  *frameQueue     // frames of the bus payload being delivered, guarded by Hub.mu
	wake    chan struct{}   // capacity 1: pending has frames
	subs    map[string]bool // guarded by Hub.mu

	done     chan struct{} // closed when the socket is finished
	killOnce sync.Once
	killed   chan struct{}
	abort    context.CancelFunc // ends a write or ping in progress
	killCode websocket.StatusCode
	killWhy  string
}

// send queues a frame outside the stream and wakes the writer.
func (c *conn) send(b []byte) {
	if c.queue(outFrame{head: b}) {
		c.wakeUp()
	}
}

// queue queues f without waiting and reports whether the writer needs a
// wake-up (f is the first frame waiting). A client that cannot keep up is
// dropped, so a dead socket never holds more than SendQueue frames.
func (c *conn) queue(f outFrame) bool {
	c.qmu.Lock()
	if c.pending == nil {
		c.pending = queuePool.Get().(*frameQueue)
	}
	full := len(c.pending.frames) >= c.max
	if !full {
		c.pending.frames = append(c.pending.frames, f)
	}
	first := len(c.pending.frames) == 1
	c.qmu.Unlock()
	if full {
		c.kill(closeTooSlow, "too slow: events were dropped; reconnect with since")
		return false
	}
	return first
}

// flushStaged hands the writer the frames staged while delivering a bus
// payload, taking the queue's lock once for all of them, and wakes it.
// Called with Hub.mu held.
func (c *conn) flushStaged() {
	staged := c.staged
	c.staged = nil
	c.qmu.Lock()
	full := false
	switch {
	case c.pending == nil && len(staged.frames) <= c.max:
		c.pending, staged = staged, nil
	case c.pending == nil || len(c.pending.frames)+len(staged.frames) > c.max:
		full = true
	default:
		c.pending.frames = append(c.pending.frames, staged.frames...)
	}
	c.qmu.Unlock()
	if staged != nil {
		staged.release()
	}
	if full {
		c.kill(closeTooSlow, "too slow: events were dropped; reconnect with since")
		return
	}
	c.wakeUp()
}

// frameQueue is a socket's waiting frames, recycled between sockets so
// that queuing allocates nothing once warm while an idle socket holds none.
type frameQueue struct{ frames []outFrame }

var queuePool = sync.Pool{New: func() any { return &frameQueue{frames: make([]outFrame, 0, 16)} }}

// release returns q to the pool, dropping its references to the events.
func (q *frameQueue) release() {
	clear(q.frames)
	q.frames = q.frames[:0]
	if cap(q.frames) <= 1024 {
		queuePool.Put(q)
	}
}

func (c *conn) wakeUp() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *conn) kill(code websocket.StatusCode, why string) {
	c.killOnce.Do(func() {
		c.killCode, c.killWhy = code, why
		close(c.killed)
		if code != closeGoingAway && code != closeUnauthorized {
			// A stuck write to a dead or slow client must not hold the socket.
			c.abort()
			c.socket.abort()
		}
	})
}

// ServeWS runs one socket. u is the user a token in the URL or header
// authenticated; when nil, the client's first frame must be
// {"event":"auth","data":{"token":…}}. Query: since and stream resume a
// stream (see the package doc).
func (h *Hub) ServeWS(w http.ResponseWriter, r *http.Request, u *helpdesk.User) {
	cw := &hijacker{ResponseWriter: w}
	ws, err := websocket.Accept(cw, r, &websocket.AcceptOptions{OriginPatterns: h.opts.OriginPatterns})
	if err != nil {
		return // Accept has answered
	}
	ws.SetReadLimit(maxFrame)
	ctx := context.WithoutCancel(r.Context())
	if u == nil {
		got, err := h.authFrame(ctx, ws)
		if err != nil {
			_ = ws.Write(ctx, websocket.MessageText, reply("error", map[string]string{"code": helpdesk.CodeInvalidToken, "message": err.Error()}))
			_ = ws.Close(closeUnauthorized, "invalid_token")
			return
		}
		u = &got
	}
	if u.MustChangePassword {
		_ = ws.Write(ctx, websocket.MessageText, reply("error", map[string]string{"code": helpdesk.CodePasswordChangeRequired, "message": "change your password first"}))
		_ = ws.Close(closeUnauthorized, "password_change_required")
		return
	}
	// The socket outlives the request: its two goroutines start on fresh,
	// small stacks, and the handler's deep one (router, middleware) is
	// released, which is most of what an idle connection would cost.
	ctx = context.Background()
	wctx, abort := context.WithCancel(ctx)
	c := &conn{ws: ws, socket: cw.socket, user: u.ID, max: h.opts.SendQueue, wake: make(chan struct{}, 1), subs: map[string]bool{},
		done: make(chan struct{}), killed: make(chan struct{}), abort: abort}
	first, ok := h.register(c, *u, r.URL.Query())
	if !ok {
		abort()
		close(c.done)
		_ = ws.Close(closeGoingAway, "server shutting down")
		return
	}
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		h.writeLoop(wctx, c, u.PasswordHash, first)
	}()
	go func() {
		defer close(c.done)
		defer abort()
		h.readLoop(ctx, c)
		c.kill(websocket.StatusNormalClosure, "")
		<-writerDone
		h.unregister(c)
	}()
}

var errAuthFrame = errors.New(`send {"event":"auth","data":{"token":"<access token>"}} first, or ?token=`)

// authFrame waits for the auth frame.
func (h *Hub) authFrame(ctx context.Context, ws *websocket.Conn) (helpdesk.User, error) {
	ctx, cancel := context.WithTimeout(ctx, h.opts.AuthTimeout)
	defer cancel()
	_, b, err := ws.Read(ctx)
	if err != nil {
		return helpdesk.User{}, errAuthFrame
	}
	var f struct {
		Event string `json:"event"`
		Data  struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	if json.Unmarshal(b, &f) != nil || f.Event != "auth" || f.Data.Token == "" {
		return helpdesk.User{}, errAuthFrame
	}
	u, err := h.opts.Auth.Authenticate(ctx, f.Data.Token)
	if err != nil {
		return helpdesk.User{}, errors.New("access token is invalid or expired")
	}
	return u, nil
}

// register attaches c to its user's stream and returns the frames to
// write before any live event: hello, and what a resuming client missed
// (or resync). Both happen under one lock, so nothing falls in between.
func (h *Hub) register(c *conn, u helpdesk.User, q map[string][]string) ([]outFrame, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return nil, false
	}
	st := h.users[u.ID]
	if st == nil {
		st = &userState{user: u, stream: helpdesk.NewID(), conns: map[*conn]struct{}{}}
		h.users[u.ID] = st
	}
	st.user = u
	out := []outFrame{{head: reply("hello", map[string]any{"userId": u.ID, "stream": st.stream, "seq": st.seq})}}
	if sinceText := first(q["since"]); sinceText != "" {
		since, err := strconv.ParseUint(sinceText, 10, 64)
		stream := first(q["stream"])
		frames, ok := st.replay(since)
		if err != nil || (stream != "" && stream != st.stream) || !ok {
			out = append(out, outFrame{head: reply("resync", map[string]any{"stream": st.stream, "seq": st.seq})})
		} else {
			out = append(out, frames...) // the ring's frames are never modified, only dropped
		}
	}
	st.conns[c] = struct{}{}
	h.conns[c] = struct{}{}
	if len(st.conns) == 1 {
		h.recomputeOnlineLocked()
		h.kickPresence()
	}
	return out, true
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func (h *Hub) unregister(c *conn) {
	var typing []typingKey
	var states []typingState
	h.mu.Lock()
	delete(h.conns, c)
	if st := h.users[c.user]; st != nil {
		delete(st.conns, c)
		if len(st.conns) == 0 {
			st.lastConn = time.Now()
			if st.retained == nil {
				st.retained = map[string]bool{}
			}
			for id := range c.subs {
				st.retained[id] = true
			}
			h.recomputeOnlineLocked()
			h.kickPresence()
		}
	}
	for k, ts := range h.typing {
		if ts.conn == c {
			typing = append(typing, k)
			states = append(states, ts)
			delete(h.typing, k)
		}
	}
	h.mu.Unlock()
	for i, k := range typing {
		h.publishTyping(k, states[i], false)
	}
}

// writeLoop sends queued frames and pings, and reloads the user now and
// then: a deactivated user or a changed password ends the socket, new
// departments or role take effect.
func (h *Hub) writeLoop(ctx context.Context, c *conn, passwordHash string, initial []outFrame) {
	ping := time.NewTicker(h.opts.PingInterval)
	defer ping.Stop()
	recheck := time.NewTicker(h.opts.RecheckInterval)
	defer recheck.Stop()
	writeAll := func(frames []outFrame) {
		if c.socket.writeFrames(frames) != nil {
			c.kill(closeTooSlow, "write failed")
		}
	}
	writeAll(initial)
	for {
		select {
		case <-c.wake:
			c.qmu.Lock()
			q := c.pending
			c.pending = nil
			c.qmu.Unlock()
			if q != nil {
				writeAll(q.frames)
				q.release()
			}
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, h.opts.PongTimeout)
			err := c.ws.Ping(pctx)
			cancel()
			if err != nil {
				c.kill(websocket.StatusGoingAway, "no pong")
			}
		case <-recheck.C:
			u, err := h.opts.Store.GetUser(ctx, c.user)
			switch {
			case errors.Is(err, helpdesk.ErrNotFound) || (err == nil && (!u.Active || u.PasswordHash != passwordHash)):
				writeAll([]outFrame{{head: reply("error", map[string]string{"code": helpdesk.CodeInvalidToken, "message": "your session has ended; log in again"})}})
				c.kill(closeUnauthorized, "session ended")
			case err == nil:
				h.mu.Lock()
				if st := h.users[c.user]; st != nil {
					st.user = u
				}
				h.mu.Unlock()
			}
		case <-c.killed:
			if c.killCode == websocket.StatusNormalClosure || c.killCode == closeTooSlow {
				// The reader saw the client go, or the client does not read:
				// no close handshake to wait for.
				_ = c.ws.CloseNow()
			} else {
				_ = c.ws.Close(c.killCode, c.killWhy)
			}
			return
		}
	}
}

// clientFrame is what a client sends.
type clientFrame struct {
	Event string `json:"event"`
	Data  struct {
		ConversationID string `json:"conversationId"`
		IsTyping       *bool  `json:"isTyping"`
	} `json:"data"`
}

// readLoop handles the client's frames until the socket ends.
func (h *Hub) readLoop(ctx context.Context, c *conn) {
	for {
		_, b, err := c.ws.Read(ctx)
		if err != nil {
			return
		}
		var f clientFrame
		if json.Unmarshal(b, &f) != nil {
			c.send(reply("error", map[string]string{"code": helpdesk.CodeBadRequest, "message": `frames are JSON: {"event":…,"data":…}`}))
			continue
		}
		switch f.Event {
		case "ping":
			// Under the lock: every event delivered before the ping was
			// read is queued before the pong, so a pong proves the client
			// has all of them (tests use it as a barrier).
			h.mu.Lock()
			c.send(reply("pong", nil))
			h.mu.Unlock()
		case "auth":
			// Already authenticated (a client that sends its token both ways).
		case "subscribe:conversation", "unsubscribe:conversation":
			h.subscribe(ctx, c, f.Event, f.Data.ConversationID)
		case "typing":
			if f.Data.IsTyping == nil {
				c.send(reply("error", map[string]any{"code": helpdesk.CodeValidation, "event": f.Event,
					"message": "isTyping is required", "fields": map[string]string{"isTyping": "is required"}}))
				continue
			}
			h.clientTyping(ctx, c, f.Data.ConversationID, *f.Data.IsTyping)
		default:
			c.send(reply("error", map[string]string{"code": helpdesk.CodeBadRequest, "event": f.Event,
				"message": "unknown event; send subscribe:conversation, unsubscribe:conversation, typing or ping"}))
		}
	}
}

// visible loads the conversation when the user may see it.
func (h *Hub) visible(ctx context.Context, userID, id string) (helpdesk.Conversation, helpdesk.User, bool) {
	h.mu.Lock()
	var u helpdesk.User
	if st := h.users[userID]; st != nil {
		u = st.user
	}
	h.mu.Unlock()
	if !helpdesk.ValidID(id) || u.ID == "" {
		return helpdesk.Conversation{}, u, false
	}
	conv, err := h.opts.Store.GetConversation(ctx, id)
	if err != nil || !helpdesk.ViewerFor(u).CanSee(conv) {
		return helpdesk.Conversation{}, u, false
	}
	return conv, u, true
}

func notFound(event, id string) []byte {
	return reply("error", map[string]string{"code": helpdesk.CodeNotFound, "event": event,
		"conversationId": id, "message": "conversation not found"})
}

func (h *Hub) subscribe(ctx context.Context, c *conn, event, id string) {
	if event == "unsubscribe:conversation" {
		h.mu.Lock()
		delete(c.subs, id)
		if st := h.users[c.user]; st != nil {
			st.retained = nil
		}
		h.mu.Unlock()
		c.send(reply("unsubscribed", map[string]string{"conversationId": id}))
		return
	}
	if _, _, ok := h.visible(ctx, c.user, id); !ok {
		c.send(notFound(event, id))
		return
	}
	h.mu.Lock()
	full := len(c.subs) >= maxSubscriptions && !c.subs[id]
	if !full {
		c.subs[id] = true
		if st := h.users[c.user]; st != nil {
			st.retained = nil
		}
	}
	h.mu.Unlock()
	if full {
		c.send(reply("error", map[string]any{"code": helpdesk.CodeUnprocessable, "event": event, "conversationId": id,
			"message": "too many subscriptions; unsubscribe from conversations no longer shown"}))
		return
	}
	c.send(reply("subscribed", map[string]string{"conversationId": id}))
}

// typingRefresh is how often a continuing "typing" is republished.
const typingRefresh = 2 * time.Second

func (h *Hub) clientTyping(ctx context.Context, c *conn, id string, isTyping bool) {
	conv, u, ok := h.visible(ctx, c.user, id)
	if !ok {
		c.send(notFound("typing", id))
		return
	}
	k := typingKey{userID: u.ID, conversationID: conv.ID}
	now := time.Now()
	h.mu.Lock()
	ts, was := h.typing[k]
	publish := true
	if isTyping {
		publish = !was || now.Sub(ts.published) >= typingRefresh
		ts.until, ts.conn, ts.ref, ts.name = now.Add(h.opts.TypingTTL), c, refOf(conv), u.Name
		if publish {
			ts.published = now
		}
		h.typing[k] = ts
	} else {
		delete(h.typing, k)
		ts.ref, ts.name = refOf(conv), u.Name
	}
	h.mu.Unlock()
	if publish {
		h.publishTyping(k, ts, isTyping)
	}
}

func (h *Hub) publishTyping(k typingKey, ts typingState, isTyping bool) {
	h.enqueue(h.ctx, busEvent{Event: "user_typing", To: audience{Rule: ruleTyping, Conv: ts.ref, Except: k.userID},
		value: userTypingData{ConversationID: k.conversationID, UserID: k.userID, UserName: ts.name,
			IsTyping: isTyping, ExpiresInMs: h.opts.TypingTTL.Milliseconds()}})
}
