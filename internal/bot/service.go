package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// AuditConfigUpdate is the audit action of a changed bot setting.
const AuditConfigUpdate = "bot.config_update"

// Service reads and changes the bot's settings and flow versions.
type Service struct {
	store helpdesk.Store
	now   func() time.Time
}

// NewService returns a Service; now may be nil (the wall clock).
func NewService(store helpdesk.Store, now func() time.Time) *Service {
	if now == nil {
		now = helpdesk.Now
	}
	return &Service{store: store, now: now}
}

// Settings are every setting's current value (stored or default) and the
// version of the current flow.
type Settings struct {
	Values      map[string]json.RawMessage
	FlowVersion int
}

// EnsureDefaultFlow saves DefaultFlow as version 1 on a fresh install; it
// does nothing when a version exists (also when another replica raced it).
func (s *Service) EnsureDefaultFlow(ctx context.Context) error {
	_, err := s.store.LatestBotFlow(ctx)
	if !errors.Is(err, helpdesk.ErrNotFound) {
		return err
	}
	err = s.store.InsertBotFlow(ctx, helpdesk.BotFlow{Version: 1, Definition: mustJSON(DefaultFlow()), CreatedAt: s.now()})
	if errors.Is(err, helpdesk.ErrConflict) {
		return nil
	}
	return err
}

// Settings returns the current settings.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	stored, err := s.store.BotConfigValues(ctx)
	if err != nil {
		return Settings{}, fmt.Errorf("bot settings: %w", err)
	}
	out := Settings{Values: Defaults()}
	for k, v := range stored {
		if canon, problem := CheckValue(k, json.RawMessage(v)); problem == "" {
			out.Values[k] = canon
		}
	}
	fv, err := s.store.LatestBotFlow(ctx)
	switch {
	case errors.Is(err, helpdesk.ErrNotFound):
		out.Values[KeyFlow] = mustJSON(DefaultFlow())
	case err != nil:
		return Settings{}, fmt.Errorf("bot settings: %w", err)
	default:
		out.Values[KeyFlow], out.FlowVersion = fv.Definition, fv.Version
	}
	return out, nil
}

// Put changes one setting. Only admins may. Saving the flow validates it
// and stores it as a new version; conversations already talking to the
// bot finish on their version. Errors: forbidden, not_found (no such
// key), validation_failed (fields under "value", naming the problem),
// conflict (another admin saved a flow at the same moment).
func (s *Service) Put(ctx context.Context, actor helpdesk.Actor, key string, raw json.RawMessage) (Settings, error) {
	if actor.User.Role != helpdesk.RoleAdmin {
		return Settings{}, &helpdesk.Error{Code: helpdesk.CodeForbidden, Message: "only admins may change the bot"}
	}
	if !slices.Contains(Keys, key) {
		return Settings{}, &helpdesk.Error{Code: helpdesk.CodeNotFound, Message: fmt.Sprintf("%q is not a bot setting", key)}
	}
	if len(raw) == 0 {
		return Settings{}, helpdesk.ValidationError(map[string]string{"value": "is required"})
	}
	now := s.now()
	var err error
	if key == KeyFlow {
		err = s.putFlow(ctx, actor, raw, now)
	} else {
		canon, problem := CheckValue(key, raw)
		if problem != "" {
			return Settings{}, helpdesk.ValidationError(map[string]string{"value": problem})
		}
		err = s.store.InTx(ctx, func(tx helpdesk.Store) error {
			if err := tx.PutBotConfigValue(ctx, key, string(canon), actor.User.ID, now); err != nil {
				return err
			}
			return tx.InsertAuditLog(ctx, helpdesk.AuditLog{ID: helpdesk.NewID(), ActorID: actor.User.ID, Action: AuditConfigUpdate,
				EntityType: "bot_configuration", EntityID: key, IP: actor.IP, CreatedAt: now})
		})
	}
	if err != nil {
		var apiErr *helpdesk.Error
		if errors.As(err, &apiErr) {
			return Settings{}, apiErr
		}
		return Settings{}, fmt.Errorf("put bot setting %s: %w", key, err)
	}
	return s.Settings(ctx)
}

func (s *Service) putFlow(ctx context.Context, actor helpdesk.Actor, raw json.RawMessage, now time.Time) error {
	f, err := ParseFlow(raw)
	if err != nil {
		return helpdesk.ValidationError(map[string]string{"value": err.Error()})
	}
	depts, err := s.store.ListDepartments(ctx)
	if err != nil {
		return err
	}
	known := func(ref string) bool { return findDepartment(depts, ref).ID != "" }
	if problems := f.Validate(known); problems != nil {
		fields := map[string]string{}
		for k, v := range problems {
			fields["value."+k] = v
		}
		return &helpdesk.Error{Code: helpdesk.CodeValidation, Message: "the flow has problems", Fields: fields}
	}
	err = s.store.InTx(ctx, func(tx helpdesk.Store) error {
		version := 1
		latest, err := tx.LatestBotFlow(ctx)
		switch {
		case err == nil:
			version = latest.Version + 1
		case !errors.Is(err, helpdesk.ErrNotFound):
			return err
		}
		if err := tx.InsertBotFlow(ctx, helpdesk.BotFlow{Version: version, Definition: mustJSON(f), CreatedBy: actor.User.ID, CreatedAt: now}); err != nil {
			return err
		}
		return tx.InsertAuditLog(ctx, helpdesk.AuditLog{ID: helpdesk.NewID(), ActorID: actor.User.ID, Action: AuditConfigUpdate,
			EntityType: "bot_configuration", EntityID: KeyFlow, IP: actor.IP, Details: map[string]any{"version": version}, CreatedAt: now})
	})
	if errors.Is(err, helpdesk.ErrConflict) {
		return &helpdesk.Error{Code: helpdesk.CodeConflict, Message: "another flow was saved at the same moment; reload and try again"}
	}
	return err
}

// Flows returns the saved flow versions, newest first (at most 100).
func (s *Service) Flows(ctx context.Context) ([]helpdesk.BotFlow, error) {
	fs, err := s.store.ListBotFlows(ctx, 100)
	if err != nil {
		return nil, fmt.Errorf("bot flows: %w", err)
	}
	return fs, nil
}
