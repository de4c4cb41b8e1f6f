package realtime

import (
	"context"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// The hub is the helpdesk's Notifier.
var _ helpdesk.Notifier = (*Hub)(nil)

// Events' data. The fields are in the order of their JSON names, which is
// the order encoding/json gave the maps these structs replace: the frames
// stay byte for byte what they were (for the other replicas' sake during
// an upgrade, too). A struct is encoded without building a map per event,
// and only if someone receives the event.
//
// Those holding a conversation or a message keep the domain value
// (unexported) until then: shape turns it into the REST API's JSON value,
// so an event nobody receives costs no DTOs either.
type (
	newMessageData struct {
		Conversation   any    `json:"conversation"`
		ConversationID string `json:"conversationId"`
		Message        any    `json:"message"`
		conv           helpdesk.Conversation
		msg            helpdesk.Message
	}
	messageStatusData struct {
		ConversationID string `json:"conversationId"`
		// Both or neither: a failure's code and message.
		ErrorCode    *string `json:"errorCode,omitempty"`
		ErrorMessage *string `json:"errorMessage,omitempty"`
		MessageID    string  `json:"messageId"`
		Status       string  `json:"status"`
		WAMessageID  string  `json:"waMessageId"`
	}
	conversationAssignedData struct {
		AssigneeID         string `json:"assigneeId"`
		Auto               bool   `json:"auto"`
		ByUserID           string `json:"byUserId"`
		Conversation       any    `json:"conversation"`
		ConversationID     string `json:"conversationId"`
		PreviousAssigneeID string `json:"previousAssigneeId"`
		conv               helpdesk.Conversation
	}
	// The from/to/reason values are the transfer event's, whatever their
	// type (null when missing).
	conversationTransferredData struct {
		ByUserID         string `json:"byUserId"`
		Conversation     any    `json:"conversation"`
		ConversationID   string `json:"conversationId"`
		FromDepartmentID any    `json:"fromDepartmentId"`
		FromUserID       any    `json:"fromUserId"`
		Reason           any    `json:"reason"`
		ToDepartmentID   any    `json:"toDepartmentId"`
		ToUserID         any    `json:"toUserId"`
		conv             helpdesk.Conversation
	}
	conversationUpdateData struct {
		Action         string `json:"action"`
		Conversation   any    `json:"conversation"`
		ConversationID string `json:"conversationId"`
		conv           helpdesk.Conversation
	}
	userTypingData struct {
		ConversationID string `json:"conversationId"`
		ExpiresInMs    int64  `json:"expiresInMs"`
		IsTyping       bool   `json:"isTyping"`
		UserID         string `json:"userId"`
		UserName       string `json:"userName"`
	}
	onlineStatusData struct {
		Online bool   `json:"online"`
		UserID string `json:"userId"`
	}
	// Several users' presence changed at once (see recomputeOnlineLocked).
	onlineStatusListData struct {
		Users []onlineStatusData `json:"users"`
	}
)

// shaper is event data that takes its JSON shape when encoded.
type shaper interface{ shape(Encoder) any }

func (d newMessageData) shape(e Encoder) any {
	d.Conversation, d.Message = e.Conversation(d.conv), e.Message(d.msg)
	return d
}

func (d conversationAssignedData) shape(e Encoder) any {
	d.Conversation = e.Conversation(d.conv)
	return d
}

func (d conversationTransferredData) shape(e Encoder) any {
	d.Conversation = e.Conversation(d.conv)
	return d
}

func (d conversationUpdateData) shape(e Encoder) any {
	d.Conversation = e.Conversation(d.conv)
	return d
}

// MessageStored implements helpdesk.Notifier: new_message, with the
// conversation as it is now (its last message, unread count).
func (h *Hub) MessageStored(ctx context.Context, c helpdesk.Conversation, m helpdesk.Message) {
	h.enqueue(ctx, busEvent{Event: "new_message", To: audience{Rule: ruleMessage, Conv: refOf(c)},
		value: newMessageData{ConversationID: c.ID, conv: c, msg: m}})
}

// MessageStatusChanged implements helpdesk.Notifier: message_status, to
// the same people as the message.
func (h *Hub) MessageStatusChanged(ctx context.Context, m helpdesk.Message) {
	c, err := h.opts.Store.GetConversation(ctx, m.ConversationID)
	if err != nil {
		h.log.WarnContext(ctx, "realtime: conversation of a status", "message_id", m.ID, "err", err)
		return
	}
	d := messageStatusData{ConversationID: m.ConversationID, MessageID: m.ID, Status: m.Status, WAMessageID: m.WAMessageID}
	if m.ErrorCode != "" || m.ErrorMessage != "" {
		code, msg := m.ErrorCode, m.ErrorMessage
		d.ErrorCode, d.ErrorMessage = &code, &msg
	}
	h.enqueue(ctx, busEvent{Event: "message_status", To: audience{Rule: ruleMessage, Conv: refOf(c)}, value: d})
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
	switch res.Event.Type {
	case helpdesk.EventTakeover, helpdesk.EventAssigned:
		h.enqueue(ctx, busEvent{Event: "conversation_assigned", To: to, value: conversationAssignedData{
			ConversationID: c.ID, AssigneeID: c.AssigneeID, PreviousAssigneeID: res.PreviousAssignee,
			Auto: res.Event.Type == helpdesk.EventAssigned, ByUserID: res.Event.ActorID, conv: c,
		}})
	case helpdesk.EventTransfer:
		d := res.Event.Data
		h.enqueue(ctx, busEvent{Event: "conversation_transferred", To: to, value: conversationTransferredData{
			ConversationID: c.ID, FromUserID: d["fromUserId"], ToUserID: d["toUserId"],
			FromDepartmentID: d["fromDepartmentId"], ToDepartmentID: d["toDepartmentId"], Reason: d["reason"],
			ByUserID: res.Event.ActorID, conv: c,
		}})
	}
	action := res.Event.Type
	if action == "" {
		// A new message changed it: who gets the new_message learns the
		// same from it.
		action, to.NotMessage = "updated", true
	}
	h.enqueue(ctx, busEvent{Event: "conversation_update", To: to, value: conversationUpdateData{
		ConversationID: c.ID, Action: action, conv: c,
	}})
}
