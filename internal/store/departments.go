package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

const departmentColumns = "id, name, description, active, auto_assign, created_at, updated_at"

func scanDepartment(row scanner) (helpdesk.Department, error) {
	var dep helpdesk.Department
	err := row.Scan(&dep.ID, &dep.Name, &dep.Description, &dep.Active, &dep.AutoAssign,
		scanTime(&dep.CreatedAt), scanTime(&dep.UpdatedAt))
	return dep, err
}

// CreateDepartment inserts dep as given. ErrConflict when another department
// has the same name ignoring case, or the id exists.
func (d *DB) CreateDepartment(ctx context.Context, dep helpdesk.Department) error {
	_, err := d.q.ExecContext(ctx, "INSERT INTO departments ("+departmentColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7)",
		dep.ID, dep.Name, dep.Description, dep.Active, dep.AutoAssign, dbTime(dep.CreatedAt), dbTime(dep.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create department %q: %w", dep.Name, d.translate(err))
	}
	return nil
}

// GetDepartment returns the department with the given id; ErrNotFound when
// there is none.
func (d *DB) GetDepartment(ctx context.Context, id string) (helpdesk.Department, error) {
	dep, err := scanDepartment(d.q.QueryRowContext(ctx, "SELECT "+departmentColumns+" FROM departments WHERE id = $1", id))
	if err != nil {
		return helpdesk.Department{}, fmt.Errorf("get department %s: %w", id, d.translate(err))
	}
	return dep, nil
}

// ListDepartments returns every department, active or not, ordered by name
// ignoring case (ties by name, then id).
func (d *DB) ListDepartments(ctx context.Context) ([]helpdesk.Department, error) {
	rows, err := d.q.QueryContext(ctx, "SELECT "+departmentColumns+" FROM departments")
	if err != nil {
		return nil, fmt.Errorf("list departments: %w", d.translate(err))
	}
	defer rows.Close()
	deps := []helpdesk.Department{}
	for rows.Next() {
		dep, err := scanDepartment(rows)
		if err != nil {
			return nil, fmt.Errorf("list departments: %w", err)
		}
		deps = append(deps, dep)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list departments: %w", d.translate(err))
	}
	// Sorted here rather than by ORDER BY, whose result depends on the
	// PostgreSQL collation and differs from SQLite's byte order; a handful of
	// departments costs nothing to sort.
	slices.SortFunc(deps, func(a, b helpdesk.Department) int {
		return cmp.Or(
			strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)),
			strings.Compare(a.Name, b.Name),
			strings.Compare(a.ID, b.ID))
	})
	return deps, nil
}

// UpdateDepartment applies the non-nil fields of upd, sets updated_at to now
// and returns the department as stored afterwards. ErrNotFound when it does
// not exist; ErrConflict when the new name is taken (ignoring case).
func (d *DB) UpdateDepartment(ctx context.Context, id string, upd helpdesk.DepartmentUpdate, now time.Time) (helpdesk.Department, error) {
	var (
		p   params
		set []string
	)
	if upd.Name != nil {
		set = append(set, "name = "+p.add(*upd.Name))
	}
	if upd.Description != nil {
		set = append(set, "description = "+p.add(*upd.Description))
	}
	if upd.Active != nil {
		set = append(set, "active = "+p.add(*upd.Active))
	}
	if upd.AutoAssign != nil {
		set = append(set, "auto_assign = "+p.add(*upd.AutoAssign))
	}
	set = append(set, "updated_at = "+p.add(dbTime(now)))
	query := "UPDATE departments SET " + strings.Join(set, ", ") + " WHERE id = " + p.add(id) +
		" RETURNING " + departmentColumns // SQLite has RETURNING since 3.35

	dep, err := scanDepartment(d.q.QueryRowContext(ctx, query, p...))
	if err != nil {
		return helpdesk.Department{}, fmt.Errorf("update department %s: %w", id, d.translate(err))
	}
	return dep, nil
}

// DeleteDepartment removes a department; its agent links go with it.
// ErrNotFound when it does not exist; ErrConflict, with nothing deleted, while
// conversations or transfer records refer to it.
func (d *DB) DeleteDepartment(ctx context.Context, id string) error {
	err := d.inTx(ctx, func(tx *DB) error {
		// Checked rather than left to the foreign keys so the answer does not
		// depend on how each engine words a violation.
		var inUse bool
		err := tx.q.QueryRowContext(ctx, `SELECT
			EXISTS (SELECT 1 FROM conversations WHERE department_id = $1) OR
			EXISTS (SELECT 1 FROM conversation_transfers WHERE from_department_id = $1 OR to_department_id = $1)`,
			id).Scan(&inUse)
		if err != nil {
			return tx.translate(err)
		}
		if inUse {
			return fmt.Errorf("%w: conversations refer to it", helpdesk.ErrConflict)
		}

		res, err := tx.q.ExecContext(ctx, "DELETE FROM departments WHERE id = $1", id)
		if err != nil {
			err = tx.translate(err)
			// A DELETE only breaks a foreign key when a row still refers to the
			// department: one added since the check above, on PostgreSQL.
			if errors.Is(err, helpdesk.ErrNotFound) {
				return fmt.Errorf("%w: %w", helpdesk.ErrConflict, err)
			}
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return helpdesk.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete department %s: %w", id, err)
	}
	return nil
}

// MissingDepartments returns, in the order given and without repeats, the
// ids among ids that name no department; nil when all exist.
func (d *DB) MissingDepartments(ctx context.Context, ids []string) ([]string, error) {
	wanted := uniqueSorted(ids)
	if len(wanted) == 0 {
		return nil, nil
	}
	var p params
	rows, err := d.q.QueryContext(ctx, "SELECT id FROM departments WHERE id "+p.anyOf(d.dialect, wanted), p...)
	if err != nil {
		return nil, fmt.Errorf("find departments: %w", d.translate(err))
	}
	defer rows.Close()
	found := make(map[string]bool, len(wanted))
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("find departments: %w", err)
		}
		found[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find departments: %w", d.translate(err))
	}

	var missing []string
	for _, id := range ids {
		if !found[id] {
			missing = append(missing, id)
			found[id] = true // report each once
		}
	}
	return missing, nil
}
