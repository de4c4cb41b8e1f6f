package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// testInbox: the webhook inbox is listed in both orders with a cursor,
// filtered by status and body, replayed through the ingest (idempotent:
// nothing is stored twice, statuses do not move back) and pruned of old
// processed entries only.
func testInbox(t *testing.T, open Opener) {
	t.Run("ListGetSetDelete", func(t *testing.T) { t.Parallel(); testInboxRows(t, open) })
	t.Run("ReplayAfterChannelConnected", func(t *testing.T) { t.Parallel(); testInboxReplay(t, open) })
	t.Run("AutomaticReplaySkipsUnsigned", func(t *testing.T) { t.Parallel(); testInboxReplayUnsigned(t, open) })
	t.Run("ReplayKeepsStatusesForward", func(t *testing.T) { t.Parallel(); testInboxReplayStatuses(t, open) })
	t.Run("Prune", func(t *testing.T) { t.Parallel(); testInboxPrune(t, open) })
	t.Run("ReplayOfAnEntryPruned", func(t *testing.T) { t.Parallel(); testInboxReplayPruned(t, open) })
}

func mustInsertInbox(t *testing.T, s helpdesk.Store, body, status string, at time.Time) helpdesk.InboxEntry {
	t.Helper()
	e := helpdesk.InboxEntry{ID: helpdesk.NewID(), BodySHA256: fmt.Sprintf("%064d", len(body)), Body: []byte(body), Status: status, ReceivedAt: at}
	if err := s.InsertInboxEntries(t.Context(), []helpdesk.InboxEntry{e}); err != nil {
		t.Fatalf("InsertInboxEntries: %v", err)
	}
	return e
}

