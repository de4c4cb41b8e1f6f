package helpdesk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"
	"unicode/utf8"
)

// InboundMessage is a customer's message as the webhook reported it, in
// helpdesk terms (the whatsapp package's types are mapped by the caller).
type InboundMessage struct {
	WAMessageID string
	FromWAIDs   []string // the sender's wa_id first, then equivalent forms (Brazil's 9th digit)
	ProfileName string
	Timestamp   time.Time // when the customer sent it, per Meta; zero if unknown
	Type        string    // WhatsApp's type, or MessageTypeUnsupported
	Text        string
	Media       *Media
	// ContextWAMessageID is the wamid the customer replied to.
	ContextWAMessageID string
	// For reactions: the wamid reacted to and the emoji ("" removes it).
	ReactionToWAMessageID string
	// NewWAIDs is set on WhatsApp's user_changed_number system message: the
	// sender's new number (wa_id first, then its equivalent forms). The
	// customer keeps its history under the new number.
	NewWAIDs []string
	// ReplyID is the id of the tapped reply button or list row (or the
	// payload of a template's quick-reply button), for the bot.
	ReplyID string
	Raw     json.RawMessage
}

// StatusUpdate is Meta's report on one outbound message.
type StatusUpdate struct {
	WAMessageID  string
	Status       string
	Timestamp    time.Time
	ErrorCode    string
	ErrorMessage string
	// CallbackData is biz_opaque_callback_data: the id of our message, which
	// the send job puts on every request so a status can find its message
	// even when the send's own answer was never recorded.
	CallbackData string
}

// ChannelBatch is what one webhook change carried for one business number.
type ChannelBatch struct {
	PhoneNumberID string
	Messages      []InboundMessage
	Statuses      []StatusUpdate
}

// WebhookDelivery is one verified webhook POST.
type WebhookDelivery struct {
	Body       []byte
	ReceivedAt time.Time
	Batches    []ChannelBatch
	// Signer is SignerFingerprint of the app secret that signed it.
	Signer string
	// Replay names the inbox entry this delivery is a replay of; nil for a
	// live webhook. A replay adds no inbox row: it updates that entry.
	Replay *InboxReplay
}

// InboxReplay is what a replayed delivery writes about itself, in the
// transaction that applies it: the entry's new status and note, and the
// audit row, whose Details receive the replay's counts.
type InboxReplay struct {
	EntryID string
	Audit   AuditLog
	// Bound reports whether the body's signer is the app of a number's
	// channel (nil: any). A number whose channel is not is left unrouted,
	// as the webhook route refuses such a body for a connected number.
	Bound func(Channel) bool
}

// IngestResult says what a delivery changed.
type IngestResult struct {
	// Duplicate: every message and status the delivery carried had been
	// received already — a redelivery, with nothing new to tell.
	Duplicate bool
	Messages  []Message
	// NewConversations are the conversations this delivery opened.
	NewConversations []Conversation
	// Conversations are the conversations Messages went to, as the commit
	// left them (one missing here must be read again).
	Conversations   []Conversation
	StatusesApplied int
	UnknownStatuses int
	Unrouted        []string // phone_number_ids with no channel
	// Redelivered counts the messages and statuses that had been received
	// already.
	Redelivered int
	// Unbound are the numbers a replayed body was not signed for (by their
	// channel's app); they stay unrouted.
	Unbound []string
	// InboxStatus is the delivery's inbox status: InboxProcessed,
	// InboxUnrouted or InboxPartial.
	InboxStatus string
}

// Meta's timestamp orders a customer's burst and starts the customer
// service window, so it is kept — also when a webhook arrives late (Meta
// retries for days). Only implausible values are replaced by our clock: in
// the future beyond clock skew, or older than Meta ever retries.
const (
	maxFutureSkew = 5 * time.Minute
	maxWebhookAge = 30 * 24 * time.Hour
)

