// Package realtime is the WebSocket hub behind /ws: it tells the agents'
// dashboards about new messages, statuses, conversation changes, typing
// and presence the moment they happen, on every replica.
//
// Every event goes through a fanout.Bus to every replica, and each replica
// delivers it to its own connections with one code path (deliverMsg). On a
// bus that stays in this process (fanout.Local) events travel as Go
// values; an event's data is then encoded only when some stream here
// receives it, and once for all its recipients. On PostgreSQL and Redis the
// publishing replica skips the bus's copy of its own events and hands them
// to deliverMsg as it publishes them, so deliverMsg runs on two goroutines
// (the bus's and the publisher's), serialised by Hub.mu.
// A replica decides locally who gets an event, from the audience the
// publisher attached (the conversation's assignee and department before and
// after) and each connected user's role, departments and subscriptions.
//
// Each user has, per replica, a stream: a sequence number (seq) counted up
// by every event delivered to the user, and a bounded ring of the latest
// frames. A client that reconnects with ?since=N&stream=S gets what it
// missed, or a resync instruction when the ring no longer holds it or S is
// not this replica's stream for the user (the reconnect landed on another
// replica, or this one forgot the user after Retention without
// connections): the client then reloads its lists over REST.
//
// Presence: a user is online while they have at least one connection on
// any replica. Each replica publishes the users connected to it on every
// change and every HeartbeatInterval; a replica that stops publishing is
// forgotten after PresenceTTL. The changes of one PresenceWindow reach
// each stream as one online_status event, however many users they concern.
package realtime

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/fanout"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// Authenticator verifies access tokens (auth.Service): signature, expiry,
// deactivated users and the password stamp.
type Authenticator interface {
	Authenticate(ctx context.Context, accessToken string) (helpdesk.User, error)
}

// Store is what the hub reads.
type Store interface {
	GetUser(ctx context.Context, id string) (helpdesk.User, error)
	GetConversation(ctx context.Context, id string) (helpdesk.Conversation, error)
}

// Encoder turns domain values into the JSON the REST API answers, so that
// events carry the same shapes. The hub calls it when it encodes an event,
// on its own goroutines, and not at all for an event nobody receives: the
// conversation or message is the one its Notifier method was given, kept
// until then, so the caller must not change what it points to afterwards.
type Encoder struct {
	Conversation func(helpdesk.Conversation) any
	Message      func(helpdesk.Message) any
}

// Options configures a Hub. Zero durations and sizes take the defaults.
type Options struct {
	Bus     fanout.Bus
	Auth    Authenticator
	Store   Store
	Encoder Encoder
	Log     *slog.Logger
	// OriginPatterns are the browser origins (besides the server's own host)
	// allowed to open a socket: host patterns, or scheme://host patterns.
	OriginPatterns []string

	SendQueue         int           // live frames waiting per connection before it is dropped (default 256, at least minSendQueue)
	Ring              int           // frames kept per user for resuming (default 256)
	Retention         time.Duration // how long a user's stream outlives their last connection (default 2 min)
	HeartbeatInterval time.Duration // presence publication (default 3 s)
	PresenceTTL       time.Duration // a silent replica's users go offline after this (default 9 s)
	PresenceWindow    time.Duration // presence changes told together (default 100 ms; see announcePresence)
	PingInterval      time.Duration // WebSocket ping; a missing pong drops the connection (default 4 s)
	PongTimeout       time.Duration // default 5 s
	TypingTTL         time.Duration // typing expires without a refresh (default 5 s)
	AuthTimeout       time.Duration // wait for the auth frame (default 10 s)
	RecheckInterval   time.Duration // reload the user: deactivation, password, departments (default 30 s)
}

