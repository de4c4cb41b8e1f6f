package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

func testUsers(t *testing.T, open Opener) {
	t.Run("CreateAndGet", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		a := mustCreateDepartment(t, s, newDepartment("Suporte"))
		b := mustCreateDepartment(t, s, newDepartment("Vendas"))

		login := helpdesk.Now().Add(-time.Hour)
		u := newUser("ana@example.com", b.ID, a.ID, b.ID) // unsorted, with a repeat
		u.Role, u.MustChangePassword, u.MaxConversations, u.LastLoginAt = helpdesk.RoleSupervisor, true, 9, &login
		mustCreateUser(t, s, u)

		want := u
		want.DepartmentIDs = []string{a.ID, b.ID}
		got, err := s.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatalf("GetUser: %v", err)
		}
		requireUser(t, got, want)

		got, err = s.GetUserByEmail(ctx, "ana@example.com")
		if err != nil {
			t.Fatalf("GetUserByEmail: %v", err)
		}
		requireUser(t, got, want)
	})

	t.Run("CreateWithoutDepartments", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		u := mustCreateUser(t, s, newUser("ana@example.com"))
		got, err := s.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatalf("GetUser: %v", err)
		}
		if got.DepartmentIDs == nil || len(got.DepartmentIDs) != 0 {
			t.Errorf("DepartmentIDs = %#v, want an empty, non-nil slice", got.DepartmentIDs)
		}
		if got.LastLoginAt != nil {
			t.Errorf("LastLoginAt = %v, want nil", got.LastLoginAt)
		}
	})

	t.Run("GetMissing", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		_, err := s.GetUser(ctx, helpdesk.NewID())
		requireErr(t, err, helpdesk.ErrNotFound)
		_, err = s.GetUserByEmail(ctx, "nobody@example.com")
		requireErr(t, err, helpdesk.ErrNotFound)
	})

	t.Run("DuplicateEmail", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		mustCreateUser(t, s, newUser("ana@example.com"))
		requireErr(t, s.CreateUser(ctx, newUser("ana@example.com")), helpdesk.ErrConflict)
		requireCount(t, s, 1)
	})

	t.Run("DuplicateID", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		u := mustCreateUser(t, s, newUser("ana@example.com"))
		other := newUser("bia@example.com")
		other.ID = u.ID
		requireErr(t, s.CreateUser(ctx, other), helpdesk.ErrConflict)
	})

	t.Run("UnknownDepartment", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		a := mustCreateDepartment(t, s, newDepartment("Suporte"))
		u := newUser("ana@example.com", a.ID, helpdesk.NewID())
		requireErr(t, s.CreateUser(ctx, u), helpdesk.ErrNotFound)

		// Nothing written: neither the user nor its first link.
		_, err := s.GetUser(ctx, u.ID)
		requireErr(t, err, helpdesk.ErrNotFound)
		requireCount(t, s, 0)
		users, err := s.ListUsers(ctx, helpdesk.UserFilter{DepartmentID: a.ID})
		if err != nil || len(users) != 0 {
			t.Fatalf("ListUsers(department) = %v, %v; want none", users, err)
		}
	})

	t.Run("CountUsers", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		requireCount(t, s, 0)
		mustCreateUser(t, s, newUser("ana@example.com"))
		inactive := newUser("bia@example.com")
		inactive.Active = false
		mustCreateUser(t, s, inactive)
		requireCount(t, s, 2)
	})

	t.Run("ListUsers", func(t *testing.T) { t.Parallel(); testListUsers(t, open) })
	t.Run("ListUsersDefaultLimit", func(t *testing.T) { t.Parallel(); testListUsersDefaultLimit(t, open) })
	t.Run("UpdateUser", func(t *testing.T) { t.Parallel(); testUpdateUser(t, open) })
}

func requireCount(t *testing.T, s helpdesk.Store, want int) {
	t.Helper()
	n, err := s.CountUsers(t.Context())
	if err != nil {
		t.Fatalf("CountUsers: %v", err)
	}
	if n != want {
		t.Fatalf("CountUsers = %d, want %d", n, want)
	}
}