// Ingester applies verified webhooks: every message lands exactly once, in
// one transaction with its customer and conversation, and statuses only
// move forward.
//
// Deliveries are group-committed: each lane is one goroutine that takes
// whatever deliveries are waiting (up to maxBatch), applies them in arrival
// order in one transaction and answers each only after that commit. One
// commit (one fsync) then serves many webhooks, which is what lets SQLite
// keep up with Meta's bursts. All deliveries of a customer go to one lane
// (laneRouter, also for deliveries carrying several customers), so one
// customer's messages are applied in order and never race each other into
// two conversations; several lanes let PostgreSQL use more than one
// connection.
type Ingester struct {
	store    Store
	jobs     Enqueuer // may be nil: no follow-up jobs (media download)
	now      func() time.Time
	lanes    []chan *ingestRequest
	maxBatch int
	stop     chan struct{}
	wg       sync.WaitGroup

	// mu guards closed: Ingest hands a delivery to a lane under the read
	// lock, so once Close holds the write lock no delivery can reach a lane
	// after its goroutine drained it and stopped (the caller would wait
	// forever for an answer).
	mu     sync.RWMutex
	closed bool

	router laneRouter
}

type ingestRequest struct {
	d    WebhookDelivery
	done chan ingestReply // buffered: the lane never blocks on a gone caller
	keys []string         // the customers it touches, registered in the router
}

type ingestReply struct {
	res IngestResult
	err error
}

// IngesterOptions tunes an Ingester.
type IngesterOptions struct {
	Jobs     Enqueuer         // follow-up work (media downloads); may be nil
	Now      func() time.Time // may be nil
	Lanes    int              // parallel committers: 1 for SQLite (one writer), a few for PostgreSQL
	MaxBatch int              // deliveries per transaction (default 64)
}

// NewIngester starts an Ingester's lanes; Close stops them.
func NewIngester(store Store, o IngesterOptions) *Ingester {
	if o.Now == nil {
		o.Now = Now
	}
	if o.Lanes <= 0 {
		o.Lanes = 1
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 64
	}
	in := &Ingester{store: store, jobs: o.Jobs, now: o.Now, maxBatch: o.MaxBatch, stop: make(chan struct{})}
	for range o.Lanes {
		lane := make(chan *ingestRequest, o.MaxBatch)
		in.lanes = append(in.lanes, lane)
		in.wg.Add(1)
		go in.run(lane)
	}
	return in
}

// Close stops the lanes after the deliveries already queued are applied.
// Ingest refuses deliveries from then on. Close may be called more than
// once.
func (in *Ingester) Close() {
	in.mu.Lock()
	if !in.closed {
		in.closed = true
		close(in.stop)
	}
	in.mu.Unlock()
	in.wg.Wait()
}

// ErrIngesterClosed is returned by Ingest after Close. Its code,
// CodeUnavailable, answers the webhook 503, and Meta delivers it again
// later (to this replica once restarted, or to another).
var ErrIngesterClosed = &Error{Code: CodeUnavailable, Message: "the server is shutting down; deliver the webhook again"}

// Ingest stores the delivery and its effects durably and returns what it
// changed. A redelivery stores nothing twice (Duplicate).
// When ctx ends first, the delivery may still be committed; Meta's
// redelivery is then a harmless duplicate.
func (in *Ingester) Ingest(ctx context.Context, d WebhookDelivery) (IngestResult, error) {
	req := &ingestRequest{d: d, done: make(chan ingestReply, 1)}
	if len(in.lanes) > 1 {
		req.keys = slices.Compact(slices.Sorted(slices.Values(customerKeys(d))))
	}
	lane := in.lanes[in.router.route(req.keys, len(in.lanes))]
	in.mu.RLock()
	if in.closed {
		in.mu.RUnlock()
		in.router.release(req.keys)
		return IngestResult{}, ErrIngesterClosed
	}
	select {
	case lane <- req:
		in.mu.RUnlock()
	case <-ctx.Done():
		in.mu.RUnlock()
		in.router.release(req.keys)
		return IngestResult{}, ctx.Err()
	}
	select {
	case r := <-req.done:
		if r.err != nil {
			return IngestResult{}, fmt.Errorf("ingest webhook: %w", r.err)
		}
		return r.res, nil
	case <-ctx.Done():
		return IngestResult{}, ctx.Err()
	}
}