func (o *Options) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.Ring <= 0 {
		o.Ring = 256
	}
	if o.SendQueue <= 0 {
		o.SendQueue = 256
	}
	o.SendQueue = max(o.SendQueue, minSendQueue)
	set(&o.Retention, 2*time.Minute)
	set(&o.HeartbeatInterval, 3*time.Second)
	set(&o.PresenceTTL, 9*time.Second)
	set(&o.PresenceWindow, 100*time.Millisecond)
	set(&o.PingInterval, 4*time.Second)
	set(&o.PongTimeout, 5*time.Second)
	set(&o.TypingTTL, 5*time.Second)
	set(&o.AuthTimeout, 10*time.Second)
	set(&o.RecheckInterval, 30*time.Second)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Encoder.Conversation == nil {
		o.Encoder.Conversation = func(c helpdesk.Conversation) any { return c }
	}
	if o.Encoder.Message == nil {
		o.Encoder.Message = func(m helpdesk.Message) any { return m }
	}
}

// Hub is the real-time hub of one replica.
type Hub struct {
	opts    Options
	replica string
	log     *slog.Logger
	values  valueBus // opts.Bus when it carries values, else nil
	// selfDeliver: opts.Bus leaves this replica's own publications out
	// (ownSkipper), so publish hands them to deliverMsg as values.
	selfDeliver bool
	// ownPrefix starts every payload this replica encodes ({"r":"<replica>"):
	// with selfDeliver, deliver drops one the bus hands back anyway.
	ownPrefix []byte

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	out    chan busEvent // events waiting to be published
	kick   chan struct{} // publish presence now
	once   sync.Once

	mu      sync.Mutex
	users   map[string]*userState     // users with a connection here, or one within Retention
	remote  map[string]remotePresence // replica id → its connected users
	online  map[string]time.Time      // the global online set as last computed → since when seen
	typing  map[typingKey]typingState // typing started on this replica
	conns   map[*conn]struct{}
	woken   []*conn // sockets given frames by the payload being delivered, to wake at its end
	stopped bool
	// announce holds the users whose presence changed since local users
	// were last told, each with the state they were last told (user id →
	// online), until announcePresence runs PresenceWindow after the first.
	announce      map[string]bool
	announceTimer *time.Timer // nil when nothing waits
}

type remotePresence struct {
	users map[string]bool
	at    time.Time
}

type typingKey struct{ userID, conversationID string }

type typingState struct {
	until     time.Time
	published time.Time
	conn      *conn
	ref       convRef
	name      string
}

// valueBus is a bus whose every replica is this process (fanout.Local):
// it carries the hub's messages as Go values, so an event goes from
// enqueue to delivery without being encoded and decoded on the way.
type valueBus interface {
	PublishValue(ctx context.Context, v any) error
	RunValues(ctx context.Context, deliver func([]byte), deliverValue func(any)) error
}

// ownSkipper is a bus between replicas that can leave a replica's own
// publications out of what it delivers back to it (fanout.Postgres,
// fanout.Redis).
type ownSkipper interface{ SkipOwn() }

// New returns a Hub; Start connects it to the bus.
func New(o Options) *Hub {
	o.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	values, _ := o.Bus.(valueBus)
	selfDeliver := false
	if s, ok := o.Bus.(ownSkipper); ok && values == nil {
		// This replica's events need not go through the database or Redis
		// and come back to be decoded: the other replicas read them there,
		// this one takes them as they are published.
		s.SkipOwn()
		selfDeliver = true
	}
	replica := helpdesk.NewID()
	return &Hub{
		opts: o, replica: replica, ownPrefix: appendJSONString([]byte(`{"r":`), replica),
		log: o.Log, values: values, selfDeliver: selfDeliver, ctx: ctx, cancel: cancel,
		out: make(chan busEvent, 4096), kick: make(chan struct{}, 1),
		users: map[string]*userState{}, remote: map[string]remotePresence{}, online: map[string]time.Time{},
		typing: map[typingKey]typingState{}, conns: map[*conn]struct{}{},
	}
}