func testListUsers(t *testing.T, open Opener) {
	s, ctx := open(t), t.Context()
	a := mustCreateDepartment(t, s, newDepartment("Suporte"))
	b := mustCreateDepartment(t, s, newDepartment("Vendas"))

	alice := newUser("alice@example.com", a.ID)
	alice.Name, alice.Role = "Alice Admin", helpdesk.RoleAdmin
	bob := newUser("bob_agent@example.com", b.ID, a.ID)
	bob.Name = "Bob 100% Agent"
	carol := newUser("carol@example.com", b.ID)
	carol.Name, carol.Active = "Carol", false
	dave := newUser("dave@example.org")
	dave.Name, dave.Role = "Dave", helpdesk.RoleSupervisor
	for _, u := range []helpdesk.User{alice, bob, carol, dave} {
		mustCreateUser(t, s, u)
	}
	byID := func(us ...helpdesk.User) []helpdesk.User {
		return slices.SortedFunc(slices.Values(us), func(x, y helpdesk.User) int { return strings.Compare(x.ID, y.ID) })
	}
	yes, no := true, false

	for _, tc := range []struct {
		name   string
		filter helpdesk.UserFilter
		want   []helpdesk.User
	}{
		{"All", helpdesk.UserFilter{}, byID(alice, bob, carol, dave)},
		{"Role", helpdesk.UserFilter{Role: helpdesk.RoleAgent}, byID(bob, carol)},
		{"Department", helpdesk.UserFilter{DepartmentID: a.ID}, byID(alice, bob)},
		{"UnknownDepartment", helpdesk.UserFilter{DepartmentID: helpdesk.NewID()}, nil},
		{"Active", helpdesk.UserFilter{Active: &yes}, byID(alice, bob, dave)},
		{"Inactive", helpdesk.UserFilter{Active: &no}, byID(carol)},
		{"QueryNameIgnoresCase", helpdesk.UserFilter{Query: "ALICE"}, byID(alice)},
		{"QueryEmailIgnoresCase", helpdesk.UserFilter{Query: "EXAMPLE.ORG"}, byID(dave)},
		{"QueryFragment", helpdesk.UserFilter{Query: "aro"}, byID(carol)},
		{"QueryPercentIsLiteral", helpdesk.UserFilter{Query: "100%"}, byID(bob)},
		{"QueryUnderscoreIsLiteral", helpdesk.UserFilter{Query: "_"}, byID(bob)},
		{"QueryNoMatch", helpdesk.UserFilter{Query: "zzz"}, nil},
		{"Combined", helpdesk.UserFilter{Role: helpdesk.RoleAgent, Active: &yes, DepartmentID: a.ID}, byID(bob)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListUsers(ctx, tc.filter)
			if err != nil {
				t.Fatalf("ListUsers: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("ListUsers = %v, want %v", userIDs(got), userIDs(tc.want))
			}
			for i := range got {
				requireUser(t, got[i], tc.want[i]) // department ids are loaded too
			}
		})
	}

	t.Run("Pages", func(t *testing.T) {
		all := byID(alice, bob, carol, dave)
		var seen []string
		after := ""
		for range 3 {
			page, err := s.ListUsers(ctx, helpdesk.UserFilter{Limit: 2, After: after})
			if err != nil {
				t.Fatalf("ListUsers: %v", err)
			}
			if len(page) == 0 {
				break
			}
			seen = append(seen, userIDs(page)...)
			after = page[len(page)-1].ID
		}
		if !slices.Equal(seen, userIDs(all)) {
			t.Fatalf("pages = %v, want %v", seen, userIDs(all))
		}
	})
}

