package helpdesk

import "time"

// Department is a queue of conversations and a group of agents (Suporte,
// Vendas, Financeiro …). AutoAssign hands queued conversations to the least
// busy online agent of the department.
type Department struct {
	ID          string
	Name        string
	Description string
	Active      bool
	AutoAssign  bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// DefaultDepartments are created on the first start of an empty database.
var DefaultDepartments = []string{"Suporte", "Vendas", "Financeiro"}