// Start runs the bus subscription, the publisher and the presence sweep
// until Close.
func (h *Hub) Start() {
	h.wg.Add(3)
	go func() {
		defer h.wg.Done()
		run := func() error { return h.opts.Bus.Run(h.ctx, h.deliver) }
		if h.values != nil {
			run = func() error { return h.values.RunValues(h.ctx, h.deliver, h.deliverValue) }
		}
		for h.ctx.Err() == nil {
			if err := run(); err != nil && h.ctx.Err() == nil {
				h.log.Error("realtime: bus stopped; restarting", "err", err)
				select {
				case <-h.ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}
	}()
	go func() {
		defer h.wg.Done()
		h.publishLoop()
	}()
	go func() {
		defer h.wg.Done()
		h.sweepLoop()
	}()
}

// Close closes every socket (going away: clients reconnect to another
// replica), tells the other replicas this one's users left, and stops.
func (h *Hub) Close() {
	h.once.Do(func() {
		h.Disconnect()
		h.cancel()
		h.wg.Wait()
	})
}

// Disconnect closes every socket and refuses new ones, while events still
// flow to the other replicas (a graceful HTTP shutdown calls it: hijacked
// sockets are not the HTTP server's to wait for).
func (h *Hub) Disconnect() {
	h.mu.Lock()
	h.stopped = true
	if h.announceTimer != nil {
		h.announceTimer.Stop()
		h.announceTimer = nil
	}
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.kill(closeGoingAway, "server shutting down")
	}
	for _, c := range conns {
		<-c.done
	}
}

// Online reports whether the user has a connection on any replica.
func (h *Hub) Online(userID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.online[userID]
	return ok
}

// OnlineUsers returns the users connected to any replica, with when each
// was last seen connected (now for this replica's, the last heartbeat for
// the others').
func (h *Hub) OnlineUsers() map[string]time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	out := map[string]time.Time{}
	for id := range h.online {
		if st := h.users[id]; st != nil && len(st.conns) > 0 {
			out[id] = now
			continue
		}
		var last time.Time
		for _, r := range h.remote {
			if r.users[id] && r.at.After(last) {
				last = r.at
			}
		}
		out[id] = last
	}
	return out
}

// busMsg is one payload on the bus: events, or a replica's presence.
type busMsg struct {
	Replica  string     `json:"r"`
	Events   []busEvent `json:"e,omitempty"`
	Presence []string   `json:"p,omitempty"` // users connected to Replica
	Beat     bool       `json:"h,omitempty"` // Presence is set (possibly empty)
	Leaving  bool       `json:"l,omitempty"` // Replica is shutting down
	// batch is where Events live when they came from eventsPool, to return
	// there once delivered (a message published as a value).
	batch *[]busEvent
}

// eventsPool recycles the events of messages published as values: the
// publisher reuses its own batch, so each message takes one from here and
// deliverValue gives it back.
var eventsPool = sync.Pool{New: func() any { b := make([]busEvent, 0, maxBatch); return &b }}

type busEvent struct {
	Event string          `json:"n"`
	Data  json.RawMessage `json:"d"` // nil while value holds the data
	To    audience        `json:"a"`
	// value is the data of an event published here, not encoded yet: it
	// is when it leaves the process or a stream here first receives it.
	value any
}

// data returns ev's data as JSON, encoding its value the first time.
func (h *Hub) data(ev *busEvent) json.RawMessage {
	if ev.Data == nil {
		v := ev.value
		if s, ok := v.(shaper); ok {
			v = s.shape(h.opts.Encoder)
		}
		b, err := json.Marshal(v)
		if err != nil {
			h.log.Error("realtime: encode event", "event", ev.Event, "err", err)
			b = json.RawMessage("null")
		}
		ev.Data, ev.value = b, nil
	}
	return ev.Data
}

// Delivery rules.
const (
	ruleMessage = "m" // subscribers who can see it, the assignee, the department's agents while unassigned
	ruleVisible = "v" // everyone who can see the conversation (before or after the change)
	ruleTyping  = "t" // subscribers who can see it and the assignee
	ruleAll     = "a" // every connected user
)