func testUpdateUser(t *testing.T, open Opener) {
	t.Run("AllFields", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		a := mustCreateDepartment(t, s, newDepartment("Suporte"))
		b := mustCreateDepartment(t, s, newDepartment("Vendas"))
		u := mustCreateUser(t, s, newUser("ana@example.com", a.ID))

		now := helpdesk.Now().Add(time.Minute)
		login := now.Add(-time.Second)
		name, email, hash, role := "Ana Maria", "ana.maria@example.com", "$2a$10$other", helpdesk.RoleAdmin
		active, mustChange, maxConv, depts := false, true, 12, []string{b.ID}
		got, err := s.UpdateUser(ctx, u.ID, helpdesk.UserUpdate{
			Name: &name, Email: &email, PasswordHash: &hash, Role: &role, Active: &active,
			MustChangePassword: &mustChange, MaxConversations: &maxConv, DepartmentIDs: &depts, LastLoginAt: &login,
		}, now)
		if err != nil {
			t.Fatalf("UpdateUser: %v", err)
		}
		want := helpdesk.User{
			ID: u.ID, Name: name, Email: email, PasswordHash: hash, Role: role, Active: active,
			MustChangePassword: mustChange, MaxConversations: maxConv, DepartmentIDs: depts,
			LastLoginAt: &login, CreatedAt: u.CreatedAt, UpdatedAt: now,
		}
		requireUser(t, got, want)
		stored, err := s.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatalf("GetUser: %v", err)
		}
		requireUser(t, stored, want)
	})

	t.Run("NoFieldsTouchesUpdatedAt", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		a := mustCreateDepartment(t, s, newDepartment("Suporte"))
		u := mustCreateUser(t, s, newUser("ana@example.com", a.ID))
		now := helpdesk.Now().Add(time.Minute)
		got, err := s.UpdateUser(ctx, u.ID, helpdesk.UserUpdate{}, now)
		if err != nil {
			t.Fatalf("UpdateUser: %v", err)
		}
		want := u
		want.UpdatedAt = now
		requireUser(t, got, want) // nil DepartmentIDs keeps the links
	})

	t.Run("ReplaceDepartments", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		a := mustCreateDepartment(t, s, newDepartment("Suporte"))
		b := mustCreateDepartment(t, s, newDepartment("Vendas"))
		c := mustCreateDepartment(t, s, newDepartment("Financeiro"))
		u := mustCreateUser(t, s, newUser("ana@example.com", a.ID, b.ID))

		for _, set := range [][]string{{c.ID, b.ID}, {}, {a.ID}} {
			got, err := s.UpdateUser(ctx, u.ID, helpdesk.UserUpdate{DepartmentIDs: &set}, helpdesk.Now())
			if err != nil {
				t.Fatalf("UpdateUser(%v): %v", set, err)
			}
			if want := slices.Sorted(slices.Values(set)); !slices.Equal(got.DepartmentIDs, want) {
				t.Fatalf("DepartmentIDs = %v, want %v", got.DepartmentIDs, want)
			}
		}
	})

	t.Run("Missing", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		name := "Ana"
		_, err := s.UpdateUser(ctx, helpdesk.NewID(), helpdesk.UserUpdate{Name: &name}, helpdesk.Now())
		requireErr(t, err, helpdesk.ErrNotFound)
	})

	t.Run("UnknownDepartmentWritesNothing", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		a := mustCreateDepartment(t, s, newDepartment("Suporte"))
		u := mustCreateUser(t, s, newUser("ana@example.com", a.ID))
		name, depts := "Renamed", []string{helpdesk.NewID()}
		_, err := s.UpdateUser(ctx, u.ID, helpdesk.UserUpdate{Name: &name, DepartmentIDs: &depts}, helpdesk.Now())
		requireErr(t, err, helpdesk.ErrNotFound)
		requireUnchanged(t, s, u)
	})

	t.Run("DuplicateEmail", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		mustCreateUser(t, s, newUser("ana@example.com"))
		u := mustCreateUser(t, s, newUser("bia@example.com"))
		email := "ana@example.com"
		_, err := s.UpdateUser(ctx, u.ID, helpdesk.UserUpdate{Email: &email}, helpdesk.Now())
		requireErr(t, err, helpdesk.ErrConflict)
		requireUnchanged(t, s, u)
	})
}

func requireUnchanged(t *testing.T, s helpdesk.Store, want helpdesk.User) {
	t.Helper()
	got, err := s.GetUser(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	requireUser(t, got, want)
}

// Default page size: a filter without a limit returns 50.
func testListUsersDefaultLimit(t *testing.T, open Opener) {
	s, ctx := open(t), t.Context()
	for i := range 51 {
		mustCreateUser(t, s, newUser(fmt.Sprintf("user%02d@example.com", i)))
	}
	users, err := s.ListUsers(ctx, helpdesk.UserFilter{})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if len(users) != 50 {
		t.Fatalf("ListUsers without a limit returned %d users, want 50", len(users))
	}
}
