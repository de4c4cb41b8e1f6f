package helpdesk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// PasswordPolicy hashes and checks passwords; package auth provides it, so
// that helpdesk stays free of crypto choices.
type PasswordPolicy interface {
	// Problem returns why pw is unacceptable, or "".
	Problem(pw string) string
	Hash(pw string) (string, error)
}

// Service applies the helpdesk's rules on top of a Store.
type Service struct {
	store     Store
	passwords PasswordPolicy
	jobs      Enqueuer
	now       func() time.Time
	log       *slog.Logger
	online    func(userID string) bool // see SetOnline
	notify    Notifier                 // see SetNotifier
}

// NewService returns a Service. now may be nil (the wall clock).
func NewService(store Store, passwords PasswordPolicy, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, passwords: passwords, now: now, log: log}
}

// Actor is who performs an operation, for permission checks and the audit
// log.
type Actor struct {
	User User
	IP   string
}

const (
	maxNameLength        = 120
	maxDescriptionLength = 500
	maxConversationsCap  = 100
)

// Bootstrap prepares an empty database for its first start: the admin
// admin@suporte.com with password adminPassword (flagged to change it at the
// first login) and the default departments. It does nothing when any user
// exists, so it is safe on every start.
func (s *Service) Bootstrap(ctx context.Context, adminPassword string) (created bool, err error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return false, fmt.Errorf("bootstrap: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	hash, err := s.passwords.Hash(adminPassword)
	if err != nil {
		return false, err
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx Store) error {
		existing, err := tx.ListDepartments(ctx)
		if err != nil {
			return err
		}
		for _, name := range DefaultDepartments {
			if slices.ContainsFunc(existing, func(d Department) bool { return strings.EqualFold(d.Name, name) }) {
				continue
			}
			if err := tx.CreateDepartment(ctx, Department{ID: NewID(), Name: name, Active: true, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		return tx.CreateUser(ctx, User{
			ID: NewID(), Name: "Administrador", Email: BootstrapAdminEmail, PasswordHash: hash,
			Role: RoleAdmin, Active: true, MustChangePassword: true,
			MaxConversations: DefaultMaxConversations, CreatedAt: now, UpdatedAt: now,
		})
	})
	if err != nil {
		return false, fmt.Errorf("bootstrap: %w", err)
	}
	return true, nil
}

// BootstrapAdminEmail is the e-mail of the admin created on first start.
const BootstrapAdminEmail = "admin@suporte.com"

// CreateUserParams are the fields of a new user.
type CreateUserParams struct {
	Name             string
	Email            string
	Password         string
	Role             Role
	DepartmentIDs    []string
	MaxConversations *int
	// MustChangePassword forces a password change at the first login;
	// accounts created by an admin get it so the admin never knows the
	// password the user ends up with.
	MustChangePassword bool
}

// CreateUser adds a user. Only admins may. Errors: forbidden,
// validation_failed (with fields), email_taken.
func (s *Service) CreateUser(ctx context.Context, actor Actor, p CreateUserParams) (User, error) {
	if actor.User.Role != RoleAdmin {
		return User{}, errForbidden()
	}
	p.Email = NormalizeEmail(p.Email)
	p.Name = strings.TrimSpace(p.Name)
	fields := map[string]string{}
	setIf(fields, "name", ValidateName(p.Name, maxNameLength))
	setIf(fields, "email", ValidateEmail(p.Email))
	setIf(fields, "password", s.passwords.Problem(p.Password))
	if !p.Role.Valid() {
		fields["role"] = "must be admin, supervisor or agent"
	}
	maxConv := DefaultMaxConversations
	if p.MaxConversations != nil {
		maxConv = *p.MaxConversations
		setIf(fields, "maxConversations", validateMaxConversations(maxConv))
	}
	deptIDs, msg := s.checkDepartments(ctx, p.DepartmentIDs)
	setIf(fields, "departmentIds", msg)
	if len(fields) > 0 {
		return User{}, ValidationError(fields)
	}
	hash, err := s.passwords.Hash(p.Password)
	if err != nil {
		return User{}, err
	}
	now := s.now()
	u := User{
		ID: NewID(), Name: p.Name, Email: p.Email, PasswordHash: hash, Role: p.Role, Active: true,
		MustChangePassword: p.MustChangePassword, MaxConversations: maxConv, DepartmentIDs: deptIDs,
		CreatedAt: now, UpdatedAt: now,
	}
	err = s.store.InTx(ctx, func(tx Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.InsertAuditLog(ctx, s.audit(actor, AuditUserCreate, "user", u.ID, map[string]any{
			"email": u.Email, "role": u.Role, "departmentIds": u.DepartmentIDs,
		}))
	})
	var apiErr *Error
	switch {
	case errors.As(err, &apiErr):
		return User{}, apiErr
	case errors.Is(err, ErrConflict):
		return User{}, &Error{Code: CodeEmailTaken, Message: "a user with this e-mail already exists", Fields: map[string]string{"email": "is already in use"}}
	case errors.Is(err, ErrNotFound):
		return User{}, ValidationError(map[string]string{"departmentIds": "contains an unknown department"})
	case err != nil:
		return User{}, fmt.Errorf("create user: %w", err)
	}
	return s.store.GetUser(ctx, u.ID)
}

// UpdateUserParams are the changes PATCH /users/:id may carry; nil fields
// stay as they are.
type UpdateUserParams struct {
	Name             *string
	Email            *string
	Password         *string
	Role             *Role
	Active           *bool
	MaxConversations *int
	DepartmentIDs    *[]string
}

// UpdateUser changes a user. Admins may change anything of anyone; every
// other user may change only their own name and e-mail (passwords go
// through the change-password flow, which checks the current one). An admin
// cannot demote or deactivate the last active admin.
func (s *Service) UpdateUser(ctx context.Context, actor Actor, id string, p UpdateUserParams) (User, error) {
	target, err := s.GetUser(ctx, id)
	if err != nil {
		return User{}, err
	}
	isAdmin := actor.User.Role == RoleAdmin
	if !isAdmin {
		if actor.User.ID != id {
			return User{}, errForbidden()
		}
		if p.Password != nil || p.Role != nil || p.Active != nil || p.MaxConversations != nil || p.DepartmentIDs != nil {
			return User{}, &Error{Code: CodeForbidden, Message: "only an admin may change role, status, capacity, departments or another user's password"}
		}
	}

	upd := UserUpdate{}
	fields := map[string]string{}
	if p.Name != nil {
		name := strings.TrimSpace(*p.Name)
		setIf(fields, "name", ValidateName(name, maxNameLength))
		upd.Name = &name
	}
	if p.Email != nil {
		email := NormalizeEmail(*p.Email)
		setIf(fields, "email", ValidateEmail(email))
		upd.Email = &email
	}
	if p.Password != nil {
		if msg := s.passwords.Problem(*p.Password); msg != "" {
			fields["password"] = msg
		} else {
			hash, err := s.passwords.Hash(*p.Password)
			if err != nil {
				return User{}, err
			}
			mustChange := true // an admin-set password is known to the admin
			upd.PasswordHash, upd.MustChangePassword = &hash, &mustChange
		}
	}
	if p.Role != nil {
		if !p.Role.Valid() {
			fields["role"] = "must be admin, supervisor or agent"
		}
		upd.Role = p.Role
	}
	upd.Active = p.Active
	if p.MaxConversations != nil {
		setIf(fields, "maxConversations", validateMaxConversations(*p.MaxConversations))
		upd.MaxConversations = p.MaxConversations
	}
	if p.DepartmentIDs != nil {
		ids, msg := s.checkDepartments(ctx, *p.DepartmentIDs)
		setIf(fields, "departmentIds", msg)
		upd.DepartmentIDs = &ids
	}
	if len(fields) > 0 {
		return User{}, ValidationError(fields)
	}
	if p.Active != nil && !*p.Active && id == actor.User.ID {
		return User{}, errSelfDeactivation()
	}
	if changedUserFields(p) == nil {
		return target, nil // nothing to change: no write, no audit row
	}
	losesAdmin := target.Role == RoleAdmin &&
		((p.Role != nil && *p.Role != RoleAdmin) || (p.Active != nil && !*p.Active))

	now := s.now()
	var out User
	err = s.store.InTx(ctx, func(tx Store) error {
		if losesAdmin {
			if err := ensureAnotherAdmin(ctx, tx, target.ID); err != nil {
				return err
			}
		}
		var err error
		if out, err = tx.UpdateUser(ctx, id, upd, now); err != nil {
			return err
		}
		if (p.Active != nil && !*p.Active) || p.Password != nil {
			if err := tx.RevokeUserRefreshTokens(ctx, id, now); err != nil {
				return err
			}
		}
		return tx.InsertAuditLog(ctx, s.audit(actor, AuditUserUpdate, "user", id, map[string]any{"changed": changedUserFields(p)}))
	})
	var apiErr *Error
	switch {
	case errors.As(err, &apiErr):
		return User{}, apiErr
	case errors.Is(err, ErrConflict):
		return User{}, &Error{Code: CodeEmailTaken, Message: "a user with this e-mail already exists", Fields: map[string]string{"email": "is already in use"}}
	case errors.Is(err, ErrNotFound):
		return User{}, errNotFound("user")
	case err != nil:
		return User{}, fmt.Errorf("update user: %w", err)
	}
	return out, nil
}

// DeactivateUser switches a user off: they can no longer log in, their
// access tokens stop working at the next request and their refresh tokens
// die. Only admins may; nobody may deactivate themselves or the last admin.
func (s *Service) DeactivateUser(ctx context.Context, actor Actor, id string) error {
	if actor.User.Role != RoleAdmin {
		return errForbidden()
	}
	target, err := s.GetUser(ctx, id)
	if err != nil {
		return err
	}
	if target.ID == actor.User.ID {
		return errSelfDeactivation()
	}
	if !target.Active {
		return nil
	}
	now := s.now()
	inactive := false
	var requeued []ActionResult
	err = s.store.InTx(ctx, func(tx Store) error {
		requeued = nil
		if target.Role == RoleAdmin {
			if err := ensureAnotherAdmin(ctx, tx, target.ID); err != nil {
				return err
			}
		}
		if _, err := tx.UpdateUser(ctx, id, UserUpdate{Active: &inactive}, now); err != nil {
			return err
		}
		if err := tx.RevokeUserRefreshTokens(ctx, id, now); err != nil {
			return err
		}
		if requeued, err = requeueConversationsOf(ctx, tx, actor, id, now); err != nil {
			return err
		}
		return tx.InsertAuditLog(ctx, s.audit(actor, AuditUserDeactivate, "user", id, map[string]any{"requeuedConversations": len(requeued)}))
	})
	if err != nil {
		return err
	}
	for _, res := range requeued {
		s.notifier().ConversationChanged(ctx, res)
		s.afterQueued(ctx, res.Conversation)
	}
	return nil
}

// requeueConversationsOf puts the open conversations of a user who is
// being deactivated back in a queue, inside tx, each as a transfer with a
// reason: nobody could answer them, and an agent of the queue (or
// automatic assignment) takes them on. The queue is their department's,
// or the general one when that department is switched off.
func requeueConversationsOf(ctx context.Context, tx Store, actor Actor, userID string, now time.Time) ([]ActionResult, error) {
	f := ConversationFilter{AssigneeID: userID, Statuses: []ConversationStatus{StatusOpen}, Limit: 100}
	depts := map[string]bool{} // department id → active
	var out []ActionResult
	// Each round lists the first page afresh: a page requeued no longer
	// matches, so the next listing brings the rest. A cursor would skip
	// conversations whose activity moved them above it meanwhile (on
	// PostgreSQL a customer may write while this runs).
	for {
		page, err := tx.ListConversations(ctx, f)
		if err != nil || len(page) == 0 {
			return out, err
		}
		ids := make([]string, 0, len(page))
		for _, c := range page {
			ids = append(ids, c.ID)
		}
		// Locked in id order, the order a webhook group commit locks the
		// conversations it notes, so the two cannot deadlock on PostgreSQL.
		slices.Sort(ids)
		before := len(out)
		for _, id := range ids {
			c, err := tx.LockConversation(ctx, id)
			if err != nil {
				return nil, err
			}
			if c.Status != StatusOpen || c.AssigneeID != userID {
				continue // changed since listed; it no longer matches either
			}
			to := c.DepartmentID
			if to != "" {
				active, known := depts[to]
				if !known {
					d, err := tx.GetDepartment(ctx, to)
					if err != nil && !errors.Is(err, ErrNotFound) {
						return nil, err
					}
					active = err == nil && d.Active
					depts[to] = active
				}
				if !active {
					to = ""
				}
			}
			st := stateOf(c)
			st.Status, st.AssigneeID, st.DepartmentID, st.WaitingSince = StatusWaiting, "", to, &now
			const reason = "the agent's account was deactivated"
			if err := tx.InsertTransfer(ctx, Transfer{ID: NewID(), ConversationID: c.ID, FromUserID: userID,
				FromDepartmentID: c.DepartmentID, ToDepartmentID: to, Reason: reason, TransferredBy: actor.User.ID, CreatedAt: now}); err != nil {
				return nil, err
			}
			res, err := applyAction(ctx, tx, actor, c, st, ConversationEvent{Type: EventTransfer, Data: map[string]any{
				"fromUserId": userID, "toUserId": "", "fromDepartmentId": c.DepartmentID, "toDepartmentId": to, "reason": reason,
			}}, now)
			if err != nil {
				return nil, err
			}
			out = append(out, res)
		}
		if len(out) == before {
			return out, nil // the whole page changed under us: stop rather than list it again
		}
	}
}

func errSelfDeactivation() *Error {
	return &Error{Code: CodeUnprocessable, Message: "you cannot deactivate your own account"}
}

// ensureAnotherAdmin refuses, inside tx, a change that would leave no active
// admin besides exceptID. The check and the change share the transaction and
// LockActiveAdmins' row locks, so concurrent demotions are decided one after
// the other.
func ensureAnotherAdmin(ctx context.Context, tx Store, exceptID string) error {
	admins, err := tx.LockActiveAdmins(ctx)
	if err != nil {
		return fmt.Errorf("count admins: %w", err)
	}
	for _, id := range admins {
		if id != exceptID {
			return nil
		}
	}
	return &Error{Code: CodeUnprocessable, Message: "this is the last active admin; promote another user first"}
}

// GetUser returns a user or a not_found error.
func (s *Service) GetUser(ctx context.Context, id string) (User, error) {
	if !ValidID(id) {
		return User{}, errNotFound("user")
	}
	u, err := s.store.GetUser(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return User{}, errNotFound("user")
	}
	return u, err
}

// ListUsers returns a page of users.
func (s *Service) ListUsers(ctx context.Context, f UserFilter) ([]User, error) {
	if f.DepartmentID != "" && !ValidID(f.DepartmentID) {
		return nil, nil
	}
	return s.store.ListUsers(ctx, f)
}

// DepartmentParams are the fields of a department; nil fields stay as they
// are on update and take defaults on create.
type DepartmentParams struct {
	Name        *string
	Description *string
	Active      *bool
	AutoAssign  *bool
}

// CreateDepartment adds a department. Only admins may. Errors: forbidden,
// validation_failed, conflict (name taken, case-insensitively).
func (s *Service) CreateDepartment(ctx context.Context, actor Actor, p DepartmentParams) (Department, error) {
	if actor.User.Role != RoleAdmin {
		return Department{}, errForbidden()
	}
	fields := map[string]string{}
	if p.Name == nil {
		fields["name"] = "is required"
	}
	d := Department{ID: NewID(), Active: true, CreatedAt: s.now()}
	d.UpdatedAt = d.CreatedAt
	if validateDepartment(p, fields) {
		return Department{}, ValidationError(fields)
	}
	d.Name = strings.TrimSpace(*p.Name)
	if p.Description != nil {
		d.Description = strings.TrimSpace(*p.Description)
	}
	if p.Active != nil {
		d.Active = *p.Active
	}
	if p.AutoAssign != nil {
		d.AutoAssign = *p.AutoAssign
	}
	err := s.store.InTx(ctx, func(tx Store) error {
		if err := tx.CreateDepartment(ctx, d); err != nil {
			return err
		}
		return tx.InsertAuditLog(ctx, s.audit(actor, AuditDeptCreate, "department", d.ID, map[string]any{"name": d.Name}))
	})
	if errors.Is(err, ErrConflict) {
		return Department{}, errDepartmentNameTaken()
	}
	if err != nil {
		return Department{}, fmt.Errorf("create department: %w", err)
	}
	return d, nil
}

// UpdateDepartment changes a department. Only admins may.
func (s *Service) UpdateDepartment(ctx context.Context, actor Actor, id string, p DepartmentParams) (Department, error) {
	if actor.User.Role != RoleAdmin {
		return Department{}, errForbidden()
	}
	current, err := s.GetDepartment(ctx, id)
	if err != nil {
		return Department{}, err
	}
	fields := map[string]string{}
	if validateDepartment(p, fields) {
		return Department{}, ValidationError(fields)
	}
	if changedDepartmentFields(p) == nil {
		return current, nil // nothing to change: no write, no audit row
	}
	upd := DepartmentUpdate{Active: p.Active, AutoAssign: p.AutoAssign}
	if p.Name != nil {
		name := strings.TrimSpace(*p.Name)
		upd.Name = &name
	}
	if p.Description != nil {
		desc := strings.TrimSpace(*p.Description)
		upd.Description = &desc
	}
	var out Department
	err = s.store.InTx(ctx, func(tx Store) error {
		var err error
		if out, err = tx.UpdateDepartment(ctx, id, upd, s.now()); err != nil {
			return err
		}
		return tx.InsertAuditLog(ctx, s.audit(actor, AuditDeptUpdate, "department", id, map[string]any{"changed": changedDepartmentFields(p)}))
	})
	switch {
	case errors.Is(err, ErrConflict):
		return Department{}, errDepartmentNameTaken()
	case errors.Is(err, ErrNotFound):
		return Department{}, errNotFound("department")
	case err != nil:
		return Department{}, fmt.Errorf("update department: %w", err)
	}
	return out, nil
}

// DeleteDepartment removes a department that no conversation references;
// otherwise it answers conflict and the admin deactivates it instead.
func (s *Service) DeleteDepartment(ctx context.Context, actor Actor, id string) error {
	if actor.User.Role != RoleAdmin {
		return errForbidden()
	}
	d, err := s.GetDepartment(ctx, id)
	if err != nil {
		return err
	}
	err = s.store.InTx(ctx, func(tx Store) error {
		if err := tx.DeleteDepartment(ctx, id); err != nil {
			return err
		}
		return tx.InsertAuditLog(ctx, s.audit(actor, AuditDeptDelete, "department", id, map[string]any{"name": d.Name}))
	})
	switch {
	case errors.Is(err, ErrConflict):
		return &Error{Code: CodeConflict, Message: "the department has conversations; deactivate it instead (PATCH with active=false)"}
	case errors.Is(err, ErrNotFound):
		return errNotFound("department")
	}
	return err
}

// GetDepartment returns a department or a not_found error.
func (s *Service) GetDepartment(ctx context.Context, id string) (Department, error) {
	if !ValidID(id) {
		return Department{}, errNotFound("department")
	}
	d, err := s.store.GetDepartment(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Department{}, errNotFound("department")
	}
	return d, err
}

// ListDepartments returns every department, ordered by name.
func (s *Service) ListDepartments(ctx context.Context) ([]Department, error) {
	return s.store.ListDepartments(ctx)
}

// ListAuditLogs returns audit rows, newest first. Admins and supervisors
// may read them.
func (s *Service) ListAuditLogs(ctx context.Context, actor Actor, f AuditFilter) ([]AuditLog, error) {
	if !actor.User.Role.AtLeast(RoleSupervisor) {
		return nil, errForbidden()
	}
	return s.store.ListAuditLogs(ctx, f)
}

func (s *Service) checkDepartments(ctx context.Context, ids []string) ([]string, string) {
	if len(ids) == 0 {
		return []string{}, ""
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !ValidID(id) {
			return nil, "contains an unknown department"
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	missing, err := s.store.MissingDepartments(ctx, out)
	if err != nil || len(missing) > 0 {
		// A lookup failure is reported as unknown too; the write that
		// follows would fail on the foreign key anyway.
		return nil, "contains an unknown department"
	}
	slices.Sort(out)
	return out, ""
}

func (s *Service) audit(actor Actor, action, entityType, entityID string, details map[string]any) AuditLog {
	return AuditLog{
		ID: NewID(), ActorID: actor.User.ID, Action: action, EntityType: entityType, EntityID: entityID,
		IP: actor.IP, Details: details, CreatedAt: s.now(),
	}
}

func validateDepartment(p DepartmentParams, fields map[string]string) bool {
	if p.Name != nil {
		setIf(fields, "name", ValidateName(*p.Name, maxNameLength))
	}
	if p.Description != nil && len([]rune(*p.Description)) > maxDescriptionLength {
		fields["description"] = fmt.Sprintf("must be at most %d characters", maxDescriptionLength)
	}
	return len(fields) > 0
}

func validateMaxConversations(n int) string {
	if n < 1 || n > maxConversationsCap {
		return fmt.Sprintf("must be between 1 and %d", maxConversationsCap)
	}
	return ""
}

func changedUserFields(p UpdateUserParams) []string {
	return changedFields(map[string]bool{
		"name": p.Name != nil, "email": p.Email != nil, "password": p.Password != nil, "role": p.Role != nil,
		"active": p.Active != nil, "maxConversations": p.MaxConversations != nil, "departmentIds": p.DepartmentIDs != nil,
	})
}

func changedDepartmentFields(p DepartmentParams) []string {
	return changedFields(map[string]bool{
		"name": p.Name != nil, "description": p.Description != nil, "active": p.Active != nil, "autoAssign": p.AutoAssign != nil,
	})
}

// changedFields lists, sorted, the names whose flag is set: what an update
// touched, for its audit row.
func changedFields(set map[string]bool) []string {
	var out []string
	for name, ok := range set {
		if ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func setIf(fields map[string]string, key, msg string) {
	if msg != "" {
		fields[key] = msg
	}
}

func errForbidden() error {
	return &Error{Code: CodeForbidden, Message: "your role does not allow this action"}
}

func errNotFound(what string) error {
	return &Error{Code: CodeNotFound, Message: what + " not found"}
}

func errDepartmentNameTaken() error {
	return &Error{Code: CodeConflict, Message: "a department with this name already exists", Fields: map[string]string{"name": "is already in use"}}
}
