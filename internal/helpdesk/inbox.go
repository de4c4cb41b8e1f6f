package helpdesk

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Audit actions of the webhook inbox.
const AuditInboxReplay = "webhook_inbox.replay"

// InboxFilter selects inbox entries. Zero fields do not filter.
type InboxFilter struct {
	Status string
	// Pending keeps the entries some number of which no channel took
	// (unrouted and partial).
	Pending bool
	// BodyContains keeps entries whose raw body contains it (a coarse
	// filter; callers check what they parse).
	BodyContains string
	// Oldest lists in received order; otherwise newest first.
	Oldest bool
	// After continues a listing after this entry, in the listing's order.
	After *InboxCursor
	Limit int
}

// InboxCursor is the position of an entry in received order.
type InboxCursor struct {
	ReceivedAt time.Time
	ID         string
}

// InboxStore reads and prunes the webhook inbox; the ingest writes it
// (IngestStore.InsertInboxEntries).
type InboxStore interface {
	// ListInboxEntries returns up to f.Limit entries, bodies included.
	ListInboxEntries(ctx context.Context, f InboxFilter) ([]InboxEntry, error)
	GetInboxEntry(ctx context.Context, id string) (InboxEntry, error)
	// SetInboxEntryStatus records a replay's outcome on its entry;
	// ErrNotFound when the entry is gone.
	SetInboxEntryStatus(ctx context.Context, id, status, note string) error
	// NoteInboxEntry sets the note of an entry that is still in status, and
	// does nothing when it is not (a replay or the retention job came
	// first), is gone or holds that note already.
	NoteInboxEntry(ctx context.Context, id, status, note string) error
	// DeleteInboxEntries deletes up to limit entries in status received
	// before before, oldest first, and returns how many it deleted.
	DeleteInboxEntries(ctx context.Context, status string, before time.Time, limit int) (int, error)
}

// ValidInboxStatus reports whether s is an inbox entry status.
func ValidInboxStatus(s string) bool {
	return s == InboxProcessed || s == InboxUnrouted || s == InboxPartial
}

// ValidPhoneNumberID reports whether s looks like Meta's Phone number ID.
func ValidPhoneNumberID(s string) bool { return phoneNumberIDPattern.MatchString(s) }

// DeliveryParser turns a stored webhook body back into a delivery, the way
// the webhook route does (the whatsapp package's mapping lives with it).
type DeliveryParser func(body []byte, receivedAt time.Time) (WebhookDelivery, error)

// Inbox lets admins see the stored webhook bodies and re-apply them: a
// customer who wrote to a number before it was connected (or while it was
// disabled) reaches the agents once it is. Replays go through the same
// Ingester as live webhooks, so they are idempotent the same way: messages
// are unique by wamid and statuses only move forward.
type Inbox struct {
	desk      *Service
	ingest    *Ingester
	parse     DeliveryParser
	appSecret string
}

// NewInbox returns the inbox over desk's store. appSecret is
// WHATSAPP_APP_SECRET: the app of the numbers whose channel has no secret
// of its own.
func NewInbox(desk *Service, in *Ingester, parse DeliveryParser, appSecret string) *Inbox {
	return &Inbox{desk: desk, ingest: in, parse: parse, appSecret: appSecret}
}

// SignerFingerprint names the app secret that signed a webhook without
// keeping the secret: the inbox stores it so that a replay only routes a
// body to numbers of that app (see InboxReplay.Bound).
func SignerFingerprint(secret string) string {
	sum := sha256.Sum256([]byte("supportwhatsapp webhook signer\x00" + secret))
	return hex.EncodeToString(sum[:16])
}

// bound reports whether e's signer is the app of ch: the live webhook
// route's rule (a number's webhooks are signed by its own app secret, or by
// WHATSAPP_APP_SECRET when it has none). A body kept while its number had
// no channel was accepted whatever signed it, so without this whoever holds
// any one app's secret could plant messages for a number yet to be
// connected. Bodies stored before signers were recorded pass: only an
// admin's explicit replay reaches them (the automatic one leaves them).
func (ib *Inbox) bound(e InboxEntry, ch Channel) bool {
	if e.Signer == "" {
		return true
	}
	own := ch.AppSecret
	if own == "" {
		own = ib.appSecret
	}
	return own != "" && subtle.ConstantTimeCompare([]byte(SignerFingerprint(own)), []byte(e.Signer)) == 1
}

// InboxItem is an entry with the business numbers its body speaks for.
type InboxItem struct {
	InboxEntry
	PhoneNumberIDs []string
}

