package realtime

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// bytesBus is a cross-replica bus as the hub sees one: bytes only. It
// hands every payload to the test.
type bytesBus struct{ published chan []byte }

func (b bytesBus) Publish(_ context.Context, p []byte) error { b.published <- p; return nil }
func (b bytesBus) Run(ctx context.Context, _ func([]byte)) error {
	<-ctx.Done()
	return nil
}

type convStore struct{ c helpdesk.Conversation }

func (s convStore) GetUser(context.Context, string) (helpdesk.User, error) {
	return helpdesk.User{}, helpdesk.ErrNotFound
}
func (s convStore) GetConversation(context.Context, string) (helpdesk.Conversation, error) {
	return s.c, nil
}

// On a cross-replica bus, events are what they were when their data were
// maps, byte for byte: replicas of the previous version decode them during
// a rolling upgrade.
func TestCrossReplicaWireFormat(t *testing.T) {
	bus := bytesBus{published: make(chan []byte, 64)}
	conv := helpdesk.Conversation{ID: "c1", AssigneeID: "u2", DepartmentID: "d1", UnreadCount: 3}
	h := New(Options{Bus: bus, Store: convStore{c: conv}, Encoder: Encoder{
		Conversation: func(c helpdesk.Conversation) any {
			return map[string]any{"id": c.ID, "unreadCount": c.UnreadCount, "html": "<b>&</b>"}
		},
		Message: func(m helpdesk.Message) any { return map[string]any{"id": m.ID, "text": m.Text} },
	}})
	h.Start()
	defer h.Close()
	encConv := h.opts.Encoder.Conversation(conv)
	msg := helpdesk.Message{ID: "m1", ConversationID: "c1", Text: "olá \"x\" <script>", Status: "failed", WAMessageID: "wamid.1"}
	ctx := context.Background()

	type want struct {
		event string
		data  any // the map the hub used to encode
	}
	var wants []want
	h.MessageStored(ctx, conv, msg)
	wants = append(wants, want{"new_message", map[string]any{"conversationId": conv.ID,
		"message": h.opts.Encoder.Message(msg), "conversation": encConv}})
	h.MessageStatusChanged(ctx, msg)
	wants = append(wants, want{"message_status", map[string]any{"conversationId": "c1", "messageId": "m1",
		"status": "failed", "waMessageId": "wamid.1"}})
	failed := msg
	failed.ErrorCode = "131047"
	h.MessageStatusChanged(ctx, failed)
	wants = append(wants, want{"message_status", map[string]any{"conversationId": "c1", "messageId": "m1",
		"status": "failed", "waMessageId": "wamid.1", "errorCode": "131047", "errorMessage": ""}})
	h.ConversationChanged(ctx, helpdesk.ActionResult{Conversation: conv, PreviousAssignee: "u1",
		Event: helpdesk.ConversationEvent{Type: helpdesk.EventTakeover, ActorID: "u2"}})
	wants = append(wants,
		want{"conversation_assigned", map[string]any{"conversationId": "c1", "assigneeId": "u2", "previousAssigneeId": "u1",
			"auto": false, "byUserId": "u2", "conversation": encConv}},
		want{"conversation_update", map[string]any{"conversationId": "c1", "action": helpdesk.EventTakeover, "conversation": encConv}})
	transfer := map[string]any{"fromUserId": "u1", "toUserId": nil, "fromDepartmentId": "d0", "reason": "busy"}
	h.ConversationChanged(ctx, helpdesk.ActionResult{Conversation: conv, PreviousAssignee: "u1",
		Event: helpdesk.ConversationEvent{Type: helpdesk.EventTransfer, ActorID: "u3", Data: transfer}})
	wants = append(wants,
		want{"conversation_transferred", map[string]any{"conversationId": "c1", "fromUserId": "u1", "toUserId": nil,
			"fromDepartmentId": "d0", "toDepartmentId": nil, "reason": "busy", "byUserId": "u3", "conversation": encConv}},
		want{"conversation_update", map[string]any{"conversationId": "c1", "action": helpdesk.EventTransfer, "conversation": encConv}})
	h.ConversationChanged(ctx, helpdesk.ActionResult{Conversation: conv})
	wants = append(wants, want{"conversation_update", map[string]any{"conversationId": "c1", "action": "updated", "conversation": encConv}})
	h.publishTyping(typingKey{userID: "u2", conversationID: "c1"}, typingState{ref: refOf(conv), name: "Ana"}, true)
	wants = append(wants, want{"user_typing", map[string]any{"conversationId": "c1", "userId": "u2", "userName": "Ana",
		"isTyping": true, "expiresInMs": h.opts.TypingTTL.Milliseconds()}})

	var got []json.RawMessage // each event as the bus carried it
	for len(got) < len(wants) {
		var m struct {
			Replica string            `json:"r"`
			Events  []json.RawMessage `json:"e"`
		}
		if err := json.Unmarshal(<-bus.published, &m); err != nil {
			t.Fatal(err)
		}
		if m.Replica != h.replica {
			t.Fatalf("replica %q, want %q", m.Replica, h.replica)
		}
		got = append(got, m.Events...)
	}
	for i, w := range wants {
		var ev struct {
			Event string          `json:"n"`
			Data  json.RawMessage `json:"d"`
			To    json.RawMessage `json:"a"`
		}
		if err := json.Unmarshal(got[i], &ev); err != nil {
			t.Fatal(err)
		}
		data, err := json.Marshal(w.data)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Event != w.event || !bytes.Equal(ev.Data, data) {
			t.Errorf("event %d: %s %s\nwant %s %s", i, ev.Event, ev.Data, w.event, data)
		}
		if len(ev.To) == 0 {
			t.Errorf("event %d carries no audience: %s", i, got[i])
		}
	}
}

// The hand-made encoding of a bus message is json.Marshal's, byte for byte.
func TestBusMsgEncodeIsJSONMarshal(t *testing.T) {
	data, _ := json.Marshal(map[string]any{"text": "olá <b>\"x\"</b> & \u2028", "n": 1})
	before := convRef{ID: "c1", DepartmentID: "d0"}
	for name, m := range map[string]busMsg{
		"empty":     {Replica: "r1"},
		"presence":  {Replica: "r1", Beat: true, Presence: []string{}},
		"users":     {Replica: "r1", Beat: true, Presence: []string{"u1", "u<2>"}},
		"leaving":   {Replica: "r\"1\"", Leaving: true},
		"odd names": {Replica: "répl\u2028ica", Events: []busEvent{{Event: "a&b", Data: data, To: audience{Rule: ruleAll}}}},
		"events": {Replica: "r1", Events: []busEvent{
			{Event: "new_message", Data: data, To: audience{Rule: ruleMessage, Conv: convRef{ID: "c1", AssigneeID: "u1"}}},
			{Event: "conversation_update", Data: json.RawMessage(`{"a":[1,2]}`), To: audience{Rule: ruleVisible,
				Conv: convRef{ID: "c1"}, Before: &before, Users: []string{"u1"}, Except: "u2", NotMessage: true}},
			{Event: "user_typing", To: audience{Rule: ruleTyping}}, // no data: null
		}},
	} {
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}
