package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

const userColumns = "id, name, email, password_hash, role, active, must_change_password, max_conversations, " +
	"last_login_at, created_at, updated_at"

func scanUser(row scanner) (helpdesk.User, error) {
	var u helpdesk.User
	err := row.Scan(&u.ID, &u.Name, &u.Email, &u.PasswordHash, (*string)(&u.Role), &u.Active,
		&u.MustChangePassword, &u.MaxConversations, scanNullTime(&u.LastLoginAt),
		scanTime(&u.CreatedAt), scanTime(&u.UpdatedAt))
	return u, err
}

// CreateUser inserts u as given (the service normalises the e-mail and fills
// the defaults) with its department links, in one transaction.
// ErrConflict when the e-mail is taken or the id exists; ErrNotFound, with
// nothing written, when a department id does not exist.
func (d *DB) CreateUser(ctx context.Context, u helpdesk.User) error {
	err := d.inTx(ctx, func(tx *DB) error {
		_, err := tx.q.ExecContext(ctx, "INSERT INTO users ("+userColumns+") "+
			"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
			u.ID, u.Name, u.Email, u.PasswordHash, string(u.Role), u.Active, u.MustChangePassword,
			u.MaxConversations, dbNullTime(u.LastLoginAt), dbTime(u.CreatedAt), dbTime(u.UpdatedAt))
		if err != nil {
			return tx.translate(err)
		}
		return tx.linkDepartments(ctx, u.ID, u.DepartmentIDs, u.CreatedAt)
	})
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.ID, err)
	}
	return nil
}

// linkDepartments adds links from user to each department of ids.
// ErrNotFound when a department does not exist.
func (d *DB) linkDepartments(ctx context.Context, userID string, departmentIDs []string, now time.Time) error {
	for _, id := range uniqueSorted(departmentIDs) {
		_, err := d.q.ExecContext(ctx,
			"INSERT INTO user_departments (user_id, department_id, created_at) VALUES ($1, $2, $3)",
			userID, id, dbTime(now))
		if err != nil {
			return fmt.Errorf("link department %s: %w", id, d.translate(err))
		}
	}
	return nil
}

// GetUser returns the user with the given id and its department ids.
// ErrNotFound when there is none.
func (d *DB) GetUser(ctx context.Context, id string) (helpdesk.User, error) {
	u, err := d.getUser(ctx, "id", id)
	if err != nil {
		return helpdesk.User{}, fmt.Errorf("get user %s: %w", id, err)
	}
	return u, nil
}

// GetUserByEmail returns the user whose e-mail is exactly email (stored
// normalised by the service). ErrNotFound when there is none.
func (d *DB) GetUserByEmail(ctx context.Context, email string) (helpdesk.User, error) {
	u, err := d.getUser(ctx, "email", email)
	if err != nil {
		return helpdesk.User{}, fmt.Errorf("get user by email: %w", err)
	}
	return u, nil
}

// getUser reads one user by a unique column, a constant of the caller's.
func (d *DB) getUser(ctx context.Context, column, value string) (helpdesk.User, error) {
	u, err := scanUser(d.q.QueryRowContext(ctx,
		"SELECT "+userColumns+" FROM users WHERE "+column+" = $1", value))
	if err != nil {
		return helpdesk.User{}, d.translate(err)
	}
	depts, err := d.departmentsOf(ctx, []string{u.ID})
	if err != nil {
		return helpdesk.User{}, err
	}
	u.DepartmentIDs = depts[u.ID]
	return u, nil
}