// InboxQuery selects entries for List, newest first.
type InboxQuery struct {
	Status        string
	PhoneNumberID string
	Limit         int
	After         *InboxCursor
}

// List returns up to q.Limit entries, newest first. Only admins may.
func (ib *Inbox) List(ctx context.Context, actor Actor, q InboxQuery) ([]InboxItem, error) {
	if actor.User.Role != RoleAdmin {
		return nil, errForbidden()
	}
	if err := validateInboxQuery(q.Status, q.PhoneNumberID); err != nil {
		return nil, err
	}
	var out []InboxItem
	err := ib.scan(ctx, InboxFilter{Status: q.Status, After: q.After, Limit: q.Limit}, q.PhoneNumberID, func(it InboxItem) (bool, error) {
		out = append(out, it)
		return len(out) < q.Limit, nil
	})
	return out, err
}

// scan calls fn with the entries of f whose body names phoneNumberID (any
// when empty), in f's order, until fn says stop. The phone number filter
// narrows in SQL by the digits and checks the parsed body, so a customer
// number that happens to contain them does not count.
func (ib *Inbox) scan(ctx context.Context, f InboxFilter, phoneNumberID string, fn func(InboxItem) (bool, error)) error {
	f.BodyContains = phoneNumberID
	f.Limit = max(min(f.Limit, 100), 1)
	for {
		es, err := ib.desk.store.ListInboxEntries(ctx, f)
		if err != nil {
			return err
		}
		for _, e := range es {
			it := InboxItem{InboxEntry: e, PhoneNumberIDs: ib.phoneNumberIDs(e)}
			if phoneNumberID != "" && !slices.Contains(it.PhoneNumberIDs, phoneNumberID) {
				continue
			}
			more, err := fn(it)
			if err != nil || !more {
				return err
			}
		}
		if len(es) < f.Limit {
			return nil
		}
		last := es[len(es)-1]
		f.After = &InboxCursor{ReceivedAt: last.ReceivedAt, ID: last.ID}
	}
}

func (ib *Inbox) phoneNumberIDs(e InboxEntry) []string {
	d, err := ib.parse(e.Body, e.ReceivedAt)
	if err != nil {
		return []string{} // stored only after it parsed; nothing to name otherwise
	}
	ids := []string{}
	for _, b := range d.Batches {
		if !slices.Contains(ids, b.PhoneNumberID) {
			ids = append(ids, b.PhoneNumberID)
		}
	}
	return ids
}

// Get returns one entry, body included. Only admins may.
func (ib *Inbox) Get(ctx context.Context, actor Actor, id string) (InboxItem, error) {
	if actor.User.Role != RoleAdmin {
		return InboxItem{}, errForbidden()
	}
	e, err := ib.entry(ctx, id)
	if err != nil {
		return InboxItem{}, err
	}
	return InboxItem{InboxEntry: e, PhoneNumberIDs: ib.phoneNumberIDs(e)}, nil
}

func (ib *Inbox) entry(ctx context.Context, id string) (InboxEntry, error) {
	if !ValidID(id) {
		return InboxEntry{}, ValidationError(map[string]string{"id": "is not a valid id"})
	}
	e, err := ib.desk.store.GetInboxEntry(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return InboxEntry{}, errNotFound("inbox entry")
	}
	return e, err
}

// ReplayResult is what re-applying one entry did.
type ReplayResult struct {
	EntryID        string
	PreviousStatus string
	Status         string
	// MessagesStored are the messages new to the helpdesk; Duplicates the
	// messages and statuses it had already.
	MessagesStored  int
	Duplicates      int
	StatusesApplied int
	Unrouted        []string
	// Unbound are the numbers whose channel's app did not sign the body;
	// they stay unrouted (also counted in Unrouted).
	Unbound []string
}

// Replay re-applies one stored body, as if Meta delivered it again now
// (its signature was checked when it arrived). Only admins may.
func (ib *Inbox) Replay(ctx context.Context, actor Actor, id string) (ReplayResult, error) {
	if actor.User.Role != RoleAdmin {
		return ReplayResult{}, errForbidden()
	}
	e, err := ib.entry(ctx, id)
	if err != nil {
		return ReplayResult{}, err
	}
	return ib.replay(ctx, e, ib.desk.audit(actor, AuditInboxReplay, "webhook_inbox", e.ID, map[string]any{}))
}

