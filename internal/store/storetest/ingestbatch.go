package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// testIngestBatch: one delivery carrying many messages is written in one
// group commit, one statement per step; the result must be what applying
// them one by one gives: a customer known under the other Brazilian form
// is found, not duplicated; names, unread counts, the preview (of the
// latest message, whatever the order) and redeliveries inside the batch
// come out as one by one; a reply in the middle sees the messages before it.
func testIngestBatch(t *testing.T, open Opener) {
	s, ctx := open(t), t.Context()
	ch := mustUpsertChannel(t, s, "pn-batch")
	ch2 := mustUpsertChannel(t, s, "pn-batch-2")
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	// Ana is known under the form without the 9th digit.
	ana := mustOpenConversation(t, s, ch, "551187654321")
	in := helpdesk.NewIngester(s, helpdesk.IngesterOptions{})
	defer in.Close()

	msg := func(wamid string, waIDs []string, name, text string, at time.Time) helpdesk.InboundMessage {
		return helpdesk.InboundMessage{WAMessageID: wamid, FromWAIDs: waIDs, ProfileName: name, Timestamp: at, Type: "text", Text: text,
			Raw: []byte(`{"id":"` + wamid + `"}`)}
	}
	anaIDs := []string{"5511987654321", "551187654321"}
	beto := []string{"5511955550001", "551155550001"}
	d := helpdesk.WebhookDelivery{Body: []byte("batch"), ReceivedAt: helpdesk.Now(), Batches: []helpdesk.ChannelBatch{{
		PhoneNumberID: ch.PhoneNumberID,
		Messages: []helpdesk.InboundMessage{
			msg("wamid.b1", anaIDs, "Ana", "primeira", base.Add(2*time.Second)),
			msg("wamid.b2", beto, "", "oi", base),
			msg("wamid.b3", anaIDs, "Ana Souza", "atrasada", base.Add(time.Second)), // older than b1
			msg("wamid.b2", beto, "", "oi", base),                                   // the same message again
			msg("wamid.b4", beto, "Beto", "tudo bem?", base.Add(time.Second)),
			{WAMessageID: "wamid.b5", FromWAIDs: beto, Type: "text", Text: "sobre isso", Timestamp: base.Add(2 * time.Second),
				ContextWAMessageID: "wamid.b4"}, // a reply: applied alone, after the ones before it
			msg("wamid.b6", beto, "", "e mais", base.Add(3*time.Second)),
			// Carla is new, and writes from both forms of her number.
			msg("wamid.c1", []string{"5511944440001", "551144440001"}, "Carla", "um", base),
			msg("wamid.c2", []string{"551144440001", "5511944440001"}, "Carla", "dois", base.Add(time.Second)),
		},
	}, {
		// Ana on another number of the business, under a new profile name,
		// in a reply (applied alone, after the messages above are written):
		// her conversation above must carry the new name too.
		PhoneNumberID: ch2.PhoneNumberID,
		Messages: []helpdesk.InboundMessage{{WAMessageID: "wamid.a2", FromWAIDs: anaIDs, ProfileName: "Ana Nova", Type: "text",
			Text: "e aqui?", Timestamp: base.Add(4 * time.Second), ContextWAMessageID: "wamid.b1"}},
	}}}
	res, err := in.Ingest(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Messages) != 9 || len(res.NewConversations) != 3 {
		t.Fatalf("result: %d messages, %d new conversations; want 9 and 3 (Beto's, Carla's, Ana's on the second number)", len(res.Messages), len(res.NewConversations))
	}
	if again, err := in.Ingest(ctx, d); err != nil || !again.Duplicate {
		t.Fatalf("redelivery: %+v %v", again, err)
	}

	convs, err := s.ListConversations(ctx, helpdesk.ConversationFilter{ChannelID: ch.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(convs) != 3 {
		t.Fatalf("conversations = %d, want 3", len(convs))
	}
	byCustomer := map[string]helpdesk.Conversation{}
	for _, c := range convs {
		byCustomer[c.Customer.WAID] = c
	}
	a, b := byCustomer["551187654321"], byCustomer["5511955550001"]
	// The result carries each conversation as the commit left it, so the
	// real-time events need not read them again.
	if len(res.Conversations) != 4 {
		t.Errorf("result: %d conversations, want 4", len(res.Conversations))
	}
	for _, got := range res.Conversations {
		want, err := s.GetConversation(ctx, got.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !sameActivity(got, want) {
			t.Errorf("result's conversation %+v\nstored %+v", got, want)
		}
	}
	if c := byCustomer["5511944440001"]; c.UnreadCount != 2 || c.LastMessagePreview != "dois" {
		t.Errorf("Carla's conversation: %+v", c)
	}
	if a.ID != ana.ID || a.Customer.ID != ana.Customer.ID {
		t.Fatalf("Ana's messages went to %+v, want her conversation %s", a, ana.ID)
	}
	if a.UnreadCount != 2 || a.LastMessagePreview != "primeira" || !a.LastMessageAt.Equal(base.Add(2*time.Second)) {
		t.Errorf("Ana's conversation: unread %d, preview %q, last at %v", a.UnreadCount, a.LastMessagePreview, a.LastMessageAt)
	}
	if a.Customer.ProfileName != "Ana Nova" || a.Customer.Name != "Cliente" {
		t.Errorf("Ana: name %q, profile name %q; want the name kept and the last profile name", a.Customer.Name, a.Customer.ProfileName)
	}
	if b.ID == "" || b.UnreadCount != 4 || b.LastMessagePreview != "e mais" || b.Customer.Name != "Beto" || b.Customer.ProfileName != "Beto" {
		t.Errorf("Beto's conversation: %+v", b)
	}
	if last, err := s.LastInboundAt(ctx, ch.ID, b.Customer.ID); err != nil || last == nil || !last.Equal(base.Add(3*time.Second)) {
		t.Errorf("Beto's last inbound at %v (%v), want %v", last, err, base.Add(3*time.Second))
	}
	msgs, err := s.ListMessages(ctx, helpdesk.MessageFilter{ConversationID: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	byWAMID := map[string]helpdesk.Message{}
	for _, m := range msgs {
		byWAMID[m.WAMessageID] = m
	}
	if len(msgs) != 4 || byWAMID["wamid.b5"].ReplyToID != byWAMID["wamid.b4"].ID || byWAMID["wamid.b4"].ID == "" {
		t.Errorf("Beto's messages: %+v", msgs)
	}
	// More rows than fit the engines' short form (SQLite's VALUES lists).
	many := helpdesk.WebhookDelivery{Body: []byte("many"), ReceivedAt: helpdesk.Now(), Batches: []helpdesk.ChannelBatch{{PhoneNumberID: ch.PhoneNumberID}}}
	for i := range 70 {
		many.Batches[0].Messages = append(many.Batches[0].Messages,
			msg(fmt.Sprintf("wamid.many.%d", i), []string{fmt.Sprintf("4915100%06d", i)}, "", "oi", base))
	}
	if res, err := in.Ingest(ctx, many); err != nil || len(res.Messages) != 70 || len(res.NewConversations) != 70 {
		t.Errorf("70 customers in one delivery: %d messages, %d new conversations, %v", len(res.Messages), len(res.NewConversations), err)
	}
	if m := byWAMID["wamid.b2"]; m.Direction != helpdesk.DirectionInbound || m.SenderType != helpdesk.SenderCustomer ||
		m.Status != helpdesk.MessageReceived || !m.CreatedAt.Equal(base) || m.SentAt == nil || string(m.Raw) == "" {
		t.Errorf("stored message: %+v", m)
	}
}

// sameActivity: a and b agree on what an inbound message changes and on
// who the conversation is with.
func sameActivity(a, b helpdesk.Conversation) bool {
	sameTime := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	return a.ID == b.ID && a.Status == b.Status && a.DepartmentID == b.DepartmentID && a.AssigneeID == b.AssigneeID &&
		a.UnreadCount == b.UnreadCount && a.LastMessagePreview == b.LastMessagePreview &&
		sameTime(a.LastMessageAt, b.LastMessageAt) && sameTime(a.LastInboundAt, b.LastInboundAt) && a.UpdatedAt.Equal(b.UpdatedAt) &&
		a.Customer.ID == b.Customer.ID && a.Customer.WAID == b.Customer.WAID && a.Customer.Name == b.Customer.Name &&
		a.Customer.ProfileName == b.Customer.ProfileName && a.Customer.UpdatedAt.Equal(b.Customer.UpdatedAt)
}

// testNoteSeesConcurrentCommit: a transfer committed by another
// transaction after the ingest read the conversation, and before it noted
// the message, is in what the note returns (the real-time events are built
// from it, so they must not go to the old department's agents). Only
// PostgreSQL lets another writer commit inside a transaction.
func testNoteSeesConcurrentCommit(t *testing.T, open Opener) {
	s, ctx := open(t), t.Context()
	if d, ok := s.(interface{ Dialect() string }); !ok || d.Dialect() != "postgres" {
		t.Skip("SQLite serialises write transactions: none can commit inside another")
	}
	ch := mustUpsertChannel(t, s, "pn-concurrent")
	conv := mustOpenConversation(t, s, ch, "5511955554444")
	dept := mustCreateDepartment(t, s, newDepartment("Financeiro"))
	err := s.InTx(ctx, func(tx helpdesk.Store) error {
		read, _, err := tx.OpenConversations(ctx, []helpdesk.Conversation{{ID: helpdesk.NewID(), ChannelID: ch.ID, Customer: conv.Customer,
			Status: helpdesk.StatusWaiting, CreatedAt: helpdesk.Now(), UpdatedAt: helpdesk.Now()}})
		if err != nil {
			return err
		}
		if read[0].ID != conv.ID || read[0].DepartmentID == dept.ID {
			t.Fatalf("read %+v, want conversation %s outside %s", read[0], conv.ID, dept.ID)
		}
		if _, err := rawDB(t, s).ExecContext(ctx, "UPDATE conversations SET department_id = $1 WHERE id = $2", dept.ID, conv.ID); err != nil {
			return err
		}
		noted, err := tx.NoteInboundMessages(ctx, []helpdesk.InboundNote{{ConversationID: conv.ID, Count: 1, At: helpdesk.Now(), Preview: "oi"}}, helpdesk.Now())
		if err != nil {
			return err
		}
		if len(noted) != 1 || noted[0].DepartmentID != dept.ID || noted[0].UnreadCount != 1 {
			t.Errorf("noted %+v, want the transfer to %s and one unread", noted, dept.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testBatchResultOrder: the batch methods answer in the order of their
// input, also where PostgreSQL writes the rows in another order (sorted by
// key, so that concurrent group commits lock them in one order).
func testBatchResultOrder(t *testing.T, open Opener) {
	s, ctx, now := open(t), t.Context(), helpdesk.Now()
	ch := mustUpsertChannel(t, s, "pn-order")
	var notes []helpdesk.InboundNote
	var ups []helpdesk.CustomerUpsert
	var convs []helpdesk.Conversation
	for i := range 6 {
		conv := mustOpenConversation(t, s, ch, fmt.Sprintf("551190000%04d", 5-i)) // numbers and ids in opposite orders
		notes = append(notes, helpdesk.InboundNote{ConversationID: conv.ID, Count: 1, At: now, Preview: "oi"})
		ups = append(ups, helpdesk.CustomerUpsert{WAIDs: []string{conv.Customer.WAID}, ProfileName: fmt.Sprintf("Novo %d", i)},
			helpdesk.CustomerUpsert{WAIDs: []string{fmt.Sprintf("551180000%04d", 5-i)}, ProfileName: "Novo"})
		convs = append(convs, conv)
	}
	slices.Reverse(notes) // newest conversation (largest id) first
	err := s.InTx(ctx, func(tx helpdesk.Store) error {
		customers, err := tx.UpsertCustomers(ctx, ups, now)
		if err != nil {
			return err
		}
		var wanted []helpdesk.Conversation
		for i, c := range customers {
			if c.WAID != ups[i].WAIDs[0] || c.ProfileName != ups[i].ProfileName {
				t.Errorf("customer %d is %s %q, want %s %q", i, c.WAID, c.ProfileName, ups[i].WAIDs[0], ups[i].ProfileName)
			}
			wanted = append(wanted, helpdesk.Conversation{ID: helpdesk.NewID(), ChannelID: ch.ID, Customer: c,
				Status: helpdesk.StatusWaiting, WaitingSince: &now, CreatedAt: now, UpdatedAt: now})
		}
		opened, created, err := tx.OpenConversations(ctx, wanted)
		if err != nil {
			return err
		}
		for i, c := range opened {
			if c.Customer.ID != wanted[i].Customer.ID || created[i] != (i%2 == 1) {
				t.Errorf("conversation %d is %s's (created %v), want %s's (created %v)", i, c.Customer.ID, created[i], wanted[i].Customer.ID, i%2 == 1)
			}
			if i%2 == 0 && c.ID != convs[i/2].ID {
				t.Errorf("conversation %d is %s, want the live %s", i, c.ID, convs[i/2].ID)
			}
		}
		noted, err := tx.NoteInboundMessages(ctx, notes, now)
		if err != nil {
			return err
		}
		if len(noted) != len(notes) {
			t.Fatalf("%d conversations noted, want %d", len(noted), len(notes))
		}
		for i, c := range noted {
			if c.ID != notes[i].ConversationID {
				t.Errorf("noted conversation %d is %s, want %s", i, c.ID, notes[i].ConversationID)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