type audience struct {
	Rule   string   `json:"r"`
	Conv   convRef  `json:"c"`
	Before *convRef `json:"b,omitempty"`
	Users  []string `json:"u,omitempty"` // told whatever the rule says
	Except string   `json:"x,omitempty"` // never told (the typist)
	// NotMessage leaves out who gets the conversation's new_message (it
	// carries the conversation), halving the frames of a busy queue.
	NotMessage bool `json:"nm,omitempty"`
}

type convRef struct {
	ID           string `json:"i"`
	AssigneeID   string `json:"s,omitempty"`
	DepartmentID string `json:"d,omitempty"`
}

func refOf(c helpdesk.Conversation) convRef {
	return convRef{ID: c.ID, AssigneeID: c.AssigneeID, DepartmentID: c.DepartmentID}
}

func canSee(u helpdesk.User, r convRef) bool {
	return helpdesk.ViewerFor(u).CanSee(helpdesk.Conversation{ID: r.ID, AssigneeID: r.AssigneeID, DepartmentID: r.DepartmentID})
}

// matches decides whether u (with these subscriptions) gets an event.
func (a audience) matches(u helpdesk.User, subscribed func(string) bool) bool {
	if a.Except == u.ID {
		return false
	}
	for _, id := range a.Users {
		if id == u.ID {
			return true
		}
	}
	c := a.Conv
	switch a.Rule {
	case ruleAll:
		return true
	case ruleVisible:
		if a.NotMessage && (audience{Rule: ruleMessage, Conv: c}).matches(u, subscribed) {
			return false
		}
		return canSee(u, c) || (a.Before != nil && canSee(u, *a.Before))
	case ruleMessage:
		// The queue's agents first: the cheapest test, and the one that
		// decides for most recipients of a busy queue.
		if c.AssigneeID == u.ID || (c.AssigneeID == "" && inQueue(u, c)) {
			return true
		}
		return subscribed(c.ID) && canSee(u, c)
	case ruleTyping:
		return c.AssigneeID == u.ID || (subscribed(c.ID) && canSee(u, c))
	}
	return false
}

// inQueue reports whether an unassigned conversation waits in u's queue:
// its department's agents, or every agent when it has no department.
func inQueue(u helpdesk.User, c convRef) bool {
	if c.DepartmentID == "" {
		return u.Role == helpdesk.RoleAgent
	}
	for _, d := range u.DepartmentIDs {
		if d == c.DepartmentID {
			return true
		}
	}
	return false
}

// stallLimit is how long an event may wait for the publisher, and a
// publication for the bus, before it is given up (and logged): only a bus
// that is down takes that long.
const stallLimit = 30 * time.Second

// enqueue hands an event to the publisher. It waits when the queue is full
// rather than lose the event, whatever becomes of the caller's request:
// the change it reports is committed.
func (h *Hub) enqueue(_ context.Context, ev busEvent) {
	select {
	case h.out <- ev:
		return
	default:
	}
	t := time.NewTimer(stallLimit)
	defer t.Stop()
	select {
	case h.out <- ev:
	case <-h.ctx.Done():
	case <-t.C:
		h.log.Error("realtime: event dropped, publisher stuck", "event", ev.Event)
	}
}

// takeWaiting appends the events already waiting in h.out to batch, up to
// maxBatch, without waiting for more.
func (h *Hub) takeWaiting(batch []busEvent) []busEvent {
	for len(batch) < maxBatch {
		select {
		case ev := <-h.out:
			batch = append(batch, ev)
		default:
			return batch
		}
	}
	return batch
}

// maxBatch bounds the events of one bus payload.
const maxBatch = 64