func (ib *Inbox) replay(ctx context.Context, e InboxEntry, audit AuditLog) (ReplayResult, error) {
	d, err := ib.parse(e.Body, e.ReceivedAt)
	if err != nil {
		// Bodies are stored after they parsed; one that no longer does (a
		// row written by hand, a parser that became stricter) has nothing
		// to apply.
		return ReplayResult{}, &Error{Code: CodeUnprocessable, Message: "the stored body is not a WhatsApp webhook: " + err.Error()}
	}
	d.Replay = &InboxReplay{EntryID: e.ID, Audit: audit, Bound: func(ch Channel) bool { return ib.bound(e, ch) }}
	res, err := ib.ingest.Ingest(ctx, d)
	if errors.Is(err, errInboxEntryGone) {
		return ReplayResult{}, errNotFound("inbox entry")
	}
	if err != nil {
		return ReplayResult{}, err
	}
	ib.desk.Ingested(ctx, d, res) // real-time events, as for a live webhook
	return ReplayResult{
		EntryID: e.ID, PreviousStatus: e.Status, Status: res.InboxStatus, MessagesStored: len(res.Messages),
		Duplicates: res.Redelivered, StatusesApplied: res.StatusesApplied, Unrouted: res.Unrouted, Unbound: res.Unbound,
	}, nil
}

// ReplayAllResult adds up a bulk replay.
type ReplayAllResult struct {
	Entries   int
	Processed int // entries now fully routed
	Partial   int
	Unrouted  int // entries whose numbers still have no active channel
	Skipped   int // entries whose body no longer parses (left as they are)
	// Unsigned are the entries stored before the inbox recorded their
	// signer, which an automatic replay leaves for an explicit one.
	Unsigned       int
	MessagesStored int
	Duplicates     int
}

func (r *ReplayAllResult) add(one ReplayResult) {
	r.Entries++
	switch one.Status {
	case InboxProcessed:
		r.Processed++
	case InboxPartial:
		r.Partial++
	default:
		r.Unrouted++
	}
	r.MessagesStored += one.MessagesStored
	r.Duplicates += one.Duplicates
}

// ReplayAll replays every entry in status (default unrouted) whose body
// names phoneNumberID (any when empty), oldest first so that a customer's
// messages keep their order. Only admins may.
func (ib *Inbox) ReplayAll(ctx context.Context, actor Actor, status, phoneNumberID string) (ReplayAllResult, error) {
	if actor.User.Role != RoleAdmin {
		return ReplayAllResult{}, errForbidden()
	}
	return ib.replayStatus(ctx, status, phoneNumberID, func(e InboxEntry) AuditLog {
		return ib.desk.audit(actor, AuditInboxReplay, "webhook_inbox", e.ID, map[string]any{"bulk": true})
	})
}

// ReplayUnrouted replays the entries a number that just got an active
// channel has waiting (the automatic replay job): the unrouted ones and the
// partial ones, whose other numbers had a channel, together in received
// order. actorID is the admin whose change triggered it, trigger the audit
// action of that change.
//
// It leaves the entries stored before the inbox recorded their signer (they
// have no Signer), noting why on each: any app's secret may have signed
// such a body, so routing it to the number on its own would let one app's
// webhooks write into another app's number, which is what the signature
// binding prevents. An admin who knows where they came from replays them
// explicitly.
func (ib *Inbox) ReplayUnrouted(ctx context.Context, phoneNumberID, actorID, trigger string) (ReplayAllResult, error) {
	if err := validateInboxQuery("", phoneNumberID); err != nil {
		return ReplayAllResult{}, err
	}
	return ib.replayAll(ctx, InboxFilter{Pending: true}, phoneNumberID, true, ib.automaticAudit(phoneNumberID, actorID, trigger))
}

// ReplayMatching is ReplayAll for the process itself (jobs, the command
// line): no role check; the audit rows name actorID (may be "") and
// trigger, and are marked automatic.
func (ib *Inbox) ReplayMatching(ctx context.Context, status, phoneNumberID, actorID, trigger string) (ReplayAllResult, error) {
	return ib.replayStatus(ctx, status, phoneNumberID, ib.automaticAudit(phoneNumberID, actorID, trigger))
}

// replayStatus replays the entries in status (default unrouted) that name
// phoneNumberID (any when empty).
func (ib *Inbox) replayStatus(ctx context.Context, status, phoneNumberID string, audit func(InboxEntry) AuditLog) (ReplayAllResult, error) {
	if status == "" {
		status = InboxUnrouted
	}
	if err := validateInboxQuery(status, phoneNumberID); err != nil {
		return ReplayAllResult{}, err
	}
	return ib.replayAll(ctx, InboxFilter{Status: status}, phoneNumberID, false, audit)
}

