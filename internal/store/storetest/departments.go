package storetest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

func testDepartments(t *testing.T, open Opener) {
	t.Run("CreateAndGet", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		dep := newDepartment("Suporte")
		dep.AutoAssign, dep.Active = true, false
		mustCreateDepartment(t, s, dep)
		got, err := s.GetDepartment(ctx, dep.ID)
		if err != nil {
			t.Fatalf("GetDepartment: %v", err)
		}
		if !reflect.DeepEqual(got, dep) {
			t.Fatalf("GetDepartment = %+v, want %+v", got, dep)
		}
	})

	t.Run("GetMissing", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		requireNotFound(t, s, helpdesk.NewID())
	})

	t.Run("DuplicateNameIgnoresCase", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		mustCreateDepartment(t, s, newDepartment("Suporte"))
		for _, name := range []string{"Suporte", "SUPORTE", "suporte"} {
			requireErr(t, s.CreateDepartment(ctx, newDepartment(name)), helpdesk.ErrConflict)
		}
	})

	t.Run("ListOrderedByName", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		deps, err := s.ListDepartments(ctx)
		if err != nil || len(deps) != 0 {
			t.Fatalf("ListDepartments on an empty store = %v, %v; want none", deps, err)
		}
		for _, name := range []string{"vendas", "Financeiro", "suporte", "Atendimento"} {
			mustCreateDepartment(t, s, newDepartment(name))
		}
		want := []string{"Atendimento", "Financeiro", "suporte", "vendas"} // case ignored
		deps, err = s.ListDepartments(ctx)
		if err != nil {
			t.Fatalf("ListDepartments: %v", err)
		}
		var names []string
		for _, d := range deps {
			names = append(names, d.Name)
		}
		if !slices.Equal(names, want) {
			t.Fatalf("ListDepartments = %v, want %v", names, want)
		}
	})

	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		dep := mustCreateDepartment(t, s, newDepartment("Suporte"))
		now := helpdesk.Now().Add(time.Minute)
		name, desc, active, auto := "Suporte Técnico", "Problemas técnicos", false, true
		got, err := s.UpdateDepartment(ctx, dep.ID, helpdesk.DepartmentUpdate{
			Name: &name, Description: &desc, Active: &active, AutoAssign: &auto,
		}, now)
		if err != nil {
			t.Fatalf("UpdateDepartment: %v", err)
		}
		want := helpdesk.Department{ID: dep.ID, Name: name, Description: desc, Active: active, AutoAssign: auto,
			CreatedAt: dep.CreatedAt, UpdatedAt: now}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("UpdateDepartment = %+v, want %+v", got, want)
		}
		if stored, err := s.GetDepartment(ctx, dep.ID); err != nil || !reflect.DeepEqual(stored, want) {
			t.Fatalf("GetDepartment = %+v, %v; want %+v", stored, err, want)
		}
	})

	t.Run("UpdateOwnNameCase", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		dep := mustCreateDepartment(t, s, newDepartment("suporte"))
		name := "Suporte"
		if _, err := s.UpdateDepartment(ctx, dep.ID, helpdesk.DepartmentUpdate{Name: &name}, helpdesk.Now()); err != nil {
			t.Fatalf("UpdateDepartment: %v", err)
		}
	})

	t.Run("UpdateToTakenName", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		mustCreateDepartment(t, s, newDepartment("Suporte"))
		dep := mustCreateDepartment(t, s, newDepartment("Vendas"))
		name := "SUPORTE"
		_, err := s.UpdateDepartment(ctx, dep.ID, helpdesk.DepartmentUpdate{Name: &name}, helpdesk.Now())
		requireErr(t, err, helpdesk.ErrConflict)
	})

	t.Run("UpdateMissing", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		name := "Vendas"
		_, err := s.UpdateDepartment(ctx, helpdesk.NewID(), helpdesk.DepartmentUpdate{Name: &name}, helpdesk.Now())
		requireErr(t, err, helpdesk.ErrNotFound)
	})

	t.Run("DeleteRemovesAgentLinks", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		a := mustCreateDepartment(t, s, newDepartment("Suporte"))
		b := mustCreateDepartment(t, s, newDepartment("Vendas"))
		u := mustCreateUser(t, s, newUser("ana@example.com", a.ID, b.ID))
		if err := s.DeleteDepartment(ctx, a.ID); err != nil {
			t.Fatalf("DeleteDepartment: %v", err)
		}
		requireNotFound(t, s, a.ID)
		got, err := s.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatalf("GetUser: %v", err)
		}
		if !slices.Equal(got.DepartmentIDs, []string{b.ID}) {
			t.Fatalf("DepartmentIDs = %v, want only %v", got.DepartmentIDs, b.ID)
		}
	})

	t.Run("DeleteMissing", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		requireErr(t, s.DeleteDepartment(ctx, helpdesk.NewID()), helpdesk.ErrNotFound)
	})

	t.Run("DeleteReferencedByConversation", func(t *testing.T) {
		t.Parallel()
		for _, status := range []string{"waiting", "closed"} { // history counts too
			s, ctx := open(t), t.Context()
			dep := mustCreateDepartment(t, s, newDepartment("Suporte"))
			mustInsertConversation(t, rawDB(t, s), dep.ID, status)
			requireErr(t, s.DeleteDepartment(ctx, dep.ID), helpdesk.ErrConflict)
			if _, err := s.GetDepartment(ctx, dep.ID); err != nil {
				t.Fatalf("GetDepartment after a refused delete: %v", err)
			}
		}
	})

	t.Run("MissingDepartments", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		a := mustCreateDepartment(t, s, newDepartment("Suporte"))
		b := mustCreateDepartment(t, s, newDepartment("Vendas"))
		x, y := helpdesk.NewID(), helpdesk.NewID()
		for _, tc := range []struct {
			ids, want []string
		}{
			{nil, nil},
			{[]string{a.ID, b.ID, a.ID}, nil},
			{[]string{y, a.ID, x, y}, []string{y, x}}, // input order, no repeats
		} {
			got, err := s.MissingDepartments(ctx, tc.ids)
			if err != nil {
				t.Fatalf("MissingDepartments(%v): %v", tc.ids, err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("MissingDepartments(%v) = %v, want %v", tc.ids, got, tc.want)
			}
		}
	})
}