// minSendQueue is the least SendQueue. A bus payload hands a socket up to
// maxBatch frames at once, and they are queued whole or the socket is
// dropped; a smaller queue would drop a client that reads promptly
// whenever a 20 ms batch held more events for it than the queue. Twice
// maxBatch lets one payload's frames wait for the writer while the next
// payload is delivered, and still bounds a dead socket's frames.
const minSendQueue = 2 * maxBatch

// batchWindow is the least time between two event batches. An event that
// follows a quiet spell goes out at once; under load, events wait up to
// this long so that each socket is written once per window with all its
// frames. Each write costs a system call on both ends and a wake-up of the
// socket's goroutine, which, at one write per event, was most of the
// fan-out's CPU. 20 ms rather than 10: at 500 agents × 500 messages/s it
// gave a lower p99 (about 60 ms against 100 ms, fewer rounds of waking
// every socket) for the same CPU, well inside the 100 ms a dashboard may
// lag.
const batchWindow = 20 * time.Millisecond

// publishLoop publishes queued events in batches (one bus write carries
// what accumulated while the previous one was written) and this replica's
// presence.
func (h *Hub) publishLoop() {
	beat := time.NewTicker(h.opts.HeartbeatInterval)
	defer beat.Stop()
	batch := make([]busEvent, 0, maxBatch)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	var last time.Time // when the last batch went out
	for {
		select {
		case <-h.ctx.Done():
			// What was queued before Close still goes out, in full batches:
			// a bus whose reader has stopped (Local, after Close) takes only
			// what its buffer holds, and each payload beyond that waits
			// stallLimit.
			for {
				batch = h.takeWaiting(batch[:0])
				if len(batch) == 0 {
					break
				}
				h.publish(busMsg{Events: batch})
			}
			h.publish(busMsg{Leaving: true})
			return
		case ev := <-h.out:
			batch = append(batch[:0], ev)
			// Right after a batch, wait out the rest of batchWindow for
			// more events: under load every socket then gets a window's
			// frames in one write, not one write per event.
			if wait := time.Until(last.Add(batchWindow)); wait > 0 {
				linger.Reset(wait)
			gather:
				for len(batch) < maxBatch {
					select {
					case ev := <-h.out:
						batch = append(batch, ev)
					case <-linger.C:
						break gather
					case <-h.ctx.Done():
						break gather
					}
				}
				linger.Stop()
			}
			batch = h.takeWaiting(batch)
			h.publish(busMsg{Events: batch})
			last = time.Now()
		case <-h.kick:
			h.publish(h.presenceMsg())
		case <-beat.C:
			h.publish(h.presenceMsg())
		}
	}
}

func (h *Hub) presenceMsg() busMsg {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := busMsg{Beat: true, Presence: []string{}}
	for id, st := range h.users {
		if len(st.conns) > 0 {
			m.Presence = append(m.Presence, id)
		}
	}
	return m
}

func (h *Hub) publish(m busMsg) {
	m.Replica = h.replica
	ctx, cancel := context.WithTimeout(context.Background(), stallLimit)
	defer cancel()
	var err error
	if h.values != nil {
		if len(m.Events) > 0 {
			// The message is handed over, and publishLoop reuses its batch.
			b := eventsPool.Get().(*[]busEvent)
			*b = append((*b)[:0], m.Events...)
			m.Events, m.batch = *b, b
		}
		err = h.values.PublishValue(ctx, &m)
	} else {
		for i := range m.Events {
			h.data(&m.Events[i])
		}
		var b []byte
		if b, err = m.encode(); err != nil {
			h.log.Error("realtime: encode", "err", err)
			return
		}
		err = h.opts.Bus.Publish(ctx, b)
		if h.selfDeliver && len(m.Events) > 0 {
			// After the bus has them, as the other replicas get them; and
			// also when publishing failed: this replica's sockets need no
			// bus.
			h.deliverMsg(&m)
		}
	}
	if err != nil {
		lost := "realtime: publish failed; events lost"
		if h.selfDeliver {
			lost += " for the other replicas"
		}
		h.log.Error(lost, "err", err, "events", len(m.Events))
	}
}

