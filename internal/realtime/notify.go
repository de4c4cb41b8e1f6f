package realtime

import (
	"context"
	"encoding/json"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// The hub is the helpdesk's Notifier.
var _ helpdesk.Notifier = (*Hub)(nil)

func (h *Hub) data(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		h.log.Error("realtime: encode event", "err", err)
		return json.RawMessage("null")
	}
	return b
}

// MessageStored implements helpdesk.Notifier: new_message, with the
// conversation as it is now (its last message, unread count).
func (h *Hub) MessageStored(ctx context.Context, c helpdesk.Conversation, m helpdesk.Message) {
	h.enqueue(ctx, busEvent{Event: "new_message", To: audience{Rule: ruleMessage, Conv: refOf(c)},
		Data: h.data(map[string]any{"conversationId": c.ID, "message": h.opts.Encoder.Message(m),
			"conversation": h.opts.Encoder.Conversation(c)})})
}

// MessageStatusChanged implements helpdesk.Notifier: message_status, to
// the same people as the message.
func (h *Hub) MessageStatusChanged(ctx context.Context, m helpdesk.Message) {
	c, err := h.opts.Store.GetConversation(ctx, m.ConversationID)
	if err != nil {
		h.log.WarnContext(ctx, "realtime: conversation of a status", "message_id", m.ID, "err", err)
		return
	}
	d := map[string]any{"conversationId": m.ConversationID, "messageId": m.ID, "status": m.Status,
		"waMessageId": m.WAMessageID}
	if m.ErrorCode != "" || m.ErrorMessage != "" {
		d["errorCode"], d["errorMessage"] = m.ErrorCode, m.ErrorMessage
	}
	h.enqueue(ctx, busEvent{Event: "message_status", To: audience{Rule: ruleMessage, Conv: refOf(c)}, Data: h.data(d)})
}

// ConversationChanged implements helpdesk.Notifier: conversation_assigned
// (takeover, automatic assignment, a transfer to an agent) or
// conversation_transferred first when that is what happened, then
// conversation_update to everyone who can see it now or could before.
func (h *Hub) ConversationChanged(ctx context.Context, res helpdesk.ActionResult) {
	c := res.Conversation
	to := audience{Rule: ruleVisible, Conv: refOf(c)}
	if res.PreviousAssignee != c.AssigneeID || res.Event.Type == helpdesk.EventTransfer {
		before := to.Conv
		before.AssigneeID = res.PreviousAssignee
		if d, ok := res.Event.Data["fromDepartmentId"].(string); ok {
			before.DepartmentID = d
		}
		to.Before = &before
		if res.PreviousAssignee != "" {
			to.Users = []string{res.PreviousAssignee} // told they no longer have it
		}
	}
	conv := h.opts.Encoder.Conversation(c)
	switch res.Event.Type {
	case helpdesk.EventTakeover, helpdesk.EventAssigned:
		h.enqueue(ctx, busEvent{Event: "conversation_assigned", To: to, Data: h.data(map[string]any{
			"conversationId": c.ID, "assigneeId": c.AssigneeID, "previousAssigneeId": res.PreviousAssignee,
			"auto": res.Event.Type == helpdesk.EventAssigned, "byUserId": res.Event.ActorID, "conversation": conv,
		})})
	case helpdesk.EventTransfer:
		d := res.Event.Data
		h.enqueue(ctx, busEvent{Event: "conversation_transferred", To: to, Data: h.data(map[string]any{
			"conversationId": c.ID, "fromUserId": d["fromUserId"], "toUserId": d["toUserId"],
			"fromDepartmentId": d["fromDepartmentId"], "toDepartmentId": d["toDepartmentId"], "reason": d["reason"],
			"byUserId": res.Event.ActorID, "conversation": conv,
		})})
	}
	action := res.Event.Type
	if action == "" {
		// A new message changed it: who gets the new_message learns the
		// same from it.
		action, to.NotMessage = "updated", true
	}
	h.enqueue(ctx, busEvent{Event: "conversation_update", To: to, Data: h.data(map[string]any{
		"conversationId": c.ID, "action": action, "conversation": conv,
	})})
}