// run is one lane: it owns lane's receiving end until stop.
func (in *Ingester) run(lane chan *ingestRequest) {
	defer in.wg.Done()
	batch := make([]*ingestRequest, 0, in.maxBatch)
	for {
		select {
		case <-in.stop:
			for { // drain what callers already handed over
				select {
				case req := <-lane:
					in.commit([]*ingestRequest{req})
				default:
					return
				}
			}
		case req := <-lane:
			batch = append(batch[:0], req)
		fill:
			for len(batch) < in.maxBatch {
				select {
				case more := <-lane:
					batch = append(batch, more)
				default:
					break fill
				}
			}
			in.commit(batch)
		}
	}
}

// batchTimeout bounds one group transaction; it does not depend on any one
// caller's context, since the batch serves several.
const batchTimeout = 30 * time.Second

// MaxIngestTransaction bounds how long after it read the channels an ingest
// transaction can still commit (batchTimeout covers its retries too): one
// that began before a channel change committed has ended by then.
const MaxIngestTransaction = batchTimeout

// commit applies a batch in one transaction. If that fails, each delivery
// is retried alone, so one bad delivery cannot fail its neighbours.
func (in *Ingester) commit(batch []*ingestRequest) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	results := make([]IngestResult, len(batch))
	deliveries := make([]WebhookDelivery, len(batch))
	for i, req := range batch {
		deliveries[i] = req.d
	}
	err := in.store.InTx(ctx, func(tx Store) error {
		bc, err := newBatchCache(ctx, tx, deliveries)
		if err != nil {
			return err
		}
		clear(results)
		return in.applyBatch(ctx, tx, deliveries, results, bc)
	})
	if err == nil {
		for i, req := range batch {
			req.done <- ingestReply{res: results[i]}
			in.router.release(req.keys)
		}
		return
	}
	if len(batch) > 1 {
		for _, req := range batch {
			in.commit([]*ingestRequest{req})
		}
		return
	}
	// A conflict means another replica won a race on the same customer
	// (PostgreSQL aborts the transaction); a retry sees its rows.
	for attempt := 0; attempt < 2 && errors.Is(err, ErrConflict); attempt++ {
		results[0] = IngestResult{}
		err = in.store.InTx(ctx, func(tx Store) error {
			bc, err := newBatchCache(ctx, tx, deliveries)
			if err != nil {
				return err
			}
			return in.applyBatch(ctx, tx, deliveries, results, bc)
		})
	}
	batch[0].done <- ingestReply{res: results[0], err: err}
	in.router.release(batch[0].keys)
}

// laneRouter picks a delivery's lane so that each customer's deliveries
// are applied in the order they were handed over, also when one delivery
// carries several customers (Meta may batch them). A customer's home lane
// is a hash of its number; while any delivery of a customer is in flight,
// the customer stays on that delivery's lane. A delivery whose customers
// are in flight on two different lanes waits until that is no longer so
// (one of them finishes), then goes where they are.
type laneRouter struct {
	mu       sync.Mutex
	changed  *sync.Cond
	inFlight map[string]routed // customer key → where its deliveries go now
}

type routed struct {
	lane, deliveries int
}

