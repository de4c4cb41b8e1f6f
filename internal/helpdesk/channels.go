package helpdesk

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Audit actions of channel changes.
const (
	AuditChannelCreate = "channel.create"
	AuditChannelUpdate = "channel.update"
)

var phoneNumberIDPattern = regexp.MustCompile(`^[0-9]{5,20}$`)

// ChannelParams are the fields of a WhatsApp number; nil fields stay as
// they are on update. Secrets are write-only: they are never read back.
type ChannelParams struct {
	Name                *string
	PhoneNumberID       *string // fixed once created
	DisplayPhoneNumber  *string
	BusinessAccountID   *string
	AccessToken         *string
	AppSecret           *string
	VerifyToken         *string
	DefaultDepartmentID *string // "" clears it
	MessagesPerSecond   *int
	Status              *ChannelStatus // active or disabled; a fixed token clears "unhealthy"
}

// CreateChannel connects another WhatsApp number. Only admins may.
// Errors: forbidden, validation_failed, conflict (number already connected).
func (s *Service) CreateChannel(ctx context.Context, actor Actor, p ChannelParams) (Channel, error) {
	if actor.User.Role != RoleAdmin {
		return Channel{}, errForbidden()
	}
	fields := map[string]string{}
	for name, v := range map[string]*string{"name": p.Name, "phoneNumberId": p.PhoneNumberID, "accessToken": p.AccessToken, "appSecret": p.AppSecret} {
		if v == nil || strings.TrimSpace(*v) == "" {
			fields[name] = "is required"
		}
	}
	now := s.now()
	ch := Channel{ID: NewID(), Status: ChannelActive, MessagesPerSecond: 80, CreatedAt: now, UpdatedAt: now}
	s.applyChannelParams(ctx, &ch, p, fields)
	if len(fields) > 0 {
		return Channel{}, ValidationError(fields)
	}
	var out Channel
	err := s.store.InTx(ctx, func(tx Store) error {
		var err error
		if out, err = tx.InsertChannel(ctx, ch); err != nil {
			return err
		}
		if err := tx.InsertAuditLog(ctx, s.audit(actor, AuditChannelCreate, "channel", out.ID, map[string]any{"phoneNumberId": ch.PhoneNumberID})); err != nil {
			return err
		}
		if out.Status == ChannelDisabled {
			return nil
		}
		return s.enqueueInboxReplay(ctx, tx, out.PhoneNumberID, actor, AuditChannelCreate)
	})
	if errors.Is(err, ErrConflict) {
		// The unique number decides, so two admins connecting it at once
		// cannot both succeed.
		return Channel{}, &Error{Code: CodeConflict, Message: "this number is already connected", Fields: map[string]string{"phoneNumberId": "is already in use"}}
	}
	if err != nil {
		return Channel{}, fmt.Errorf("create channel: %w", err)
	}
	return out, nil
}

// UpdateChannel changes a number's settings or credentials. Only admins may.
func (s *Service) UpdateChannel(ctx context.Context, actor Actor, id string, p ChannelParams) (Channel, error) {
	if actor.User.Role != RoleAdmin {
		return Channel{}, errForbidden()
	}
	ch, err := s.GetChannel(ctx, id)
	if err != nil {
		return Channel{}, err
	}
	wasDisabled, oldSecret := ch.Status == ChannelDisabled, ch.AppSecret
	fields := map[string]string{}
	if p.PhoneNumberID != nil && *p.PhoneNumberID != ch.PhoneNumberID {
		fields["phoneNumberId"] = "cannot change; connect the other number as a new channel"
	}
	for name, v := range map[string]*string{"name": p.Name, "accessToken": p.AccessToken, "appSecret": p.AppSecret} {
		if v != nil && strings.TrimSpace(*v) == "" {
			fields[name] = "must not be empty"
		}
	}
	s.applyChannelParams(ctx, &ch, p, fields)
	if len(fields) > 0 {
		return Channel{}, ValidationError(fields)
	}
	ch.UpdatedAt = s.now()
	if p.AccessToken != nil && ch.Status == ChannelUnhealthy && p.Status == nil {
		ch.Status = ChannelActive // a new token is the fix for an unhealthy channel
	}
	var out Channel
	err = s.store.InTx(ctx, func(tx Store) error {
		var err error
		if out, err = tx.UpsertChannel(ctx, ch); err != nil {
			return err
		}
		if out.Status != ch.Status {
			if err := tx.SetChannelStatus(ctx, ch.ID, ch.Status, "", ch.UpdatedAt); err != nil {
				return err
			}
			out.Status, out.StatusReason = ch.Status, ""
		}
		if err := tx.InsertAuditLog(ctx, s.audit(actor, AuditChannelUpdate, "channel", ch.ID, map[string]any{"changed": changedChannelFields(p)})); err != nil {
			return err
		}
		// A corrected app secret binds the bodies its number's app signed
		// that a replay left unbound under the wrong one.
		if out.Status == ChannelDisabled || !wasDisabled && out.AppSecret == oldSecret {
			return nil
		}
		return s.enqueueInboxReplay(ctx, tx, out.PhoneNumberID, actor, AuditChannelUpdate)
	})
	if err != nil {
		return Channel{}, fmt.Errorf("update channel: %w", err)
	}
	return out, nil
}