func entryIDs(es []helpdesk.InboxEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func testInboxRows(t *testing.T, open Opener) {
	s, ctx := open(t), t.Context()
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	var all []helpdesk.InboxEntry
	for i, st := range []string{helpdesk.InboxProcessed, helpdesk.InboxUnrouted, helpdesk.InboxProcessed, helpdesk.InboxPartial, helpdesk.InboxUnrouted} {
		// Two share a time: the id breaks the tie.
		at := base.Add(time.Duration(min(i, 3)) * time.Minute)
		all = append(all, mustInsertInbox(t, s, fmt.Sprintf(`{"n":"10000%d","pad":"50%%_"}`, i), st, at))
	}
	// Newest first, two per page, across three pages.
	var got []helpdesk.InboxEntry
	var after *helpdesk.InboxCursor
	for page := 0; ; page++ {
		es, err := s.ListInboxEntries(ctx, helpdesk.InboxFilter{Limit: 2, After: after})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, es...)
		if len(es) < 2 || page > 5 {
			break
		}
		after = &helpdesk.InboxCursor{ReceivedAt: es[len(es)-1].ReceivedAt, ID: es[len(es)-1].ID}
	}
	newest := []string{all[4].ID, all[3].ID, all[2].ID, all[1].ID, all[0].ID}
	if all[4].ID < all[3].ID { // same time: the larger id comes first
		newest[0], newest[1] = all[3].ID, all[4].ID
	}
	if g := entryIDs(got); !slices.Equal(g, newest) {
		t.Errorf("newest first = %v, want %v", g, newest)
	}
	if got[0].Body == nil || got[0].ReceivedAt.IsZero() || got[0].BodySHA256 == "" {
		t.Errorf("entry not read back whole: %+v", got[0])
	}
	oldest, err := s.ListInboxEntries(ctx, helpdesk.InboxFilter{Oldest: true, Status: helpdesk.InboxUnrouted, Limit: 10})
	if err != nil || !slices.Equal(entryIDs(oldest), []string{all[1].ID, all[4].ID}) {
		t.Errorf("unrouted oldest first = %v, %v", entryIDs(oldest), err)
	}
	next, err := s.ListInboxEntries(ctx, helpdesk.InboxFilter{Oldest: true, Status: helpdesk.InboxUnrouted, Limit: 10,
		After: &helpdesk.InboxCursor{ReceivedAt: oldest[0].ReceivedAt, ID: oldest[0].ID}})
	if err != nil || !slices.Equal(entryIDs(next), []string{all[4].ID}) {
		t.Errorf("unrouted after the first = %v, %v", entryIDs(next), err)
	}
	// A cursor is an instant: the same one in another zone pages the same.
	brt := time.FixedZone("BRT", -3*3600)
	next, err = s.ListInboxEntries(ctx, helpdesk.InboxFilter{Oldest: true, Status: helpdesk.InboxUnrouted, Limit: 10,
		After: &helpdesk.InboxCursor{ReceivedAt: oldest[0].ReceivedAt.In(brt), ID: oldest[0].ID}})
	if err != nil || !slices.Equal(entryIDs(next), []string{all[4].ID}) {
		t.Errorf("unrouted after the first, cursor in BRT = %v, %v", entryIDs(next), err)
	}
	pending, err := s.ListInboxEntries(ctx, helpdesk.InboxFilter{Oldest: true, Pending: true, Limit: 10})
	if err != nil || !slices.Equal(entryIDs(pending), []string{all[1].ID, all[3].ID, all[4].ID}) &&
		!slices.Equal(entryIDs(pending), []string{all[1].ID, all[4].ID, all[3].ID}) { // [3] and [4] share a time
		t.Errorf("pending oldest first = %v, %v; want unrouted and partial", entryIDs(pending), err)
	}
	// LIKE wildcards in the filter are taken literally.
	for _, tc := range []struct {
		contains string
		want     int
	}{{"100003", 1}, {"1000", 5}, {"50%_", 5}, {"5_%", 0}, {"%", 5}, {"_pad", 0}} {
		es, err := s.ListInboxEntries(ctx, helpdesk.InboxFilter{BodyContains: tc.contains, Limit: 10})
		if err != nil || len(es) != tc.want {
			t.Errorf("BodyContains %q: %d entries (%v), want %d", tc.contains, len(es), err, tc.want)
		}
	}

	e, err := s.GetInboxEntry(ctx, all[3].ID)
	if err != nil || e.Status != helpdesk.InboxPartial || string(e.Body) != string(all[3].Body) || !e.ReceivedAt.Equal(all[3].ReceivedAt) {
		t.Errorf("GetInboxEntry = %+v, %v", e, err)
	}
	_, err = s.GetInboxEntry(ctx, helpdesk.NewID())
	requireErr(t, err, helpdesk.ErrNotFound)
	if err := s.SetInboxEntryStatus(ctx, all[3].ID, helpdesk.InboxProcessed, "replayed"); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.GetInboxEntry(ctx, all[3].ID); e.Status != helpdesk.InboxProcessed || e.Note != "replayed" || string(e.Body) != string(all[3].Body) {
		t.Errorf("after SetInboxEntryStatus: %+v", e)
	}
	requireErr(t, s.SetInboxEntryStatus(ctx, helpdesk.NewID(), helpdesk.InboxProcessed, ""), helpdesk.ErrNotFound)
	// A note is set only while the entry is in the status its writer read.
	for _, tc := range []struct{ status, want string }{{helpdesk.InboxPartial, ""}, {helpdesk.InboxUnrouted, "noted"}} {
		if err := s.NoteInboxEntry(ctx, all[1].ID, tc.status, "noted"); err != nil {
			t.Fatal(err)
		}
		if e, _ := s.GetInboxEntry(ctx, all[1].ID); e.Status != helpdesk.InboxUnrouted || e.Note != tc.want {
			t.Errorf("after NoteInboxEntry(%s): %q %q, want unrouted %q", tc.status, e.Status, e.Note, tc.want)
		}
	}
	if err := s.NoteInboxEntry(ctx, helpdesk.NewID(), helpdesk.InboxUnrouted, "x"); err != nil {
		t.Errorf("NoteInboxEntry of an entry that is gone: %v", err)
	}
}

// replayParser reads the test bodies: a delivery's batches as JSON.
func replayParser(body []byte, receivedAt time.Time) (helpdesk.WebhookDelivery, error) {
	d := helpdesk.WebhookDelivery{Body: body, ReceivedAt: receivedAt}
	if err := json.Unmarshal(body, &d.Batches); err != nil {
		return helpdesk.WebhookDelivery{}, err
	}
	return d, nil
}