// route returns the lane for a delivery touching the customers keys and
// records it as in flight until release(keys).
func (r *laneRouter) route(keys []string, lanes int) int {
	if lanes <= 1 || len(keys) == 0 {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inFlight == nil {
		r.inFlight, r.changed = map[string]routed{}, sync.NewCond(&r.mu)
	}
	for {
		lane, busy := -1, false
		for _, k := range keys {
			if f, ok := r.inFlight[k]; ok {
				if lane >= 0 && f.lane != lane {
					busy = true
					break
				}
				lane = f.lane
			}
		}
		if !busy {
			if lane < 0 {
				lane = homeLane(keys[0], lanes)
			}
			for _, k := range keys {
				f := r.inFlight[k]
				r.inFlight[k] = routed{lane: lane, deliveries: f.deliveries + 1}
			}
			return lane
		}
		r.changed.Wait()
	}
}

// release ends what route(keys) recorded.
func (r *laneRouter) release(keys []string) {
	if len(keys) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inFlight == nil {
		return
	}
	for _, k := range keys {
		f := r.inFlight[k]
		if f.deliveries <= 1 {
			delete(r.inFlight, k)
		} else {
			r.inFlight[k] = routed{lane: f.lane, deliveries: f.deliveries - 1}
		}
	}
	r.changed.Broadcast()
}

func homeLane(key string, lanes int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(lanes))
}

// batchCache is what one group transaction looked up once for all its
// deliveries: the business numbers (a zero Channel: no such number) and the
// wamids already stored.
type batchCache struct {
	channels map[string]Channel
	known    map[string]bool
	// botOn: new conversations start with the bot (read once per batch).
	botOn bool
	// after holds the conversations the batch's messages went to, as its
	// writes so far left them.
	after map[string]Conversation
}

// newBatchCache starts a group transaction: it locks the wamids the
// batch's statuses and messages name and the customers of its messages (see LockWAMIDs: a status racing the
// send that stores its wamid must not be lost, nor a message be taken for
// new by two replicas at once) and reads, in one statement, which of the
// batch's messages are stored already.
func newBatchCache(ctx context.Context, tx Store, batch []WebhookDelivery) (*batchCache, error) {
	var ids, statusIDs, numbers, customers []string
	for _, d := range batch {
		customers = append(customers, customerKeys(d)...)
		for _, b := range d.Batches {
			if !slices.Contains(numbers, b.PhoneNumberID) {
				numbers = append(numbers, b.PhoneNumberID)
			}
			for _, m := range b.Messages {
				if m.WAMessageID != "" {
					ids = append(ids, m.WAMessageID)
				}
			}
			for _, st := range b.Statuses {
				if st.WAMessageID != "" {
					statusIDs = append(statusIDs, st.WAMessageID)
				}
			}
		}
	}
	// The messages' wamids are locked too: a redelivery reaching another
	// replica while the first delivery is still committing then waits for
	// it, and the look-up below sees the messages it stored. Otherwise both
	// take the message for new, and what happens before its insert is
	// found a duplicate (a survey answer's conversation look-ups) is done
	// twice.
	// The customers are locked too: with the bot on, or around a reply,
	// the batch writes its customers and conversations one message at a
	// time, in the order of its messages, and another replica's batch
	// with the same customers in another order would deadlock with it.
	start, err := tx.StartGroupCommit(ctx, append(statusIDs, ids...), customers, numbers)
	if err != nil {
		return nil, err
	}
	known, err := tx.StoredWAMIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	channels := make(map[string]Channel, len(numbers))
	for _, n := range numbers {
		channels[n] = routable(start.Channels[n]) // none: the zero Channel, unrouted
	}
	return &batchCache{channels: channels, known: known, botOn: botSwitchOn(start.BotSwitch), after: map[string]Conversation{}}, nil
}

// routable is the channel a batch's messages to its number are routed
// with: a disabled number's messages wait in the inbox, unrouted.
func routable(ch Channel) Channel {
	if ch.Status == ChannelDisabled {
		return Channel{}
	}
	return ch
}

// customerChanged brings the customer of the conversations held in after
// up to date: a later message of the batch may have renamed them.
func (bc *batchCache) customerChanged(c Customer) {
	bc.customersChanged(map[string]Customer{c.ID: c})
}

// customersChanged is customerChanged for several customers, keyed by id,
// in one pass over after.
func (bc *batchCache) customersChanged(cs map[string]Customer) {
	for id, conv := range bc.after {
		if c, ok := cs[conv.Customer.ID]; ok {
			conv.Customer = c
			bc.after[id] = conv
		}
	}
}