// encode returns json.Marshal(m), byte for byte, without its second pass
// over each event's data: encoding/json validates and compacts every
// json.RawMessage again, and these come from json.Marshal already.
func (m *busMsg) encode() ([]byte, error) {
	n := 64 + 48*len(m.Presence)
	for _, ev := range m.Events {
		n += 160 + len(ev.Data)
	}
	b := make([]byte, 0, n)
	var to bytes.Buffer // audiences, through one Encoder: a json.Marshal each costs allocations
	toEnc := json.NewEncoder(&to)
	b = append(b, `{"r":`...)
	b = appendJSONString(b, m.Replica)
	if len(m.Events) > 0 {
		b = append(b, `,"e":[`...)
		for i := range m.Events {
			ev := &m.Events[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"n":`...)
			b = appendJSONString(b, ev.Event)
			b = append(b, `,"d":`...)
			if ev.Data == nil {
				b = append(b, "null"...)
			} else {
				b = append(b, ev.Data...)
			}
			to.Reset()
			if err := toEnc.Encode(&ev.To); err != nil {
				return nil, err
			}
			b = append(b, `,"a":`...)
			b = append(b, bytes.TrimSuffix(to.Bytes(), []byte("\n"))...)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(m.Presence) > 0 {
		p, err := json.Marshal(m.Presence)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"p":`...)
		b = append(b, p...)
	}
	if m.Beat {
		b = append(b, `,"h":true`...)
	}
	if m.Leaving {
		b = append(b, `,"l":true`...)
	}
	return append(b, '}'), nil
}

// appendJSONString appends s as encoding/json writes it.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // escapes: rare (ids and event names are plain)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// kickPresence asks the publisher to publish presence now.
func (h *Hub) kickPresence() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// deliver handles one bus payload (one at a time, from Bus.Run).
func (h *Hub) deliver(p []byte) {
	if h.selfDeliver && bytes.HasPrefix(p, h.ownPrefix) {
		// Its events were delivered when published. The bus skips them by
		// id, except those it could not record (a publication whose answer
		// was lost, a client's retry) or no longer remembers (a listener
		// back after a long outage): told apart here without decoding.
		return
	}
	var m busMsg
	if err := json.Unmarshal(p, &m); err != nil {
		h.log.Warn("realtime: undecodable bus payload", "err", err)
		return
	}
	h.deliverMsg(&m)
}

// deliverValue handles a message published as a value (a valueBus's
// RunValues calls it, one at a time and in order with deliver).
func (h *Hub) deliverValue(v any) {
	m, ok := v.(*busMsg)
	if !ok {
		h.log.Warn("realtime: unknown value on the bus", "type", fmt.Sprintf("%T", v))
		return
	}
	h.deliverMsg(m)
	if b := m.batch; b != nil {
		clear(*b) // the events' values, for the collector
		*b = (*b)[:0]
		eventsPool.Put(b)
	}
}

func (h *Hub) deliverMsg(m *busMsg) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m.Replica != h.replica && (m.Beat || m.Leaving) {
		if m.Leaving {
			delete(h.remote, m.Replica)
		} else {
			users := make(map[string]bool, len(m.Presence))
			for _, id := range m.Presence {
				users[id] = true
			}
			h.remote[m.Replica] = remotePresence{users: users, at: time.Now()}
		}
		h.recomputeOnlineLocked()
	}
	// Each event is encoded once for all its recipients, when the first
	// is found (one nobody here receives is not encoded at all), and each
	// socket is woken once for the whole payload: its writer then sends
	// every frame the payload gave it in one write.
	for i := range m.Events {
		ev := &m.Events[i]
		var enc encodedEvent
		for _, st := range h.users {
			if ev.To.matches(st.user, st.subscribed) {
				if enc.head == nil {
					enc = encodeEvent(ev.Event, h.data(ev))
				}
				st.push(h, enc, &h.woken)
			}
		}
	}
	for i, c := range h.woken {
		c.flushStaged()
		h.woken[i] = nil
	}
	h.woken = h.woken[:0]
}

