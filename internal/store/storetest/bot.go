package storetest

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

func testBot(t *testing.T, open Opener) {
	t.Run("Config", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		vals, err := s.BotConfigValues(ctx)
		if err != nil || len(vals) != 0 {
			t.Fatalf("fresh config = %v, %v", vals, err)
		}
		if v, err := s.BotConfigValue(ctx, "enabled"); err != nil || v != "" {
			t.Fatalf("a key never saved = %q, %v; want \"\"", v, err)
		}
		for _, v := range []string{"true", "false"} {
			if err := s.PutBotConfigValue(ctx, "enabled", v, "", helpdesk.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if on, err := helpdesk.BotEnabled(ctx, s); err != nil || on {
			t.Errorf("enabled after overwrite = %v, %v", on, err)
		}
		if v, err := s.BotConfigValue(ctx, "enabled"); err != nil || v != "false" {
			t.Errorf("stored value = %q, %v; want the last one written", v, err)
		}
	})

	t.Run("FlowVersions", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		if _, err := s.LatestBotFlow(ctx); !errors.Is(err, helpdesk.ErrNotFound) {
			t.Fatalf("no flow yet: %v", err)
		}
		u := mustCreateUser(t, s, newUser("admin@example.com"))
		for v := 1; v <= 3; v++ {
			f := helpdesk.BotFlow{Version: v, Definition: json.RawMessage(`{"start":"a","nodes":[]}`), CreatedAt: helpdesk.Now()}
			if v > 1 {
				f.CreatedBy = u.ID
			}
			if err := s.InsertBotFlow(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		err := s.InsertBotFlow(ctx, helpdesk.BotFlow{Version: 3, Definition: json.RawMessage(`{}`), CreatedAt: helpdesk.Now()})
		requireErr(t, err, helpdesk.ErrConflict)
		latest, err := s.LatestBotFlow(ctx)
		if err != nil || latest.Version != 3 || latest.CreatedBy != u.ID || string(latest.Definition) != `{"start":"a","nodes":[]}` {
			t.Errorf("latest = %+v, %v", latest, err)
		}
		list, err := s.ListBotFlows(ctx, 2)
		if err != nil || len(list) != 2 || list[0].Version != 3 || list[1].Version != 2 {
			t.Errorf("list = %+v, %v", list, err)
		}
		if first, err := s.GetBotFlow(ctx, 1); err != nil || first.CreatedBy != "" {
			t.Errorf("version 1 = %+v, %v", first, err)
		}
		_, err = s.GetBotFlow(ctx, 9)
		requireErr(t, err, helpdesk.ErrNotFound)
	})

	t.Run("Sessions", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		if err := s.InsertBotFlow(ctx, helpdesk.BotFlow{Version: 1, Definition: json.RawMessage(`{}`), CreatedAt: helpdesk.Now()}); err != nil {
			t.Fatal(err)
		}
		conv := mustOpenConversation(t, s, mustUpsertChannel(t, s, "111"), "5511999990000")
		_, err := s.GetBotSession(ctx, conv.ID)
		requireErr(t, err, helpdesk.ErrNotFound)
		now := helpdesk.Now()
		sess := helpdesk.BotSession{ConversationID: conv.ID, FlowVersion: 1, Node: "menu", Variables: map[string]string{"pedido": "A-1 ção"},
			Path: []string{"boas_vindas", "menu"}, InvalidCount: 2, Seq: 3, LastMessageID: "m1", LastActivityAt: now, CreatedAt: now}
		if err := s.SaveBotSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		ended := now.Add(time.Minute)
		sess.Node, sess.Mode, sess.Seq, sess.EndedAt, sess.EndedReason, sess.Variables = "fim", "ai", 4, &ended, "inactivity", nil
		if err := s.SaveBotSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetBotSession(ctx, conv.ID)
		if err != nil || got.Node != "fim" || got.Mode != "ai" || got.Seq != 4 || got.InvalidCount != 2 || got.LastMessageID != "m1" ||
			got.EndedReason != "inactivity" || len(got.Variables) != 0 || !slices.Equal(got.Path, []string{"boas_vindas", "menu"}) {
			t.Errorf("session = %+v, %v", got, err)
		}
		requireTime(t, "ended_at", *got.EndedAt, ended)
		requireTime(t, "created_at", got.CreatedAt, now)
	})

	t.Run("CSAT", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		ch := mustUpsertChannel(t, s, "111")
		conv := mustOpenConversation(t, s, ch, "5511999990000")
		_, err := s.PendingCSAT(ctx, ch.ID, conv.Customer.ID, time.Time{})
		requireErr(t, err, helpdesk.ErrNotFound) // not closed, not asked
		now := helpdesk.Now()
		if err := s.SetConversationState(ctx, conv.ID, helpdesk.ConversationState{Status: helpdesk.StatusClosed, ClosedAt: &now}, now); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkCSATRequested(ctx, conv.ID, now); err != nil {
			t.Fatal(err)
		}
		_, err = s.PendingCSAT(ctx, ch.ID, conv.Customer.ID, now.Add(time.Second))
		requireErr(t, err, helpdesk.ErrNotFound) // asked before the window
		pending, err := s.PendingCSAT(ctx, ch.ID, conv.Customer.ID, now.Add(-time.Hour))
		if err != nil || pending.ID != conv.ID || pending.CSATRequestedAt == nil {
			t.Fatalf("pending = %+v, %v", pending, err)
		}
		for i, want := range []bool{true, false} {
			ok, err := s.RecordCSAT(ctx, conv.ID, 4, "rápido", now)
			if err != nil || ok != want {
				t.Errorf("record %d = %v, %v", i, ok, err)
			}
		}
		got, err := s.GetConversation(ctx, conv.ID)
		if err != nil || got.CSATScore == nil || *got.CSATScore != 4 || got.CSATComment != "rápido" {
			t.Errorf("conversation = %+v, %v", got, err)
		}
		_, err = s.PendingCSAT(ctx, ch.ID, conv.Customer.ID, now.Add(-time.Hour))
		requireErr(t, err, helpdesk.ErrNotFound) // answered
	})
}
