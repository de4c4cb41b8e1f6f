package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

func newAuditLog(action string, at time.Time) helpdesk.AuditLog {
	return helpdesk.AuditLog{
		ID:         helpdesk.NewID(),
		ActorID:    helpdesk.NewID(),
		Action:     action,
		EntityType: "user",
		EntityID:   helpdesk.NewID(),
		IP:         "203.0.113.7",
		CreatedAt:  at,
	}
}

func mustInsertAuditLog(t *testing.T, s helpdesk.Store, a helpdesk.AuditLog) helpdesk.AuditLog {
	t.Helper()
	if err := s.InsertAuditLog(t.Context(), a); err != nil {
		t.Fatalf("InsertAuditLog: %v", err)
	}
	return a
}

func auditIDs(logs []helpdesk.AuditLog) []string {
	ids := make([]string, len(logs))
	for i, a := range logs {
		ids[i] = a.ID
	}
	return ids
}

func testAuditLogs(t *testing.T, open Opener) {
	t.Run("InsertAndList", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		full := newAuditLog(helpdesk.AuditUserCreate, helpdesk.Now())
		full.Details = map[string]any{
			"email": "ana@example.com",
			"count": 3.0, // JSON numbers come back as float64
			"admin": true,
			"roles": []any{"agent", "admin"},
			"diff":  map[string]any{"name": []any{"Ana", "Ana Maria"}},
		}
		anonymous := newAuditLog(helpdesk.AuditLoginFailed, full.CreatedAt.Add(time.Second))
		anonymous.ActorID, anonymous.EntityType, anonymous.EntityID = "", "", "" // a failed login
		mustInsertAuditLog(t, s, full)
		mustInsertAuditLog(t, s, anonymous)

		got, err := s.ListAuditLogs(ctx, helpdesk.AuditFilter{})
		if err != nil {
			t.Fatalf("ListAuditLogs: %v", err)
		}
		want := []helpdesk.AuditLog{anonymous, full}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ListAuditLogs =\n %+v\nwant\n %+v", got, want)
		}
	})

	t.Run("DuplicateID", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		a := mustInsertAuditLog(t, s, newAuditLog(helpdesk.AuditLogin, helpdesk.Now()))
		requireErr(t, s.InsertAuditLog(ctx, a), helpdesk.ErrConflict)
	})

	t.Run("NewestFirst", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		// Times out of id order, with fractions of every width (SQLite
		// compares them as text), and a tie broken by id.
		base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		var logs []helpdesk.AuditLog
		for _, off := range []time.Duration{time.Second, 50 * time.Millisecond, 0, 500 * time.Millisecond,
			5 * time.Millisecond, 2*time.Second + 123*time.Millisecond, 50 * time.Millisecond} {
			logs = append(logs, mustInsertAuditLog(t, s, newAuditLog(helpdesk.AuditLogin, base.Add(off))))
		}
		want := slices.Clone(logs)
		slices.SortStableFunc(want, func(a, b helpdesk.AuditLog) int {
			if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
				return c
			}
			return strings.Compare(b.ID, a.ID)
		})
		got, err := s.ListAuditLogs(ctx, helpdesk.AuditFilter{})
		if err != nil {
			t.Fatalf("ListAuditLogs: %v", err)
		}
		if !slices.Equal(auditIDs(got), auditIDs(want)) {
			t.Fatalf("order = %v, want %v", auditIDs(got), auditIDs(want))
		}

		// Pages of three walk the same order.
		var paged []string
		before := ""
		for range 4 {
			page, err := s.ListAuditLogs(ctx, helpdesk.AuditFilter{Limit: 3, Before: before})
			if err != nil {
				t.Fatalf("ListAuditLogs: %v", err)
			}
			if len(page) == 0 {
				break
			}
			paged = append(paged, auditIDs(page)...)
			before = page[len(page)-1].ID
		}
		if !slices.Equal(paged, auditIDs(want)) {
			t.Fatalf("pages = %v, want %v", paged, auditIDs(want))
		}
	})

	t.Run("Filters", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		now := helpdesk.Now()
		login := mustInsertAuditLog(t, s, newAuditLog(helpdesk.AuditLogin, now))
		create := newAuditLog(helpdesk.AuditUserCreate, now.Add(time.Second))
		create.ActorID = login.ActorID
		mustInsertAuditLog(t, s, create)
		update := newAuditLog(helpdesk.AuditUserUpdate, now.Add(2*time.Second))
		update.EntityID = create.EntityID
		mustInsertAuditLog(t, s, update)

		for _, tc := range []struct {
			name   string
			filter helpdesk.AuditFilter
			want   []helpdesk.AuditLog
		}{
			{"Action", helpdesk.AuditFilter{Action: helpdesk.AuditUserCreate}, []helpdesk.AuditLog{create}},
			{"Actor", helpdesk.AuditFilter{ActorID: login.ActorID}, []helpdesk.AuditLog{create, login}},
			{"Entity", helpdesk.AuditFilter{EntityID: create.EntityID}, []helpdesk.AuditLog{update, create}},
			{"Combined", helpdesk.AuditFilter{ActorID: login.ActorID, EntityID: create.EntityID}, []helpdesk.AuditLog{create}},
			{"NoMatch", helpdesk.AuditFilter{Action: helpdesk.AuditLogout}, nil},
			{"UnknownCursor", helpdesk.AuditFilter{Before: helpdesk.NewID()}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.ListAuditLogs(ctx, tc.filter)
				if err != nil {
					t.Fatalf("ListAuditLogs: %v", err)
				}
				if !slices.Equal(auditIDs(got), auditIDs(tc.want)) {
					t.Fatalf("ListAuditLogs = %v, want %v", auditIDs(got), auditIDs(tc.want))
				}
			})
		}
	})

	t.Run("DefaultLimit", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		now := helpdesk.Now()
		for i := range 51 {
			a := newAuditLog(helpdesk.AuditLogin, now.Add(time.Duration(i)*time.Millisecond))
			a.Details = map[string]any{"n": fmt.Sprint(i)}
			mustInsertAuditLog(t, s, a)
		}
		got, err := s.ListAuditLogs(ctx, helpdesk.AuditFilter{})
		if err != nil {
			t.Fatalf("ListAuditLogs: %v", err)
		}
		if len(got) != 50 {
			t.Fatalf("ListAuditLogs without a limit returned %d rows, want 50", len(got))
		}
	})
}