// recomputeOnlineLocked derives the global online set and queues for
// every local user who came online or went offline (announcePresence
// tells them within PresenceWindow, in one online_status).
//
// One frame, not one per user: a heartbeat can change hundreds of users
// at once (another replica first heard of, or restarted, or silent past
// PresenceTTL), and as many frames would overflow every socket's send
// queue, dropping clients that read promptly, and push everything else
// out of the streams' rings. The frame's body is encoded once and shared,
// so each socket and ring holds one frame whatever the number of users.
func (h *Hub) recomputeOnlineLocked() {
	now := time.Now()
	cur := map[string]bool{}
	for id, st := range h.users {
		if len(st.conns) > 0 {
			cur[id] = true
		}
	}
	for rid, r := range h.remote {
		if now.Sub(r.at) > h.opts.PresenceTTL {
			delete(h.remote, rid)
			continue
		}
		for id := range r.users {
			cur[id] = true
		}
	}
	// What clients were last told of each user who changed, kept for
	// announcePresence; nothing to tell without local users.
	tell := len(h.users) > 0 && !h.stopped
	changed := false
	queue := func(id string, online bool) {
		if !tell {
			return
		}
		if h.announce == nil {
			h.announce = map[string]bool{}
		}
		if _, ok := h.announce[id]; !ok {
			h.announce[id] = !online
		}
		changed = true
	}
	for id := range cur {
		if _, ok := h.online[id]; !ok {
			h.online[id] = now
			queue(id, true)
		}
	}
	for id := range h.online {
		if !cur[id] {
			delete(h.online, id)
			queue(id, false)
		}
	}
	if changed && h.announceTimer == nil {
		h.announceTimer = time.AfterFunc(h.opts.PresenceWindow, h.announcePresence)
	}
}

// announcePresence tells local users the presence changes of the last
// window (Options.PresenceWindow): {userId, online} for one, {users:[…]}
// for several. The changes wait to be told together because users
// reconnecting to this replica during a rolling restart arrive one by one,
// each recomputing the online set; told at once, hundreds of them would be
// as many frames in every stream, and a client away meanwhile would fall
// past the 256 events it can resume. Colleagues see someone come online or
// go offline this much later.
//
// Each user is told their state now, and only if it differs from what was
// last told: one who came and went within the window is not told at all.
func (h *Hub) announcePresence() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.announceTimer = nil
	if h.stopped {
		return
	}
	var changes []onlineStatusData
	for id, told := range h.announce {
		if _, online := h.online[id]; online != told {
			changes = append(changes, onlineStatusData{Online: online, UserID: id})
		}
	}
	clear(h.announce)
	switch len(changes) {
	case 0:
		return
	case 1:
		h.broadcastLocked("online_status", changes[0])
		return
	}
	// In a stable order (UUIDv7s: about when each user was created), not
	// the map's.
	slices.SortFunc(changes, func(a, b onlineStatusData) int { return strings.Compare(a.UserID, b.UserID) })
	h.broadcastLocked("online_status", onlineStatusListData{Users: changes})
}

func (h *Hub) broadcastLocked(event string, data any) {
	if len(h.users) == 0 {
		return
	}
	b, _ := json.Marshal(data)
	enc := encodeEvent(event, b)
	for _, st := range h.users {
		st.push(h, enc, nil) // those away within Retention get it on resuming
	}
}

