package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

func mustUpsertChannel(t *testing.T, s helpdesk.Store, phoneNumberID string) helpdesk.Channel {
	t.Helper()
	now := helpdesk.Now()
	ch, err := s.UpsertChannel(t.Context(), helpdesk.Channel{ID: helpdesk.NewID(), Name: "Main", PhoneNumberID: phoneNumberID,
		AccessToken: "token", AppSecret: "secret", CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatalf("UpsertChannel: %v", err)
	}
	return ch
}

func mustOpenConversation(t *testing.T, s helpdesk.Store, ch helpdesk.Channel, waID string) helpdesk.Conversation {
	t.Helper()
	now := helpdesk.Now()
	cust, err := s.UpsertCustomer(t.Context(), []string{waID}, "Cliente", now)
	if err != nil {
		t.Fatalf("UpsertCustomer: %v", err)
	}
	conv, _, err := s.OpenConversation(t.Context(), helpdesk.Conversation{ID: helpdesk.NewID(), ChannelID: ch.ID,
		Customer: cust, Status: helpdesk.StatusWaiting, WaitingSince: &now, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatalf("OpenConversation: %v", err)
	}
	return conv
}

func newInbound(convID, wamid, text string, at time.Time) helpdesk.Message {
	return helpdesk.Message{ID: helpdesk.NewID(), ConversationID: convID, Direction: helpdesk.DirectionInbound,
		SenderType: helpdesk.SenderCustomer, Type: "text", Text: text, WAMessageID: wamid, Status: helpdesk.MessageReceived,
		CreatedAt: at}
}

func testIngest(t *testing.T, open Opener) {
	t.Run("Channels", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		ch := mustUpsertChannel(t, s, "111")
		again, err := s.UpsertChannel(ctx, helpdesk.Channel{ID: helpdesk.NewID(), Name: "Renamed", PhoneNumberID: "111",
			AccessToken: "new-token", UpdatedAt: helpdesk.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if again.ID != ch.ID || again.Name != "Renamed" || again.AccessToken != "new-token" || again.Status != helpdesk.ChannelActive {
			t.Errorf("upsert kept %+v", again)
		}
		if _, err := s.GetChannelByPhoneNumberID(ctx, "222"); !errors.Is(err, helpdesk.ErrNotFound) {
			t.Errorf("unknown phone number id: %v", err)
		}
		got, err := s.GetChannel(ctx, ch.ID)
		if err != nil || got.PhoneNumberID != "111" {
			t.Errorf("GetChannel = %+v, %v", got, err)
		}
		list, err := s.ListChannels(ctx)
		if err != nil || len(list) != 1 {
			t.Errorf("ListChannels = %d, %v", len(list), err)
		}
	})

	t.Run("CustomerVariants", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		t0 := helpdesk.Now().Add(-time.Hour)
		c1, err := s.UpsertCustomer(ctx, []string{"551112345678", "5511912345678"}, "Ana", t0)
		if err != nil {
			t.Fatal(err)
		}
		if c1.WAID != "551112345678" || c1.Name != "Ana" || c1.ProfileName != "Ana" || !c1.UpdatedAt.Equal(t0) {
			t.Errorf("created %+v", c1)
		}
		// The other form of the number finds the same customer.
		t1 := t0.Add(time.Minute)
		c2, err := s.UpsertCustomer(ctx, []string{"5511912345678", "551112345678"}, "Ana Maria", t1)
		if err != nil {
			t.Fatal(err)
		}
		if c2.ID != c1.ID || c2.ProfileName != "Ana Maria" || c2.Name != "Ana" || !c2.UpdatedAt.Equal(t1) {
			t.Errorf("variant upsert = %+v", c2)
		}
		// A message that renames nobody leaves the row as it is.
		for _, name := range []string{"Ana Maria", ""} {
			c3, err := s.UpsertCustomer(ctx, []string{"551112345678"}, name, t1.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if c3.ID != c1.ID || c3.ProfileName != "Ana Maria" || c3.Name != "Ana" || !c3.UpdatedAt.Equal(t1) {
				t.Errorf("upsert with profile name %q = %+v, want the row unchanged since %v", name, c3, t1)
			}
		}
	})

	t.Run("LastInboundPerNumber", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		ch1, ch2 := mustUpsertChannel(t, s, "111"), mustUpsertChannel(t, s, "222")
		conv := mustOpenConversation(t, s, ch1, "5511933333333")
		cust := conv.Customer.ID
		last := func(ch helpdesk.Channel) *time.Time {
			t.Helper()
			at, err := s.LastInboundAt(ctx, ch.ID, cust)
			if err != nil {
				t.Fatal(err)
			}
			return at
		}
		if at := last(ch1); at != nil {
			t.Errorf("before any message: last inbound %v, want none", at)
		}
		t0 := helpdesk.Now().Add(-2 * time.Hour)
		if _, err := s.NoteInboundMessage(ctx, conv.ID, "oi", t0, t0); err != nil {
			t.Fatal(err)
		}
		// Closed, then the customer writes again: a new conversation holds
		// the later message, and it is the one that counts.
		closedAt := t0.Add(time.Minute)
		if err := s.SetConversationState(ctx, conv.ID, helpdesk.ConversationState{Status: helpdesk.StatusClosed, ClosedAt: &closedAt}, closedAt); err != nil {
			t.Fatal(err)
		}
		next := mustOpenConversation(t, s, ch1, "5511933333333")
		t1 := t0.Add(time.Hour)
		if _, err := s.NoteInboundMessage(ctx, next.ID, "de novo", t1, t1); err != nil {
			t.Fatal(err)
		}
		if at := last(ch1); at == nil || !at.Equal(t1) {
			t.Errorf("last inbound on the number written to = %v, want %v", at, t1)
		}
		// The same customer never wrote to the other number.
		mustOpenConversation(t, s, ch2, "5511933333333")
		if at := last(ch2); at != nil {
			t.Errorf("last inbound on a number never written to = %v, want none", at)
		}
	})

	// Legacy data may hold both forms of a Brazilian mobile as two
	// customers, each with a conversation on the number. They are one
	// person to WhatsApp: a message under either form opens the number's
	// window for both, as UpsertCustomer used to refresh both rows.
	t.Run("LastInboundAcrossLegacyForms", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		ch := mustUpsertChannel(t, s, "111")
		old := mustOpenConversation(t, s, ch, "551188887777")  // stored before the ninth digit
		cur := mustOpenConversation(t, s, ch, "5511988887777") // the same mobile, stored again later
		if old.Customer.ID == cur.Customer.ID {
			t.Skip("the two forms are one customer")
		}
		now := helpdesk.Now()
		if _, err := s.NoteInboundMessage(ctx, cur.ID, "oi", now, now); err != nil {
			t.Fatal(err)
		}
		at, err := s.LastInboundAt(ctx, ch.ID, old.Customer.ID)
		if err != nil {
			t.Fatal(err)
		}
		if at == nil || !at.Equal(now) {
			t.Errorf("last inbound of the legacy form's customer = %v, want %v (the other form wrote then)", at, now)
		}
	})

	t.Run("OneLiveConversationUnderRace", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		ch := mustUpsertChannel(t, s, "111")
		now := helpdesk.Now()
		cust, err := s.UpsertCustomer(ctx, []string{"5511900000000"}, "X", now)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		ids := make([]string, 10)
		created := make([]bool, 10)
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, made, err := s.OpenConversation(ctx, helpdesk.Conversation{ID: helpdesk.NewID(), ChannelID: ch.ID,
					Customer: cust, Status: helpdesk.StatusWaiting, CreatedAt: now, UpdatedAt: now})
				if err != nil {
					t.Errorf("OpenConversation %d: %v", i, err)
					return
				}
				ids[i], created[i] = c.ID, made
			}()
		}
		wg.Wait()
		n := 0
		for i := range ids {
			if ids[i] != ids[0] {
				t.Errorf("goroutine %d got conversation %s, goroutine 0 got %s", i, ids[i], ids[0])
			}
			if created[i] {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d goroutines created a conversation, want 1", n)
		}
	})

	t.Run("MessagesAndActivity", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		ch := mustUpsertChannel(t, s, "111")
		conv := mustOpenConversation(t, s, ch, "5511911111111")
		base := helpdesk.Now().Add(-time.Hour)
		for i, at := range []time.Duration{2, 0, 1} { // out of order
			m := newInbound(conv.ID, fmt.Sprintf("wamid.%d", i), fmt.Sprintf("m%d", i), base.Add(at*time.Second))
			ok, err := s.InsertMessage(ctx, m)
			if err != nil || !ok {
				t.Fatalf("InsertMessage %d: %v %v", i, ok, err)
			}
			if _, err := s.NoteInboundMessage(ctx, conv.ID, m.Text, m.CreatedAt, helpdesk.Now()); err != nil {
				t.Fatal(err)
			}
		}
		dup := newInbound(conv.ID, "wamid.0", "again", base)
		if ok, err := s.InsertMessage(ctx, dup); err != nil || ok {
			t.Errorf("duplicate wamid inserted=%v err=%v", ok, err)
		}
		got, err := s.GetConversation(ctx, conv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.UnreadCount != 3 || got.LastMessagePreview != "m0" || !got.LastMessageAt.Equal(base.Add(2*time.Second)) {
			t.Errorf("conversation activity = %d %q %v", got.UnreadCount, got.LastMessagePreview, got.LastMessageAt)
		}
		id, err := s.MessageIDByWAMID(ctx, "wamid.1")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetMessageReaction(ctx, id, "👍"); err != nil {
			t.Fatal(err)
		}
		m, err := s.GetMessage(ctx, id)
		if err != nil || m.Reaction != "👍" || m.Text != "m1" {
			t.Errorf("GetMessage = %+v, %v", m, err)
		}
		stored, err := s.StoredWAMIDs(ctx, []string{"wamid.0", "wamid.2", "wamid.none"})
		if err != nil || len(stored) != 2 || !stored["wamid.0"] || !stored["wamid.2"] {
			t.Errorf("StoredWAMIDs = %v, %v", stored, err)
		}
		if none, err := s.StoredWAMIDs(ctx, nil); err != nil || len(none) != 0 {
			t.Errorf("StoredWAMIDs(nil) = %v, %v", none, err)
		}
		if _, err := s.MessageIDByWAMID(ctx, "wamid.none"); !errors.Is(err, helpdesk.ErrNotFound) {
			t.Errorf("unknown wamid: %v", err)
		}
		// Pages: newest first, each continuing where the last stopped.
		p1, err := s.ListMessages(ctx, helpdesk.MessageFilter{ConversationID: conv.ID, Limit: 2})
		if err != nil || len(p1) != 2 || p1[0].Text != "m0" || p1[1].Text != "m2" {
			t.Fatalf("page 1 = %v, %v", texts(p1), err)
		}
		p2, err := s.ListMessages(ctx, helpdesk.MessageFilter{ConversationID: conv.ID, Limit: 2,
			Before: &helpdesk.MessageCursor{CreatedAt: p1[1].CreatedAt, ID: p1[1].ID}})
		if err != nil || len(p2) != 1 || p2[0].Text != "m1" {
			t.Errorf("page 2 = %v, %v", texts(p2), err)
		}
	})

	t.Run("StatusesOnlyMoveForward", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		ch := mustUpsertChannel(t, s, "111")
		conv := mustOpenConversation(t, s, ch, "5511922222222")
		out := newInbound(conv.ID, "wamid.out", "hello", helpdesk.Now())
		out.Direction, out.SenderType, out.Status = helpdesk.DirectionOutbound, helpdesk.SenderAgent, helpdesk.MessageQueued
		if _, err := s.InsertMessage(ctx, out); err != nil {
			t.Fatal(err)
		}
		at := helpdesk.Now()
		steps := []struct{ status, want string }{
			{"delivered", "delivered"}, {"sent", "delivered"}, {"failed", "delivered"}, {"read", "read"}, {"delivered", "read"},
		}
		for _, st := range steps {
			found, err := s.ApplyMessageStatus(ctx, helpdesk.StatusEvent{WAMessageID: "wamid.out", Status: st.status, OccurredAt: at, ErrorCode: "1"})
			if err != nil || !found {
				t.Fatalf("apply %s: %v %v", st.status, found, err)
			}
			m, _ := s.GetMessage(ctx, out.ID)
			if m.Status != st.want {
				t.Errorf("after %s: status %s, want %s", st.status, m.Status, st.want)
			}
		}
		m, _ := s.GetMessage(ctx, out.ID)
		if m.SentAt == nil || m.DeliveredAt == nil || m.ReadAt == nil || m.ErrorCode != "" {
			t.Errorf("times/error after statuses: %+v", m)
		}
		found, err := s.ApplyMessageStatus(ctx, helpdesk.StatusEvent{WAMessageID: "wamid.nobody", Status: "read", OccurredAt: at})
		if err != nil || found {
			t.Errorf("unknown wamid: found=%v err=%v", found, err)
		}
		ev := helpdesk.StatusEvent{WAMessageID: "wamid.nobody", Status: "read", OccurredAt: at, ReceivedAt: at}
		for i, want := range []bool{true, false} {
			if recorded, err := s.RecordStatusEvent(ctx, ev); err != nil || recorded != want {
				t.Errorf("RecordStatusEvent %d: recorded=%v err=%v, want %v", i, recorded, err, want)
			}
		}
	})

	// Meta reports failed and then, for the same message, delivered (a
	// failure it recovered from): the message is delivered, and the
	// failure's error goes with the failed status it belonged to.
	t.Run("DeliveredAfterFailedClearsTheError", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		ch := mustUpsertChannel(t, s, "111")
		conv := mustOpenConversation(t, s, ch, "5511922222223")
		out := newInbound(conv.ID, "wamid.recovered", "hello", helpdesk.Now())
		out.Direction, out.SenderType, out.Status = helpdesk.DirectionOutbound, helpdesk.SenderAgent, helpdesk.MessageQueued
		if _, err := s.InsertMessage(ctx, out); err != nil {
			t.Fatal(err)
		}
		at := helpdesk.Now()
		for _, st := range []struct{ status, code, wantStatus, wantCode string }{
			{"failed", "131026", "failed", "131026"},
			{"sent", "", "failed", "131026"}, // behind failed: changes nothing
			{"failed", "131000", "failed", "131026"},
			{"delivered", "", "delivered", ""},
		} {
			ev := helpdesk.StatusEvent{WAMessageID: "wamid.recovered", Status: st.status, OccurredAt: at, ErrorCode: st.code}
			if st.code != "" {
				ev.ErrorMessage = "Message undeliverable"
			}
			if _, err := s.ApplyMessageStatus(ctx, ev); err != nil {
				t.Fatal(err)
			}
			m, _ := s.GetMessage(ctx, out.ID)
			if m.Status != st.wantStatus || m.ErrorCode != st.wantCode || (st.wantCode == "") != (m.ErrorMessage == "") {
				t.Errorf("after %s: status %s, error %q %q; want %s, %q", st.status, m.Status, m.ErrorCode, m.ErrorMessage, st.wantStatus, st.wantCode)
			}
		}
	})

	t.Run("Outbound", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		ch := mustUpsertChannel(t, s, "111")
		conv := mustOpenConversation(t, s, ch, "5511933333333")
		base := helpdesk.Now().Add(-time.Minute)
		for i := range 3 {
			m := newInbound(conv.ID, fmt.Sprintf("wamid.in%d", i), "q", base.Add(time.Duration(i)*time.Second))
			if _, err := s.InsertMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
			if _, err := s.NoteInboundMessage(ctx, conv.ID, "q", m.CreatedAt, base); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.MarkInboundRead(ctx, conv.ID, base.Add(time.Second), base)
		if err != nil || n != 2 {
			t.Errorf("MarkInboundRead = %d, %v; want 2", n, err)
		}
		if n, _ := s.MarkInboundRead(ctx, conv.ID, base.Add(time.Second), base); n != 0 {
			t.Errorf("second MarkInboundRead marked %d", n)
		}
		if c, _ := s.GetConversation(ctx, conv.ID); c.UnreadCount != 1 {
			t.Errorf("unread = %d, want 1", c.UnreadCount)
		}

		out := newInbound(conv.ID, "", "resposta", helpdesk.Now())
		out.Direction, out.SenderType, out.Status, out.WAMessageID = helpdesk.DirectionOutbound, helpdesk.SenderAgent, helpdesk.MessageQueued, ""
		if _, err := s.InsertMessage(ctx, out); err != nil {
			t.Fatal(err)
		}
		// Two queued messages without a wamid do not collide on the unique index.
		out2 := out
		out2.ID = helpdesk.NewID()
		if ok, err := s.InsertMessage(ctx, out2); err != nil || !ok {
			t.Fatalf("second queued message: %v %v", ok, err)
		}
		if err := s.NoteOutboundMessage(ctx, conv.ID, "resposta", out.CreatedAt, out.CreatedAt); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.GetConversation(ctx, conv.ID); c.LastMessagePreview != "resposta" {
			t.Errorf("preview = %q", c.LastMessagePreview)
		}
		// Meta's "delivered" overtook the send's own response.
		early := helpdesk.StatusEvent{WAMessageID: "wamid.sent", Status: "delivered", OccurredAt: helpdesk.Now(), ReceivedAt: helpdesk.Now()}
		if found, err := s.ApplyMessageStatus(ctx, early); err != nil || found {
			t.Fatalf("early status: found=%v err=%v", found, err)
		}
		if _, err := s.RecordStatusEvent(ctx, early); err != nil {
			t.Fatal(err)
		}
		ok, err := s.MarkMessageSent(ctx, out.ID, "wamid.sent", helpdesk.Now())
		if err != nil || !ok {
			t.Fatalf("MarkMessageSent: %v %v", ok, err)
		}
		if ok, _ := s.MarkMessageSent(ctx, out.ID, "wamid.other", helpdesk.Now()); ok {
			t.Error("a sent message was marked sent again")
		}
		if ok, _ := s.MarkMessageFailed(ctx, out.ID, "131047", "late"); ok {
			t.Error("a sent message was failed")
		}
		if ok, err := s.MarkMessageFailed(ctx, out2.ID, "131047", "late"); err != nil || !ok {
			t.Errorf("MarkMessageFailed: %v %v", ok, err)
		}
		m, _ := s.GetMessage(ctx, out.ID)
		f, _ := s.GetMessage(ctx, out2.ID)
		if m.Status != "delivered" || m.DeliveredAt == nil || m.WAMessageID != "wamid.sent" || m.SentAt == nil || f.Status != "failed" || f.ErrorCode != "131047" {
			t.Errorf("after send/fail: %+v / %+v", m, f)
		}
		if err := s.SetChannelStatus(ctx, ch.ID, helpdesk.ChannelUnhealthy, "token", helpdesk.Now()); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetChannel(ctx, ch.ID); got.Status != helpdesk.ChannelUnhealthy || got.StatusReason != "token" {
			t.Errorf("channel = %+v", got)
		}
		if err := s.SetChannelStatus(ctx, helpdesk.NewID(), helpdesk.ChannelActive, "", helpdesk.Now()); !errors.Is(err, helpdesk.ErrNotFound) {
			t.Errorf("unknown channel: %v", err)
		}
	})

	t.Run("ListConversations", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		ch := mustUpsertChannel(t, s, "111")
		dept := mustCreateDepartment(t, s, newDepartment("Vendas"))
		base := helpdesk.Now().Add(-time.Hour)
		var ids []string
		for i := range 5 {
			conv := mustOpenConversation(t, s, ch, fmt.Sprintf("55119%08d", i))
			if _, err := s.NoteInboundMessage(ctx, conv.ID, "x", base.Add(time.Duration(i)*time.Minute), base); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, conv.ID)
		}
		// Two without activity yet: they come last, newest id first, also
		// when a page of active ones ends short of the limit.
		for i := 5; i < 7; i++ {
			ids = append(ids, mustOpenConversation(t, s, ch, fmt.Sprintf("55119%08d", i)).ID)
		}
		if _, err := rawDB(t, s).ExecContext(ctx, "UPDATE conversations SET department_id = $1 WHERE id = $2", dept.ID, ids[0]); err != nil {
			t.Fatal(err)
		}
		var seen []string
		var after *helpdesk.ConversationCursor
		for {
			page, err := s.ListConversations(ctx, helpdesk.ConversationFilter{Limit: 2, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page {
				seen = append(seen, c.ID)
			}
			if len(page) < 2 {
				break
			}
			last := page[len(page)-1]
			after = &helpdesk.ConversationCursor{LastMessageAt: last.LastMessageAt, ID: last.ID}
		}
		want := []string{ids[4], ids[3], ids[2], ids[1], ids[0], ids[6], ids[5]}
		if fmt.Sprint(seen) != fmt.Sprint(want) {
			t.Errorf("pages = %v, want newest first %v", seen, want)
		}
		// An agent of another department does not see the Vendas one.
		viewer := &helpdesk.Viewer{UserID: helpdesk.NewID(), DepartmentIDs: []string{helpdesk.NewID()}}
		vis, err := s.ListConversations(ctx, helpdesk.ConversationFilter{Viewer: viewer})
		if err != nil || len(vis) != 6 {
			t.Errorf("viewer sees %d, %v; want 6", len(vis), err)
		}
		viewer.DepartmentIDs = append(viewer.DepartmentIDs, dept.ID)
		vis, _ = s.ListConversations(ctx, helpdesk.ConversationFilter{Viewer: viewer})
		if len(vis) != 7 {
			t.Errorf("member viewer sees %d, want 7", len(vis))
		}
		closed, _ := s.ListConversations(ctx, helpdesk.ConversationFilter{Statuses: []helpdesk.ConversationStatus{helpdesk.StatusClosed}})
		if len(closed) != 0 {
			t.Errorf("closed filter found %d", len(closed))
		}
	})
}

func texts(ms []helpdesk.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}
