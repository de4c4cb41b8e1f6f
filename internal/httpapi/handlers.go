package httpapi

import (
	"context"
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/supportwhatsapp/supportwhatsapp/internal/auth"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/httpapi/middleware"
)

func (a *API) handleHealth(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	h := healthDTO{Status: "ok", Database: "ok", WhatsApp: a.opts.WhatsAppMode, Version: a.opts.Version, Uptime: int64(a.opts.Now().Sub(a.started).Seconds())}
	status := http.StatusOK
	if err := a.store.Ping(ctx); err != nil {
		a.log.ErrorContext(r.Context(), "health: database unreachable", "err", err)
		h.Status, h.Database, status = "degraded", "unavailable", http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, status, h)
}

func (a *API) handleMetrics(w http.ResponseWriter, r *http.Request) error {
	if want := a.opts.MetricsToken; want != "" {
		got, _ := bearerToken(r)
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			return &helpdesk.Error{Code: helpdesk.CodeUnauthorized, Message: "metrics need the METRICS_TOKEN as a bearer token"}
		}
	}
	a.metrics.ServeHTTP(w, r)
	return nil
}

func (a *API) handleLogin(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if len(req.Email) > helpdesk.MaxEmailLength {
		// Refused before the guard and the audit log, so a megabyte of
		// "e-mail" is neither a guard key nor an audit row.
		return helpdesk.ValidationError(map[string]string{"email": "is too long"})
	}
	ip, email := middleware.ClientIP(r), helpdesk.NormalizeEmail(req.Email)
	attempt, retry, blocked := a.guard.Begin(ip, email)
	if blocked {
		return a.tooManyLogins(w, retry)
	}
	sess, err := a.auth.Login(r.Context(), email, req.Password, clientInfo(r))
	settle(attempt, err, helpdesk.ErrorCode(err) == helpdesk.CodeInvalidCredentials)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toSessionDTO(sess))
}

// settle ends a guarded password check: a success refunds it, a wrong
// password leaves it counted as a failure, and any other error (the
// database, a validation problem) refunds it too.
func settle(attempt *middleware.LoginAttempt, err error, wrongPassword bool) {
	switch {
	case err == nil:
		attempt.Succeed()
	case !wrongPassword:
		attempt.Abandon()
	}
}

func (a *API) tooManyLogins(w http.ResponseWriter, retry time.Duration) error {
	secs := int(retry.Round(time.Second).Seconds())
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", itoa(secs))
	return &helpdesk.Error{Code: helpdesk.CodeRateLimited, Message: "too many failed logins; try again in " + itoa(secs) + " seconds"}
}

