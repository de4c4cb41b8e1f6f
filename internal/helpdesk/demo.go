package helpdesk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// DemoPassword is the password of the demo accounts SeedDemo creates.
const DemoPassword = "Demo@1234"

// DemoUsers are the accounts SeedDemo creates: one supervisor and one agent
// per default department.
var DemoUsers = []struct {
	Name, Email string
	Role        Role
	Department  string // "" for every department
}{
	{"Sofia Supervisora", "supervisor@suporte.com", RoleSupervisor, ""},
	{"Ana Atendente", "ana@suporte.com", RoleAgent, "Suporte"},
	{"Bruno Vendas", "bruno@suporte.com", RoleAgent, "Vendas"},
	{"Carla Financeiro", "carla@suporte.com", RoleAgent, "Financeiro"},
}

// SeedDemo adds the demo supervisor and agents (password DemoPassword) to a
// bootstrapped database. Accounts that already exist are left alone, so it
// can run more than once. It returns the e-mails it created.
func (s *Service) SeedDemo(ctx context.Context) ([]string, error) {
	depts, err := s.store.ListDepartments(ctx)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	hash, err := s.passwords.Hash(DemoPassword)
	if err != nil {
		return nil, err
	}
	var created []string
	for _, du := range DemoUsers {
		_, err := s.store.GetUserByEmail(ctx, du.Email)
		if err == nil {
			continue
		}
		if !errors.Is(err, ErrNotFound) {
			return created, fmt.Errorf("seed: %w", err)
		}
		ids := []string{}
		for _, d := range depts {
			if du.Department == "" || strings.EqualFold(d.Name, du.Department) {
				ids = append(ids, d.ID)
			}
		}
		slices.Sort(ids)
		now := s.now()
		u := User{
			ID: NewID(), Name: du.Name, Email: du.Email, PasswordHash: hash, Role: du.Role, Active: true,
			MaxConversations: DefaultMaxConversations, DepartmentIDs: ids, CreatedAt: now, UpdatedAt: now,
		}
		if err := s.store.CreateUser(ctx, u); err != nil {
			return created, fmt.Errorf("seed %s: %w", du.Email, err)
		}
		created = append(created, du.Email)
	}
	return created, nil
}