// forgetCustomer drops the customer's conversations from after, so that
// the real-time events read them again after the commit.
func (bc *batchCache) forgetCustomer(customerID string) {
	for id, conv := range bc.after {
		if conv.Customer.ID == customerID {
			delete(bc.after, id)
		}
	}
}

// applyBatch writes a group commit's deliveries inside tx, in order, into
// results. Plain messages are written together, one statement per step for
// all of them (batchWriter); reactions, replies and changed numbers depend
// on what came before them, so the plain messages before one are written
// first and it is applied on its own.
func (in *Ingester) applyBatch(ctx context.Context, tx Store, ds []WebhookDelivery, results []IngestResult, bc *batchCache) error {
	channels := bc.channels
	now := in.now()
	entries := make([]InboxEntry, 0, len(ds))
	for i, d := range ds {
		res := &results[i]
		for _, b := range d.Batches {
			ch := channels[b.PhoneNumberID] // newBatchCache read every number of ds
			if r := d.Replay; r != nil && r.Bound != nil && ch.ID != "" && !r.Bound(ch) {
				if !slices.Contains(res.Unbound, b.PhoneNumberID) {
					res.Unbound = append(res.Unbound, b.PhoneNumberID)
				}
				ch = Channel{}
			}
			if ch.ID == "" && !slices.Contains(res.Unrouted, b.PhoneNumberID) {
				res.Unrouted = append(res.Unrouted, b.PhoneNumberID)
			}
		}
		status := InboxProcessed
		switch {
		case len(res.Unrouted) > 0 && len(res.Unrouted) == distinctNumbers(d):
			status = InboxUnrouted
		case len(res.Unrouted) > 0:
			status = InboxPartial
		}
		res.InboxStatus = status
		if d.Replay != nil {
			continue // its entry is updated below, once its counts are known
		}
		sum := sha256.Sum256(d.Body)
		entries = append(entries, InboxEntry{ID: NewID(), BodySHA256: hex.EncodeToString(sum[:]), Body: d.Body, Status: status,
			ReceivedAt: d.ReceivedAt, Signer: d.Signer})
	}
	if err := tx.InsertInboxEntries(ctx, entries); err != nil {
		return err
	}
	w := batchWriter{in: in, tx: tx, now: now, bc: bc}
	for i, d := range ds {
		res := &results[i]
		redelivered, fresh := 0, 0
		// Meta's timestamps are judged against when the body arrived: a
		// replay may come weeks later, and its customers wrote then, not now.
		ref := now
		if d.Replay != nil && !d.ReceivedAt.IsZero() {
			ref = d.ReceivedAt
		}
		for _, b := range d.Batches {
			ch := channels[b.PhoneNumberID]
			if ch.ID == "" || slices.Contains(res.Unbound, b.PhoneNumberID) {
				continue
			}
			for _, m := range b.Messages {
				if m.WAMessageID == "" || len(m.FromWAIDs) == 0 {
					continue // nothing to key it on (the raw body stays in the inbox)
				}
				if bc.known[m.WAMessageID] {
					redelivered++
					continue
				}
				fresh++
				// The batch writer handles plain messages to no bot; the rest
				// (reactions, replies, number changes, what the bot answers,
				// what may be a survey score) go one at a time.
				if m.ReactionToWAMessageID != "" || m.ContextWAMessageID != "" || len(m.NewWAIDs) > 0 || bc.botOn || mayAnswerCSAT(m) {
					if err := w.flush(ctx); err != nil {
						return err
					}
					if err := in.applyMessage(ctx, tx, ch, m, messageTime(m, ref), now, res, bc); err != nil {
						return err
					}
					continue
				}
				bc.known[m.WAMessageID] = true
				w.add(res, ch, m, messageTime(m, ref))
			}
			for _, st := range b.Statuses {
				if st.WAMessageID == "" || st.Status == "" {
					continue // nothing to key it on
				}
				recorded, err := in.applyStatus(ctx, tx, st, now, res)
				if err != nil {
					return err
				}
				if recorded {
					fresh++
				} else {
					redelivered++ // the same wamid and status came before
				}
			}
		}
		res.Duplicate = redelivered > 0 && fresh == 0
		res.Redelivered = redelivered
	}
	if err := w.flush(ctx); err != nil {
		return err
	}
	for i, d := range ds {
		if d.Replay != nil {
			if err := in.recordReplay(ctx, tx, d.Replay, &results[i], now); err != nil {
				return err
			}
		}
	}
	for i := range results {
		res := &results[i]
		for _, m := range res.Messages {
			c, ok := bc.after[m.ConversationID]
			if ok && !slices.ContainsFunc(res.Conversations, func(t Conversation) bool { return t.ID == c.ID }) {
				res.Conversations = append(res.Conversations, c)
			}
		}
	}
	return nil
}