func (a *API) handleRefresh(w http.ResponseWriter, r *http.Request) error {
	var req refreshRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	sess, err := a.auth.Refresh(r.Context(), req.RefreshToken, clientInfo(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toSessionDTO(sess))
}

func (a *API) handleLogout(w http.ResponseWriter, r *http.Request) error {
	var req refreshRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := a.auth.Logout(r.Context(), req.RefreshToken, clientInfo(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) handleMe(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, toUserDTO(currentUser(r.Context())))
}

func (a *API) handleChangePassword(w http.ResponseWriter, r *http.Request) error {
	var req changePasswordRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	// A stolen access token must not become a way to guess the password, so
	// wrong current passwords count against the same guard as logins.
	u := currentUser(r.Context())
	attempt, retry, blocked := a.guard.Begin(middleware.ClientIP(r), u.Email)
	if blocked {
		return a.tooManyLogins(w, retry)
	}
	sess, err := a.auth.ChangePassword(r.Context(), u.ID, req.CurrentPassword, req.NewPassword, clientInfo(r))
	settle(attempt, err, auth.IsWrongPassword(err))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toSessionDTO(sess))
}

func (a *API) handleListUsers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := listLimit(r)
	if err != nil {
		return err
	}
	active, err := queryBool(r, "active")
	if err != nil {
		return err
	}
	f := helpdesk.UserFilter{Role: helpdesk.Role(q.Get("role")), DepartmentID: q.Get("departmentId"), Active: active, Query: q.Get("q"), Limit: limit + 1}
	if f.Role != "" && !f.Role.Valid() {
		return helpdesk.ValidationError(map[string]string{"role": "must be admin, supervisor or agent"})
	}
	if c := q.Get("cursor"); c != "" {
		after, ok := decodeCursor(c)
		if !ok || !helpdesk.ValidID(after) {
			return cursorError()
		}
		f.After = after
	}
	users, err := a.desk.ListUsers(r.Context(), f)
	if err != nil {
		return err
	}
	out := page[userDTO]{Data: make([]userDTO, 0, len(users))}
	users, out.NextCursor = trimPage(users, limit, func(u helpdesk.User) string { return u.ID })
	for _, u := range users {
		out.Data = append(out.Data, toUserDTO(u))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) handleCreateUser(w http.ResponseWriter, r *http.Request) error {
	var req createUserRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	u, err := a.desk.CreateUser(r.Context(), actor(r), helpdesk.CreateUserParams{
		Name: req.Name, Email: req.Email, Password: req.Password, Role: helpdesk.Role(req.Role),
		DepartmentIDs: req.DepartmentIDs, MaxConversations: req.MaxConversations, MustChangePassword: true,
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/users/"+u.ID)
	return writeJSON(w, http.StatusCreated, toUserDTO(u))
}

func (a *API) handleGetUser(w http.ResponseWriter, r *http.Request) error {
	u, err := a.desk.GetUser(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toUserDTO(u))
}

func (a *API) handleUpdateUser(w http.ResponseWriter, r *http.Request) error {
	var req updateUserRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	p := helpdesk.UpdateUserParams{
		Name: req.Name, Email: req.Email, Password: req.Password, Active: req.Active,
		MaxConversations: req.MaxConversations, DepartmentIDs: req.DepartmentIDs,
	}
	if req.Role != nil {
		role := helpdesk.Role(*req.Role)
		p.Role = &role
	}
	u, err := a.desk.UpdateUser(r.Context(), actor(r), chi.URLParam(r, "id"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toUserDTO(u))
}

func (a *API) handleDeactivateUser(w http.ResponseWriter, r *http.Request) error {
	if err := a.desk.DeactivateUser(r.Context(), actor(r), chi.URLParam(r, "id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) handleListDepartments(w http.ResponseWriter, r *http.Request) error {
	ds, err := a.desk.ListDepartments(r.Context())
	if err != nil {
		return err
	}
	out := dataList[departmentDTO]{Data: make([]departmentDTO, 0, len(ds))}
	for _, d := range ds {
		out.Data = append(out.Data, toDepartmentDTO(d))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) handleCreateDepartment(w http.ResponseWriter, r *http.Request) error {
	var req createDepartmentRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	d, err := a.desk.CreateDepartment(r.Context(), actor(r), helpdesk.DepartmentParams(req))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/departments/"+d.ID)
	return writeJSON(w, http.StatusCreated, toDepartmentDTO(d))
}

func (a *API) handleGetDepartment(w http.ResponseWriter, r *http.Request) error {
	d, err := a.desk.GetDepartment(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toDepartmentDTO(d))
}

func (a *API) handleUpdateDepartment(w http.ResponseWriter, r *http.Request) error {
	var req departmentRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	d, err := a.desk.UpdateDepartment(r.Context(), actor(r), chi.URLParam(r, "id"), helpdesk.DepartmentParams(req))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toDepartmentDTO(d))
}

func (a *API) handleDeleteDepartment(w http.ResponseWriter, r *http.Request) error {
	if err := a.desk.DeleteDepartment(r.Context(), actor(r), chi.URLParam(r, "id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) handleListAuditLogs(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := listLimit(r)
	if err != nil {
		return err
	}
	f := helpdesk.AuditFilter{Action: q.Get("action"), ActorID: q.Get("actorId"), EntityID: q.Get("entityId"), Limit: limit + 1}
	if c := q.Get("cursor"); c != "" {
		before, ok := decodeCursor(c)
		if !ok || !helpdesk.ValidID(before) {
			return cursorError()
		}
		f.Before = before
	}
	logs, err := a.desk.ListAuditLogs(r.Context(), actor(r), f)
	if err != nil {
		return err
	}
	out := page[auditLogDTO]{Data: make([]auditLogDTO, 0, len(logs))}
	logs, out.NextCursor = trimPage(logs, limit, func(l helpdesk.AuditLog) string { return l.ID })
	for _, l := range logs {
		out.Data = append(out.Data, toAuditLogDTO(l))
	}
	return writeJSON(w, http.StatusOK, out)
}