func testBody(t *testing.T, batches ...helpdesk.ChannelBatch) []byte {
	b, err := json.Marshal(batches)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var inboxAdmin = helpdesk.Actor{User: helpdesk.User{Role: helpdesk.RoleAdmin}}

func newTestInbox(t *testing.T, s helpdesk.Store) (*helpdesk.Inbox, *helpdesk.Ingester) {
	in := helpdesk.NewIngester(s, helpdesk.IngesterOptions{})
	t.Cleanup(in.Close)
	return helpdesk.NewInbox(helpdesk.NewService(s, nil, nil, nil), in, replayParser, "app-secret"), in
}

func countMessages(t *testing.T, s helpdesk.Store, wamid string) int {
	t.Helper()
	known, err := s.StoredWAMIDs(t.Context(), []string{wamid})
	if err != nil {
		t.Fatal(err)
	}
	if known[wamid] {
		return 1
	}
	return 0
}

func testInboxReplay(t *testing.T, open Opener) {
	s, ctx := open(t), t.Context()
	ib, in := newTestInbox(t, s)
	const later = "5550000001"
	msg := helpdesk.InboundMessage{WAMessageID: "wamid.early", FromWAIDs: []string{"5511977770000"}, ProfileName: "Rita",
		Type: "text", Text: "alguém aí?", Timestamp: time.Now().Add(-time.Minute)}
	body := testBody(t, helpdesk.ChannelBatch{PhoneNumberID: later, Messages: []helpdesk.InboundMessage{msg}})
	d, _ := replayParser(body, helpdesk.Now())
	d.Signer = helpdesk.SignerFingerprint("secret") // mustUpsertChannel's
	res, err := in.Ingest(ctx, d)
	if err != nil || res.InboxStatus != helpdesk.InboxUnrouted || len(res.Messages) != 0 {
		t.Fatalf("first ingest: %+v, %v", res, err)
	}
	// Nothing to route to yet: the replay leaves it unrouted.
	r, err := ib.ReplayUnrouted(ctx, later, "", "test")
	if err != nil || r.Entries != 1 || r.Unrouted != 1 || r.MessagesStored != 0 {
		t.Fatalf("replay without a channel = %+v, %v", r, err)
	}
	mustUpsertChannel(t, s, later)
	r, err = ib.ReplayUnrouted(ctx, later, "", "test")
	if err != nil || r.Entries != 1 || r.Processed != 1 || r.MessagesStored != 1 {
		t.Fatalf("replay after the channel = %+v, %v", r, err)
	}
	if n := countMessages(t, s, "wamid.early"); n != 1 {
		t.Fatalf("message stored %d times", n)
	}
	es, err := s.ListInboxEntries(ctx, helpdesk.InboxFilter{Limit: 10})
	if err != nil || len(es) != 1 || es[0].Status != helpdesk.InboxProcessed || es[0].Note == "" || string(es[0].Body) != string(body) {
		t.Fatalf("inbox after replay (one row, updated, body as it came) = %+v, %v", es, err)
	}
	// Nothing unrouted is left; a replay of the processed entry stores nothing.
	if r, err := ib.ReplayUnrouted(ctx, later, "", "test"); err != nil || r.Entries != 0 {
		t.Errorf("second automatic replay = %+v, %v", r, err)
	}
	one, err := ib.Replay(ctx, inboxAdmin, es[0].ID)
	if err != nil || one.MessagesStored != 0 || one.Duplicates != 1 || one.Status != helpdesk.InboxProcessed || one.PreviousStatus != helpdesk.InboxProcessed {
		t.Errorf("replay of a processed entry = %+v, %v", one, err)
	}
	var convs []helpdesk.Conversation
	if convs, err = s.ListConversations(ctx, helpdesk.ConversationFilter{Limit: 10}); err != nil || len(convs) != 1 || convs[0].UnreadCount != 1 {
		t.Errorf("conversations = %+v, %v; want one with one unread message", convs, err)
	}
	logs, err := s.ListAuditLogs(ctx, helpdesk.AuditFilter{Action: helpdesk.AuditInboxReplay, EntityID: es[0].ID})
	if err != nil || len(logs) != 3 {
		t.Errorf("replay audit rows = %d (%v), want 3", len(logs), err)
	}
	// A body signed by another app than the number's stays unrouted: the
	// webhook route would have refused it for a connected number.
	for i, signer := range []string{"another-app-secret", "secret"} { // mustUpsertChannel's secret
		wamid := fmt.Sprintf("wamid.signed%d", i)
		m := msg
		m.WAMessageID = wamid
		d, _ := replayParser(testBody(t, helpdesk.ChannelBatch{PhoneNumberID: "5550000009", Messages: []helpdesk.InboundMessage{m}}), helpdesk.Now())
		d.Signer = helpdesk.SignerFingerprint(signer)
		if res, err := in.Ingest(ctx, d); err != nil || res.InboxStatus != helpdesk.InboxUnrouted {
			t.Fatalf("ingest signed by %s: %+v, %v", signer, res, err)
		}
	}
	mustUpsertChannel(t, s, "5550000009")
	r, err = ib.ReplayUnrouted(ctx, "5550000009", "", "test")
	if err != nil || r.Entries != 2 || r.Processed != 1 || r.Unrouted != 1 || r.MessagesStored != 1 {
		t.Errorf("replay of bodies signed by two apps = %+v, %v", r, err)
	}
	if countMessages(t, s, "wamid.signed0") != 0 || countMessages(t, s, "wamid.signed1") != 1 {
		t.Errorf("the body of another app was applied, or the number's own was not")
	}
	left, err := s.ListInboxEntries(ctx, helpdesk.InboxFilter{Status: helpdesk.InboxUnrouted, Limit: 10})
	if err != nil || len(left) != 1 || left[0].Signer != helpdesk.SignerFingerprint("another-app-secret") || left[0].Note == "" {
		t.Errorf("unrouted after the replay = %+v, %v", left, err)
	}

	// Only admins.
	if _, err := ib.Replay(ctx, helpdesk.Actor{User: helpdesk.User{Role: helpdesk.RoleSupervisor}}, es[0].ID); helpdesk.ErrorCode(err) != helpdesk.CodeForbidden {
		t.Errorf("supervisor replay: %v", err)
	}
	if _, err := ib.Replay(ctx, inboxAdmin, helpdesk.NewID()); helpdesk.ErrorCode(err) != helpdesk.CodeNotFound {
		t.Errorf("unknown entry: %v", err)
	}
	if _, err := ib.Replay(ctx, inboxAdmin, "not-an-id"); helpdesk.ErrorCode(err) != helpdesk.CodeValidation {
		t.Errorf("malformed id: %v", err)
	}
}

// testInboxReplayUnsigned: a body stored before the inbox recorded its
// signer may have been signed by any app, so the automatic replay of a
// number that gets a channel leaves it waiting, with a note saying why; an
// admin's explicit replay (one entry, or the bulk replay) still routes it.
func testInboxReplayUnsigned(t *testing.T, open Opener) {
	s, ctx := open(t), t.Context()
	ib, in := newTestInbox(t, s)
	const number = "5550000004"
	ingest := func(wamid, signer string) {
		t.Helper()
		msg := helpdesk.InboundMessage{WAMessageID: wamid, FromWAIDs: []string{"5511944440000"}, ProfileName: "Rita",
			Type: "text", Text: wamid, Timestamp: time.Now().Add(-time.Minute)}
		d, _ := replayParser(testBody(t, helpdesk.ChannelBatch{PhoneNumberID: number, Messages: []helpdesk.InboundMessage{msg}}), helpdesk.Now())
		d.Signer = signer
		if res, err := in.Ingest(ctx, d); err != nil || res.InboxStatus != helpdesk.InboxUnrouted {
			t.Fatalf("ingest %s: %+v, %v", wamid, res, err)
		}
	}
	ingest("wamid.unsigned0", "")
	ingest("wamid.signed", helpdesk.SignerFingerprint("secret")) // mustUpsertChannel's secret
	ingest("wamid.unsigned1", "")
	es, err := s.ListInboxEntries(ctx, helpdesk.InboxFilter{Oldest: true, Limit: 10})
	if err != nil || len(es) != 3 {
		t.Fatalf("entries = %d, %v", len(es), err)
	}
	mustUpsertChannel(t, s, number)
	for pass := range 2 { // the job runs twice
		r, err := ib.ReplayUnrouted(ctx, number, "", "test")
		if want := 1 - pass; err != nil || r.Entries != want || r.MessagesStored != want || r.Unsigned != 2 {
			t.Errorf("automatic replay, pass %d = %+v, %v; want %d entries replayed and the 2 unsigned left", pass, r, err, want)
		}
	}
	if countMessages(t, s, "wamid.signed") != 1 || countMessages(t, s, "wamid.unsigned0")+countMessages(t, s, "wamid.unsigned1") != 0 {
		t.Fatalf("after the automatic replay: want the signed body applied and the unsigned ones not")
	}
	for _, i := range []int{0, 2} {
		e, err := s.GetInboxEntry(ctx, es[i].ID)
		if err != nil || e.Status != helpdesk.InboxUnrouted || !strings.Contains(e.Note, "replay it explicitly") {
			t.Errorf("unsigned entry after the automatic replay = %q %q, %v; want unrouted with a note saying why", e.Status, e.Note, err)
		}
	}
	one, err := ib.Replay(ctx, inboxAdmin, es[0].ID)
	if err != nil || one.MessagesStored != 1 || one.Status != helpdesk.InboxProcessed {
		t.Errorf("explicit replay of an unsigned entry = %+v, %v", one, err)
	}
	all, err := ib.ReplayAll(ctx, inboxAdmin, "", number)
	if err != nil || all.Entries != 1 || all.MessagesStored != 1 || all.Processed != 1 {
		t.Errorf("explicit bulk replay of an unsigned entry = %+v, %v", all, err)
	}
	if countMessages(t, s, "wamid.unsigned0")+countMessages(t, s, "wamid.unsigned1") != 2 {
		t.Errorf("the explicit replays did not route the unsigned bodies")
	}
}

func testInboxReplayStatuses(t *testing.T, open Opener) {
	s, ctx := open(t), t.Context()
	ib, in := newTestInbox(t, s)
	ch := mustUpsertChannel(t, s, "5550000002")
	conv := mustOpenConversation(t, s, ch, "5511966660000")
	out := newInbound(conv.ID, "wamid.sent", "olá", helpdesk.Now())
	out.Direction, out.SenderType, out.Status = helpdesk.DirectionOutbound, helpdesk.SenderAgent, helpdesk.MessageQueued
	if _, err := s.InsertMessage(ctx, out); err != nil {
		t.Fatal(err)
	}
	ingest := func(status string) {
		body := testBody(t, helpdesk.ChannelBatch{PhoneNumberID: ch.PhoneNumberID,
			Statuses: []helpdesk.StatusUpdate{{WAMessageID: "wamid.sent", Status: status, Timestamp: helpdesk.Now()}}})
		d, _ := replayParser(body, helpdesk.Now())
		if _, err := in.Ingest(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	ingest("delivered")
	ingest("read")
	es, err := s.ListInboxEntries(ctx, helpdesk.InboxFilter{Oldest: true, Limit: 10})
	if err != nil || len(es) != 2 {
		t.Fatalf("entries = %d, %v", len(es), err)
	}
	one, err := ib.Replay(ctx, inboxAdmin, es[0].ID) // the delivered report, again
	if err != nil || one.Duplicates != 1 || one.MessagesStored != 0 {
		t.Errorf("replay of the delivered report = %+v, %v", one, err)
	}
	if m, err := s.GetMessage(ctx, out.ID); err != nil || m.Status != helpdesk.MessageRead {
		t.Errorf("message status after the replay = %q (%v), want read", m.Status, err)
	}
	all, err := ib.ReplayAll(ctx, inboxAdmin, helpdesk.InboxProcessed, ch.PhoneNumberID)
	if err != nil || all.Entries != 2 || all.Processed != 2 || all.Duplicates != 2 {
		t.Errorf("bulk replay of the processed entries = %+v, %v", all, err)
	}
	if _, err := ib.ReplayAll(ctx, inboxAdmin, "done", ""); helpdesk.ErrorCode(err) != helpdesk.CodeValidation {
		t.Errorf("bad status: %v", err)
	}
	if _, err := ib.ReplayAll(ctx, inboxAdmin, "", "12ab"); helpdesk.ErrorCode(err) != helpdesk.CodeValidation {
		t.Errorf("bad number: %v", err)
	}
}

func testInboxPrune(t *testing.T, open Opener) {
	s, ctx := open(t), t.Context()
	ib, _ := newTestInbox(t, s)
	now := time.Now().UTC()
	old := now.Add(-40 * 24 * time.Hour)
	oldProcessed := []helpdesk.InboxEntry{
		mustInsertInbox(t, s, `{"a":1}`, helpdesk.InboxProcessed, old),
		mustInsertInbox(t, s, `{"a":2}`, helpdesk.InboxProcessed, old.Add(time.Second)),
		mustInsertInbox(t, s, `{"a":3}`, helpdesk.InboxProcessed, old.Add(2*time.Second)),
	}
	keep := []helpdesk.InboxEntry{
		mustInsertInbox(t, s, `{"b":1}`, helpdesk.InboxUnrouted, old),
		mustInsertInbox(t, s, `{"b":2}`, helpdesk.InboxPartial, old),
		mustInsertInbox(t, s, `{"b":3}`, helpdesk.InboxProcessed, now.Add(-time.Hour)),
	}
	cutoff := now.Add(-30 * 24 * time.Hour)
	// Bounded: one statement of two rows, then the rest on the next run.
	if n, err := ib.Prune(ctx, cutoff, 2, 1); err != nil || n != 2 {
		t.Fatalf("first bounded prune = %d, %v; want 2", n, err)
	}
	if _, err := s.GetInboxEntry(ctx, oldProcessed[2].ID); err != nil {
		t.Errorf("the newest old entry went first: %v", err)
	}
	if n, err := ib.Prune(ctx, cutoff, 2, 10); err != nil || n != 1 {
		t.Fatalf("second prune = %d, %v; want 1", n, err)
	}
	for _, e := range oldProcessed {
		if _, err := s.GetInboxEntry(ctx, e.ID); err == nil {
			t.Errorf("old processed entry %s kept", e.ID)
		}
	}
	for _, e := range keep {
		if _, err := s.GetInboxEntry(ctx, e.ID); err != nil {
			t.Errorf("entry %s (%s) deleted: %v", e.ID, e.Status, err)
		}
	}
}

// pruningStore runs the retention job's delete at the start of every
// transaction: an entry read by a replay is gone when it is applied.
type pruningStore struct{ helpdesk.Store }

func (p pruningStore) InTx(ctx context.Context, fn func(helpdesk.Store) error) error {
	return p.Store.InTx(ctx, func(tx helpdesk.Store) error {
		if _, err := tx.DeleteInboxEntries(ctx, helpdesk.InboxProcessed, time.Now().Add(time.Hour), 100); err != nil {
			return err
		}
		return fn(tx)
	})
}

// testInboxReplayPruned: the retention job may delete a processed entry
// between a replay's read and its transaction. The replay then finds
// nothing to do: 404 for the one entry, skipped by the bulk replay, never
// an internal error.
func testInboxReplayPruned(t *testing.T, open Opener) {
	s, ctx := open(t), t.Context()
	ch := mustUpsertChannel(t, s, "5550000003")
	msg := helpdesk.InboundMessage{WAMessageID: "wamid.pruned", FromWAIDs: []string{"5511955550000"}, ProfileName: "Rita",
		Type: "text", Text: "oi", Timestamp: time.Now().Add(-time.Minute)}
	body := testBody(t, helpdesk.ChannelBatch{PhoneNumberID: ch.PhoneNumberID, Messages: []helpdesk.InboundMessage{msg}})
	e := mustInsertInbox(t, s, string(body), helpdesk.InboxProcessed, time.Now().Add(-40*24*time.Hour))
	in := helpdesk.NewIngester(pruningStore{s}, helpdesk.IngesterOptions{})
	t.Cleanup(in.Close)
	ib := helpdesk.NewInbox(helpdesk.NewService(s, nil, nil, nil), in, replayParser, "app-secret")
	if _, err := ib.Replay(ctx, inboxAdmin, e.ID); helpdesk.ErrorCode(err) != helpdesk.CodeNotFound {
		t.Errorf("replay of an entry pruned meanwhile: %v, want not found", err)
	}
	e = mustInsertInbox(t, s, string(body), helpdesk.InboxProcessed, time.Now().Add(-40*24*time.Hour))
	if r, err := ib.ReplayAll(ctx, inboxAdmin, helpdesk.InboxProcessed, ""); err != nil || r.MessagesStored != 0 {
		t.Errorf("bulk replay over an entry pruned meanwhile = %+v, %v", r, err)
	}
	if countMessages(t, s, "wamid.pruned") != 0 {
		t.Errorf("a pruned entry's message was stored")
	}
}