// messageTime is when the customer sent m, per Meta, unless implausible
// for a body that arrived at now.
func messageTime(m InboundMessage, now time.Time) time.Time {
	at := m.Timestamp.UTC().Truncate(time.Millisecond)
	if at.IsZero() || at.Before(now.Add(-maxWebhookAge)) || at.After(now.Add(maxFutureSkew)) {
		at = now
	}
	return at
}

// batchWriter collects plain inbound messages and writes them together:
// their customers, conversations, messages, conversation updates and jobs
// each in one statement, which is what one message at a time would do.
type batchWriter struct {
	in      *Ingester
	tx      Store
	now     time.Time
	bc      *batchCache
	pending []pendingMessage
}

type pendingMessage struct {
	res *IngestResult
	ch  Channel
	m   InboundMessage
	at  time.Time
}

func (w *batchWriter) add(res *IngestResult, ch Channel, m InboundMessage, at time.Time) {
	w.pending = append(w.pending, pendingMessage{res: res, ch: ch, m: m, at: at})
}

func (w *batchWriter) flush(ctx context.Context) error {
	if len(w.pending) == 0 {
		return nil
	}
	pending, now, tx := w.pending, w.now, w.tx
	w.pending = nil
	ups := make([]CustomerUpsert, len(pending))
	for i, p := range pending {
		ups[i] = CustomerUpsert{WAIDs: p.m.FromWAIDs, ProfileName: p.m.ProfileName}
	}
	customers, err := tx.UpsertCustomers(ctx, ups, now)
	if err != nil {
		return err
	}
	type pair struct{ channel, customer string }
	convOf := make([]int, len(pending))
	seen := map[pair]int{}
	var wanted []Conversation
	for i, p := range pending {
		k := pair{p.ch.ID, customers[i].ID}
		j, ok := seen[k]
		if !ok {
			j = len(wanted)
			seen[k] = j
			wanted = append(wanted, Conversation{ID: NewID(), ChannelID: p.ch.ID, Customer: customers[i],
				DepartmentID: p.ch.DefaultDepartmentID, Status: StatusWaiting, WaitingSince: &now, CreatedAt: now, UpdatedAt: now})
		}
		convOf[i] = j
	}
	convs, created, err := tx.OpenConversations(ctx, wanted)
	if err != nil {
		return err
	}
	msgs := make([]Message, len(pending))
	for i, p := range pending {
		at := p.at
		msgs[i] = Message{
			ID: NewID(), ConversationID: convs[convOf[i]].ID, Direction: DirectionInbound, SenderType: SenderCustomer,
			SenderID: customers[i].ID, Type: p.m.Type, Text: p.m.Text, Media: p.m.Media, WAMessageID: p.m.WAMessageID,
			Status: MessageReceived, Raw: p.m.Raw, CreatedAt: at, SentAt: &at,
		}
	}
	inserted, err := tx.InsertInboundMessages(ctx, msgs)
	if err != nil {
		return err
	}
	noteOf := map[string]int{}
	var notes []InboundNote
	for i, msg := range msgs {
		if !inserted[i] {
			continue
		}
		j, ok := noteOf[msg.ConversationID]
		if !ok {
			j = len(notes)
			noteOf[msg.ConversationID] = j
			notes = append(notes, InboundNote{ConversationID: msg.ConversationID, At: msg.CreatedAt, Preview: Preview(msg)})
		}
		n := &notes[j]
		n.Count++
		if !msg.CreatedAt.Before(n.At) { // a later message at the same time wins, as one by one
			n.At, n.Preview = msg.CreatedAt, Preview(msg)
		}
	}
	noted, err := tx.NoteInboundMessages(ctx, notes, now)
	if err != nil {
		return err
	}
	customerOf := make(map[string]Customer, len(convs))
	for _, c := range convs {
		customerOf[c.ID] = c.Customer
	}
	for _, c := range noted {
		c.Customer = customerOf[c.ID]
		w.bc.after[c.ID] = c
	}
	latest := make(map[string]Customer, len(customers))
	for _, c := range customers {
		latest[c.ID] = c
	}
	w.bc.customersChanged(latest)
	reported := make([]bool, len(wanted))
	for i, msg := range msgs {
		if !inserted[i] {
			continue
		}
		if msg.Media != nil && msg.Media.ID != "" && w.in.jobs != nil {
			if err := w.in.jobs.EnqueueMediaDownload(ctx, tx, msg.ID); err != nil {
				return err
			}
		}
		res := pending[i].res
		if j := convOf[i]; created[j] && !reported[j] {
			reported[j] = true
			res.NewConversations = append(res.NewConversations, convs[j])
		}
		res.Messages = append(res.Messages, msg)
	}
	return nil
}