// departmentsOf returns the department ids of each of userIDs, sorted; every
// user of userIDs has an entry, empty when it has no department.
func (d *DB) departmentsOf(ctx context.Context, userIDs []string) (map[string][]string, error) {
	out := make(map[string][]string, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	for _, id := range userIDs {
		out[id] = []string{}
	}
	var p params
	rows, err := d.q.QueryContext(ctx, "SELECT user_id, department_id FROM user_departments WHERE user_id "+
		p.anyOf(d.dialect, userIDs), p...)
	if err != nil {
		return nil, fmt.Errorf("list user departments: %w", d.translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		var userID, deptID string
		if err := rows.Scan(&userID, &deptID); err != nil {
			return nil, fmt.Errorf("list user departments: %w", err)
		}
		out[userID] = append(out[userID], deptID)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list user departments: %w", d.translate(err))
	}
	for _, ids := range out {
		slices.Sort(ids) // in Go: byte order whatever the engine's collation
	}
	return out, nil
}

// ListUsers returns a page of users ordered by id, each with its department
// ids. Zero filter fields do not filter; Query matches a case-insensitive
// fragment of the name or e-mail, wildcards taken literally; After is the id
// of the last user of the previous page. Limit 0 means 50, more than 100
// means 100. An empty page is an empty slice, not an error.
func (d *DB) ListUsers(ctx context.Context, f helpdesk.UserFilter) ([]helpdesk.User, error) {
	var (
		p     params
		where []string
	)
	if f.Role != "" {
		where = append(where, "role = "+p.add(string(f.Role)))
	}
	if f.DepartmentID != "" {
		where = append(where, "EXISTS (SELECT 1 FROM user_departments ud WHERE ud.user_id = users.id AND ud.department_id = "+
			p.add(f.DepartmentID)+")")
	}
	if f.Active != nil {
		where = append(where, "active = "+p.add(*f.Active))
	}
	if f.Query != "" {
		// lower() on both sides: SQLite's folds only ASCII, and must fold the
		// pattern exactly as it folds the column.
		q := p.add(likeContains(f.Query))
		where = append(where, `(LOWER(name) LIKE LOWER(`+q+`) ESCAPE '\' OR LOWER(email) LIKE LOWER(`+q+`) ESCAPE '\')`)
	}
	if f.After != "" {
		where = append(where, "id > "+p.add(f.After))
	}
	query := "SELECT " + userColumns + " FROM users"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id LIMIT " + p.add(pageLimit(f.Limit))

	users, err := d.queryUsers(ctx, query, p...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

func (d *DB) queryUsers(ctx context.Context, query string, args ...any) ([]helpdesk.User, error) {
	rows, err := d.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, d.translate(err)
	}
	defer rows.Close()
	users := []helpdesk.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, d.translate(err)
	}
	rows.Close() // before the next query: a transaction's connection runs one at a time

	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	depts, err := d.departmentsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range users {
		users[i].DepartmentIDs = depts[users[i].ID]
	}
	return users, nil
}

// UpdateUser applies the non-nil fields of upd, sets updated_at to now and
// returns the user as stored afterwards. DepartmentIDs replaces the whole set
// of links in the same transaction. ErrNotFound for an unknown user or
// department, ErrConflict when the new e-mail is taken; nothing is written
// then.
func (d *DB) UpdateUser(ctx context.Context, id string, upd helpdesk.UserUpdate, now time.Time) (helpdesk.User, error) {
	var u helpdesk.User
	err := d.inTx(ctx, func(tx *DB) error {
		var (
			p   params
			set []string
		)
		if upd.Name != nil {
			set = append(set, "name = "+p.add(*upd.Name))
		}
		if upd.Email != nil {
			set = append(set, "email = "+p.add(*upd.Email))
		}
		if upd.PasswordHash != nil {
			set = append(set, "password_hash = "+p.add(*upd.PasswordHash))
		}
		if upd.Role != nil {
			set = append(set, "role = "+p.add(string(*upd.Role)))
		}
		if upd.Active != nil {
			set = append(set, "active = "+p.add(*upd.Active))
		}
		if upd.MustChangePassword != nil {
			set = append(set, "must_change_password = "+p.add(*upd.MustChangePassword))
		}
		if upd.MaxConversations != nil {
			set = append(set, "max_conversations = "+p.add(*upd.MaxConversations))
		}
		if upd.LastLoginAt != nil {
			set = append(set, "last_login_at = "+p.add(dbTime(*upd.LastLoginAt)))
		}
		set = append(set, "updated_at = "+p.add(dbTime(now)))

		res, err := tx.q.ExecContext(ctx, "UPDATE users SET "+strings.Join(set, ", ")+" WHERE id = "+p.add(id), p...)
		if err != nil {
			return tx.translate(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return helpdesk.ErrNotFound
		}

		if upd.DepartmentIDs != nil {
			if _, err := tx.q.ExecContext(ctx, "DELETE FROM user_departments WHERE user_id = $1", id); err != nil {
				return tx.translate(err)
			}
			if err := tx.linkDepartments(ctx, id, *upd.DepartmentIDs, now); err != nil {
				return err
			}
		}
		u, err = tx.getUser(ctx, "id", id)
		return err
	})
	if err != nil {
		return helpdesk.User{}, fmt.Errorf("update user %s: %w", id, err)
	}
	return u, nil
}

// CountUsers returns the number of users, active or not; zero means a fresh
// installation.
func (d *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := d.q.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", d.translate(err))
	}
	return n, nil
}

// LockActiveAdmins implements helpdesk.Store. FOR UPDATE makes a concurrent
// caller wait for this transaction and then re-check active, so it sees a
// deactivation committed meanwhile.
func (d *DB) LockActiveAdmins(ctx context.Context) ([]string, error) {
	q := "SELECT id FROM users WHERE role = 'admin' AND active = TRUE ORDER BY id"
	if d.dialect == DialectPostgres {
		q += " FOR UPDATE"
	}
	rows, err := d.q.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("lock admins: %w", d.translate(err))
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("lock admins: %w", d.translate(err))
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lock admins: %w", d.translate(err))
	}
	return ids, nil
}