// sweepLoop expires silent replicas, typing, and forgotten users' streams.
func (h *Hub) sweepLoop() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		var expired []typingState
		var keys []typingKey
		h.mu.Lock()
		h.recomputeOnlineLocked()
		for id, st := range h.users {
			if len(st.conns) == 0 && now.Sub(st.lastConn) > h.opts.Retention {
				delete(h.users, id)
			}
		}
		for k, ts := range h.typing {
			if now.After(ts.until) {
				expired = append(expired, ts)
				keys = append(keys, k)
				delete(h.typing, k)
			}
		}
		h.mu.Unlock()
		for i, ts := range expired {
			h.publishTyping(keys[i], ts, false)
		}
	}
}

// userState is one user's stream on this replica.
type userState struct {
	user     helpdesk.User
	stream   string
	seq      uint64
	ring     []outFrame // the latest frames, a circle once full: ring[oldest] is the oldest
	oldest   int
	conns    map[*conn]struct{}
	retained map[string]bool // subscriptions of the connections that left, until a new one declares its own
	lastConn time.Time
}

func (st *userState) subscribed(id string) bool {
	if st.retained[id] {
		return true
	}
	for c := range st.conns {
		if c.subs[id] {
			return true
		}
	}
	return false
}

// push numbers an event, keeps it in the ring and queues it to every
// connection of the user. With woken, the frames are staged on each
// connection and the connections listed once, for the caller to hand each
// its frames and wake it once it has pushed everything; without, they are
// queued and woken now. Called with h.mu held.
func (st *userState) push(h *Hub, enc encodedEvent, woken *[]*conn) {
	st.seq++
	f := outFrame{head: enc.head, seq: st.seq, tail: enc.tail}
	if len(st.ring) < h.opts.Ring {
		st.ring = append(st.ring, f)
	} else {
		st.ring[st.oldest] = f
		st.oldest = (st.oldest + 1) % len(st.ring)
	}
	for c := range st.conns {
		if woken == nil {
			if c.queue(f) {
				c.wakeUp()
			}
			continue
		}
		if c.staged == nil {
			c.staged = queuePool.Get().(*frameQueue)
			*woken = append(*woken, c)
		}
		c.staged.frames = append(c.staged.frames, f)
	}
}

// replay returns the frames after seq since, or false when the ring no
// longer holds all of them.
func (st *userState) replay(since uint64) ([]outFrame, bool) {
	if since > st.seq {
		return nil, false
	}
	missed := st.seq - since
	if missed > uint64(len(st.ring)) {
		return nil, false
	}
	out := make([]outFrame, 0, missed)
	for i := len(st.ring) - int(missed); i < len(st.ring); i++ {
		out = append(out, st.ring[(st.oldest+i)%len(st.ring)])
	}
	return out, true
}

// outFrame is one frame to one user: a whole frame outside the stream, or
// an event of the stream as its encoding shared by every recipient with
// this user's seq spliced in, so that an event going to 500 agents is
// encoded once and its body is neither copied nor kept 500 times (the
// rings hold the shared bodies too).
type outFrame struct {
	head []byte // the whole frame when seq is 0; else {"event":"…","seq":
	seq  uint64
	tail []byte // ,"data":…} — shared
}

// encodedEvent is an event's frame less its seq.
type encodedEvent struct{ head, tail []byte }

func encodeEvent(event string, data json.RawMessage) encodedEvent {
	head := make([]byte, 0, len(event)+20)
	head = append(head, `{"event":`...)
	head = strconv.AppendQuote(head, event)
	head = append(head, `,"seq":`...)
	tail := make([]byte, 0, len(data)+10)
	if len(data) > 0 {
		tail = append(tail, `,"data":`...)
		tail = append(tail, data...)
	}
	return encodedEvent{head: head, tail: append(tail, '}')}
}

// reply encodes a frame outside the stream (acknowledgements, errors).
func reply(event string, data any) []byte {
	b := make([]byte, 0, 64)
	b = append(b, `{"event":`...)
	b = strconv.AppendQuote(b, event)
	if data != nil {
		raw, _ := json.Marshal(data)
		b = append(b, `,"data":`...)
		b = append(b, raw...)
	}
	return append(b, '}')
}