// applyMessage stores one message. bc.known holds the wamids already stored
// (looked up once for the whole batch) and those stored by this batch.
func (in *Ingester) applyMessage(ctx context.Context, tx Store, ch Channel, m InboundMessage, at, now time.Time, res *IngestResult, bc *batchCache) error {
	known := bc.known
	if m.WAMessageID == "" || len(m.FromWAIDs) == 0 {
		return nil // nothing to key it on; the raw body stays in the inbox
	}
	// A redelivered message must not reopen a conversation closed since.
	if known[m.WAMessageID] {
		return nil
	}
	known[m.WAMessageID] = true
	customer, err := tx.UpsertCustomer(ctx, m.FromWAIDs, m.ProfileName, now)
	if err != nil {
		return err
	}
	bc.customerChanged(customer)
	if done, err := in.applyCSAT(ctx, tx, ch, customer, m, at, now, res); err != nil || done {
		return err
	}
	fresh := Conversation{
		ID: NewID(), ChannelID: ch.ID, Customer: customer, DepartmentID: ch.DefaultDepartmentID,
		Status: StatusWaiting, WaitingSince: &now, CreatedAt: now, UpdatedAt: now,
	}
	if bc.botOn {
		fresh.Status, fresh.WaitingSince = StatusBot, nil
	}
	conv, created, err := tx.OpenConversation(ctx, fresh)
	if err != nil {
		return err
	}
	msg := Message{
		ID: NewID(), ConversationID: conv.ID, Direction: DirectionInbound, SenderType: SenderCustomer,
		SenderID: customer.ID, Type: m.Type, Text: m.Text, Media: m.Media, WAMessageID: m.WAMessageID,
		Status: MessageReceived, Raw: m.Raw, CreatedAt: at, SentAt: &at,
	}
	if ref := firstNonEmpty(m.ReactionToWAMessageID, m.ContextWAMessageID); ref != "" {
		id, err := tx.MessageIDByWAMID(ctx, ref)
		switch {
		case err == nil:
			msg.ReplyToID = id
		case !errors.Is(err, ErrNotFound):
			return err
		}
	}
	inserted, err := tx.InsertMessage(ctx, msg)
	if err != nil || !inserted {
		return err
	}
	if m.Type == "reaction" && msg.ReplyToID != "" {
		if err := tx.SetMessageReaction(ctx, msg.ReplyToID, m.Text); err != nil {
			return err
		}
	}
	noted, err := tx.NoteInboundMessage(ctx, conv.ID, Preview(msg), at, now)
	if err != nil {
		return err
	}
	noted.Customer = customer
	bc.after[conv.ID] = noted
	// The notice comes from the old number and lands in the customer's
	// conversation; from now on the customer is its new number, so the
	// next message (from the new number) continues the same conversation.
	// When the new number already is another customer, nothing moves:
	// merging two customers is a person's decision.
	if len(m.NewWAIDs) > 0 && !slices.Equal(m.NewWAIDs, m.FromWAIDs) {
		if _, err := tx.RekeyCustomer(ctx, m.FromWAIDs, m.NewWAIDs, now); err != nil {
			return err
		}
		bc.forgetCustomer(customer.ID) // its number changed: its conversations are read again
	}
	if msg.Media != nil && msg.Media.ID != "" && in.jobs != nil {
		if err := in.jobs.EnqueueMediaDownload(ctx, tx, msg.ID); err != nil {
			return err
		}
	}
	// The bot answers in its own job, never inside the webhook; a reaction
	// is not an answer.
	if bj, ok := in.jobs.(BotEnqueuer); ok && conv.Status == StatusBot && m.Type != "reaction" {
		if err := bj.EnqueueBotStep(ctx, tx, BotStep{ConversationID: conv.ID, MessageID: msg.ID, Text: m.Text, ReplyID: m.ReplyID}); err != nil {
			return err
		}
	}
	if created {
		res.NewConversations = append(res.NewConversations, conv)
	}
	res.Messages = append(res.Messages, msg)
	return nil
}