// GetChannel returns a channel or a not_found error.
func (s *Service) GetChannel(ctx context.Context, id string) (Channel, error) {
	if !ValidID(id) {
		return Channel{}, errNotFound("channel")
	}
	ch, err := s.store.GetChannel(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Channel{}, errNotFound("channel")
	}
	return ch, err
}

// ListChannels returns every connected number.
func (s *Service) ListChannels(ctx context.Context) ([]Channel, error) {
	return s.store.ListChannels(ctx)
}

func (s *Service) applyChannelParams(ctx context.Context, ch *Channel, p ChannelParams, fields map[string]string) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&ch.Name, p.Name)
	set(&ch.PhoneNumberID, p.PhoneNumberID)
	set(&ch.DisplayPhoneNumber, p.DisplayPhoneNumber)
	set(&ch.BusinessAccountID, p.BusinessAccountID)
	set(&ch.AccessToken, p.AccessToken)
	set(&ch.AppSecret, p.AppSecret)
	set(&ch.VerifyToken, p.VerifyToken)
	if p.Name != nil {
		setIf(fields, "name", ValidateName(ch.Name, maxNameLength))
	}
	if p.PhoneNumberID != nil && fields["phoneNumberId"] == "" && !phoneNumberIDPattern.MatchString(ch.PhoneNumberID) {
		fields["phoneNumberId"] = "must be the numeric Phone number ID from Meta's API Setup page"
	}
	if p.MessagesPerSecond != nil {
		if *p.MessagesPerSecond < 1 || *p.MessagesPerSecond > 1000 {
			fields["messagesPerSecond"] = "must be between 1 and 1000"
		}
		ch.MessagesPerSecond = *p.MessagesPerSecond
	}
	if p.Status != nil {
		if *p.Status != ChannelActive && *p.Status != ChannelDisabled {
			fields["status"] = "must be active or disabled"
		}
		ch.Status = *p.Status
	}
	if p.DefaultDepartmentID != nil {
		ch.DefaultDepartmentID = *p.DefaultDepartmentID
		if ch.DefaultDepartmentID != "" {
			if _, err := s.GetDepartment(ctx, ch.DefaultDepartmentID); err != nil {
				fields["defaultDepartmentId"] = "is not a department"
			}
		}
	}
}

func changedChannelFields(p ChannelParams) []string {
	return changedFields(map[string]bool{
		"name": p.Name != nil, "displayPhoneNumber": p.DisplayPhoneNumber != nil, "businessAccountId": p.BusinessAccountID != nil,
		"accessToken": p.AccessToken != nil, "appSecret": p.AppSecret != nil, "verifyToken": p.VerifyToken != nil,
		"defaultDepartmentId": p.DefaultDepartmentID != nil, "messagesPerSecond": p.MessagesPerSecond != nil, "status": p.Status != nil,
	})
}

// InboxReplayEnqueuer schedules the replay of a number's unrouted webhooks
// (Inbox.ReplayUnrouted) in the transaction that gave the number an active
// channel, so the replay exists exactly when the change committed;
// jobs.Enqueuer implements it.
type InboxReplayEnqueuer interface {
	EnqueueInboxReplay(ctx context.Context, tx Store, phoneNumberID, actorID, trigger string) error
}

// enqueueInboxReplay: the customers who wrote to the number while it had no
// active channel reach the agents now.
func (s *Service) enqueueInboxReplay(ctx context.Context, tx Store, phoneNumberID string, actor Actor, trigger string) error {
	e, ok := s.jobs.(InboxReplayEnqueuer)
	if !ok {
		return nil
	}
	return e.EnqueueInboxReplay(ctx, tx, phoneNumberID, actor.User.ID, trigger)
}
