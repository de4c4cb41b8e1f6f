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
}

// IngestResult says what a delivery changed.
type IngestResult struct {
	Duplicate bool // the same body was ingested before; nothing changed
	Messages  []Message
	// NewConversations are the conversations this delivery opened.
	NewConversations []Conversation
	StatusesApplied  int
	UnknownStatuses  int
	Unrouted         []string // phone_number_ids with no channel
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
// keep up with Meta's bursts. A delivery always goes to the lane of its
// customer, so one customer's messages are applied in order and never race
// each other into two conversations; several lanes let PostgreSQL use more
// than one connection.
type Ingester struct {
	store    Store
	jobs     Enqueuer // may be nil: no follow-up jobs (media download)
	now      func() time.Time
	lanes    []chan *ingestRequest
	maxBatch int
	stop     chan struct{}
	wg       sync.WaitGroup
	closed   sync.Once
}

type ingestRequest struct {
	d    WebhookDelivery
	done chan ingestReply // buffered: the lane never blocks on a gone caller
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
func (in *Ingester) Close() {
	in.closed.Do(func() { close(in.stop) })
	in.wg.Wait()
}

// ErrIngesterClosed is returned by Ingest after Close.
var ErrIngesterClosed = errors.New("ingester closed")

// Ingest stores the delivery and its effects durably and returns what it
// changed. A body already ingested is recognised and skipped (Duplicate).
// When ctx ends first, the delivery may still be committed; Meta's
// redelivery is then a harmless duplicate.
func (in *Ingester) Ingest(ctx context.Context, d WebhookDelivery) (IngestResult, error) {
	req := &ingestRequest{d: d, done: make(chan ingestReply, 1)}
	lane := in.lanes[laneOf(d, len(in.lanes))]
	select {
	case <-in.stop:
		return IngestResult{}, ErrIngesterClosed
	case lane <- req:
	case <-ctx.Done():
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
		for i, req := range batch {
			results[i] = IngestResult{}
			if err := in.apply(ctx, tx, req.d, &results[i], bc); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		for i, req := range batch {
			req.done <- ingestReply{res: results[i]}
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
			return in.apply(ctx, tx, batch[0].d, &results[0], bc)
		})
	}
	batch[0].done <- ingestReply{res: results[0], err: err}
}

// laneOf picks the lane of a delivery's first customer, so all of one
// customer's deliveries share a lane and keep their order.
func laneOf(d WebhookDelivery, lanes int) int {
	if lanes == 1 {
		return 0
	}
	keys := customerKeys(d)
	if len(keys) == 0 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(keys[0]))
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
}

// newBatchCache reads, in one statement, which of the batch's messages are
// stored already.
func newBatchCache(ctx context.Context, tx Store, batch []WebhookDelivery) (*batchCache, error) {
	var ids []string
	for _, d := range batch {
		for _, b := range d.Batches {
			for _, m := range b.Messages {
				if m.WAMessageID != "" {
					ids = append(ids, m.WAMessageID)
				}
			}
		}
	}
	known, err := tx.StoredWAMIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	botOn, err := BotEnabled(ctx, tx)
	if err != nil {
		return nil, err
	}
	return &batchCache{channels: map[string]Channel{}, known: known, botOn: botOn}, nil
}

// apply writes one delivery inside tx.
func (in *Ingester) apply(ctx context.Context, tx Store, d WebhookDelivery, res *IngestResult, bc *batchCache) error {
	channels := bc.channels
	now := in.now()
	for _, b := range d.Batches {
		ch, seen := channels[b.PhoneNumberID]
		if !seen {
			var err error
			ch, err = tx.GetChannelByPhoneNumberID(ctx, b.PhoneNumberID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if ch.Status == ChannelDisabled {
				ch = Channel{} // a disabled number's messages wait in the inbox, unrouted
			}
			channels[b.PhoneNumberID] = ch
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
	sum := sha256.Sum256(d.Body)
	inserted, err := tx.InsertInboxEntry(ctx, InboxEntry{
		ID: NewID(), BodySHA256: hex.EncodeToString(sum[:]), Body: d.Body, Status: status, ReceivedAt: d.ReceivedAt,
	})
	if err != nil {
		return err
	}
	if !inserted {
		res.Duplicate = true
		res.Unrouted = nil
		return nil
	}
	for _, b := range d.Batches {
		ch := channels[b.PhoneNumberID]
		if ch.ID == "" {
			continue
		}
		for _, m := range b.Messages {
			if err := in.applyMessage(ctx, tx, ch, m, now, res, bc); err != nil {
				return err
			}
		}
		for _, st := range b.Statuses {
			if err := in.applyStatus(ctx, tx, st, now, res); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyMessage stores one message. bc.known holds the wamids already stored
// (looked up once for the whole batch) and those stored by this batch.
func (in *Ingester) applyMessage(ctx context.Context, tx Store, ch Channel, m InboundMessage, now time.Time, res *IngestResult, bc *batchCache) error {
	known := bc.known
	if m.WAMessageID == "" || len(m.FromWAIDs) == 0 {
		return nil // nothing to key it on; the raw body stays in the inbox
	}
	// A redelivered message must not reopen a conversation closed since.
	if known[m.WAMessageID] {
		return nil
	}
	known[m.WAMessageID] = true
	at := m.Timestamp.UTC().Truncate(time.Millisecond)
	if at.IsZero() || at.Before(now.Add(-maxWebhookAge)) || at.After(now.Add(maxFutureSkew)) {
		at = now
	}
	customer, err := tx.UpsertCustomer(ctx, m.FromWAIDs, m.ProfileName, at, now)
	if err != nil {
		return err
	}
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
	if err := tx.NoteInboundMessage(ctx, conv.ID, Preview(msg), at, now); err != nil {
		return err
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

func (in *Ingester) applyStatus(ctx context.Context, tx Store, st StatusUpdate, now time.Time, res *IngestResult) error {
	if st.WAMessageID == "" || st.Status == "" {
		return nil
	}
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
		return err
	}
	if !found && ValidID(st.CallbackData) {
		claimed, err := tx.ClaimWAMID(ctx, st.CallbackData, st.WAMessageID)
		if err != nil {
			return err
		}
		if claimed {
			if found, err = tx.ApplyMessageStatus(ctx, ev); err != nil {
				return err
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
			if len(m.FromWAIDs) > 0 {
				ids := slices.Clone(m.FromWAIDs)
				slices.Sort(ids)
				keys = append(keys, ids[0])
			}
		}
	}
	return keys
}