// applyStatus applies st, which names a wamid and a status (applyBatch
// skips the others); recorded is false for a status already received (the
// same wamid and status).
func (in *Ingester) applyStatus(ctx context.Context, tx Store, st StatusUpdate, now time.Time, res *IngestResult) (recorded bool, err error) {
	at := st.Timestamp
	if at.IsZero() {
		at = now
	}
	ev := StatusEvent{
		WAMessageID: st.WAMessageID, Status: st.Status, OccurredAt: at,
		ErrorCode: st.ErrorCode, ErrorMessage: st.ErrorMessage, ReceivedAt: now,
	}
	found, err := tx.ApplyMessageStatus(ctx, ev)
	if err != nil {
		return false, err
	}
	if !found && ValidID(st.CallbackData) {
		claimed, err := tx.ClaimWAMID(ctx, st.CallbackData, st.WAMessageID)
		if err != nil {
			return false, err
		}
		if claimed {
			if found, err = tx.ApplyMessageStatus(ctx, ev); err != nil {
				return false, err
			}
		}
	}
	ev.Known = found
	if found {
		res.StatusesApplied++
	} else {
		res.UnknownStatuses++
	}
	return tx.RecordStatusEvent(ctx, ev)
}

// previewLength is how much of a message the conversation list shows.
const previewLength = 120

// Preview is the one-line summary of a message for conversation lists.
func Preview(m Message) string {
	s := m.Text
	if s == "" {
		s = "[" + m.Type + "]"
	}
	if utf8.RuneCountInString(s) > previewLength {
		r := []rune(s)
		s = string(r[:previewLength-1]) + "…"
	}
	return s
}

func distinctNumbers(d WebhookDelivery) int {
	seen := map[string]bool{}
	for _, b := range d.Batches {
		seen[b.PhoneNumberID] = true
	}
	return len(seen)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// customerKeys names the customers a delivery touches: the smallest of the
// equivalent forms of each sender's number, so both Brazilian variants of
// one mobile share a lane.
func customerKeys(d WebhookDelivery) []string {
	var keys []string
	for _, b := range d.Batches {
		for _, m := range b.Messages {
			// A changed number's notice also names the new number, whose
			// messages must not overtake the re-keying.
			for _, waIDs := range [][]string{m.FromWAIDs, m.NewWAIDs} {
				if len(waIDs) > 0 {
					keys = append(keys, slices.Min(waIDs))
				}
			}
		}
	}
	return keys
}