func (ib *Inbox) automaticAudit(phoneNumberID, actorID, trigger string) func(InboxEntry) AuditLog {
	return func(e InboxEntry) AuditLog {
		return ib.desk.audit(Actor{User: User{ID: actorID}}, AuditInboxReplay, "webhook_inbox", e.ID,
			map[string]any{"automatic": true, "trigger": trigger, "phoneNumberId": phoneNumberID})
	}
}

// unsignedNote is the note of an entry the automatic replay leaves. It is
// the same on every pass, so the store writes it once, not on each of the
// two passes of every number connected later.
const unsignedNote = "not replayed automatically: stored before the inbox recorded which app signed it, so it may be " +
	"another app's; replay it explicitly to route it (a partial entry with status partial)"

// replayAll pages through the matching entries in received order. The
// cursor moves past each entry whatever its new status, so entries that
// stay unrouted are not tried again in the same run. skipUnsigned leaves
// the entries without a signer (see ReplayUnrouted).
func (ib *Inbox) replayAll(ctx context.Context, f InboxFilter, phoneNumberID string, skipUnsigned bool, audit func(InboxEntry) AuditLog) (ReplayAllResult, error) {
	var total ReplayAllResult
	f.Oldest, f.Limit = true, 100
	err := ib.scan(ctx, f, phoneNumberID, func(it InboxItem) (bool, error) {
		if skipUnsigned && it.Signer == "" {
			if err := ib.desk.store.NoteInboxEntry(ctx, it.ID, it.Status, unsignedNote); err != nil {
				return false, err
			}
			total.Unsigned++
			return true, nil
		}
		one, err := ib.replay(ctx, it.InboxEntry, audit(it.InboxEntry))
		if ErrorCode(err) == CodeNotFound {
			return true, nil // pruned since it was listed: nothing left to apply
		}
		if ErrorCode(err) == CodeUnprocessable {
			total.Skipped++
			return true, nil
		}
		if err != nil {
			return false, err
		}
		total.add(one)
		return true, nil
	})
	return total, err
}

func validateInboxQuery(status, phoneNumberID string) error {
	fields := map[string]string{}
	if status != "" && !ValidInboxStatus(status) {
		fields["status"] = "must be processed, unrouted or partial"
	}
	if phoneNumberID != "" && !ValidPhoneNumberID(phoneNumberID) {
		fields["phoneNumberId"] = "must be a numeric Phone number ID"
	}
	if len(fields) > 0 {
		return ValidationError(fields)
	}
	return nil
}

// Prune deletes the processed entries received before cutoff, batch rows
// per statement, at most maxBatches statements (the rest waits for the
// next run). Unrouted and partial entries are kept: replay needs them.
func (ib *Inbox) Prune(ctx context.Context, cutoff time.Time, batch, maxBatches int) (int, error) {
	total := 0
	for range maxBatches {
		n, err := ib.desk.store.DeleteInboxEntries(ctx, InboxProcessed, cutoff, batch)
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
	return total, nil
}

// errInboxEntryGone: the entry a replay applies was deleted (by the
// retention job) after the replay read it; the transaction rolls back.
var errInboxEntryGone = errors.New("the inbox entry was deleted during its replay")

// recordReplay writes a replayed delivery's outcome on its entry and in the
// audit log, in the transaction that applied it: the entry keeps the body
// as it came, its status says what it is now, and its note what the last
// replay did.
func (in *Ingester) recordReplay(ctx context.Context, tx Store, r *InboxReplay, res *IngestResult, now time.Time) error {
	note := fmt.Sprintf("replayed %s: %d new messages, %d already received", now.UTC().Format(time.RFC3339), len(res.Messages), res.Redelivered)
	if len(res.Unbound) > 0 {
		note += fmt.Sprintf("; not signed by the app of %v, left unrouted", res.Unbound)
	}
	if err := tx.SetInboxEntryStatus(ctx, r.EntryID, res.InboxStatus, note); err != nil {
		if errors.Is(err, ErrNotFound) {
			return errInboxEntryGone
		}
		return err
	}
	a := r.Audit
	if a.ID == "" {
		return nil
	}
	if a.Details == nil {
		a.Details = map[string]any{}
	}
	a.Details["status"] = res.InboxStatus
	a.Details["messagesStored"] = len(res.Messages)
	a.Details["duplicates"] = res.Redelivered
	if len(res.Unbound) > 0 {
		a.Details["unbound"] = res.Unbound
	}
	return tx.InsertAuditLog(ctx, a)
}
