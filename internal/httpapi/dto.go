package httpapi

import (
	"encoding/base64"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/auth"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// The JSON shapes of the API. They are separate from the domain types so
// that nothing private (a password hash) can leak by adding a field.

type userDTO struct {
	ID                 string     `json:"id"`
	Name               string     `json:"name"`
	Email              string     `json:"email"`
	Role               string     `json:"role" enum:"admin,supervisor,agent"`
	Active             bool       `json:"active"`
	MustChangePassword bool       `json:"mustChangePassword"`
	DepartmentIDs      []string   `json:"departmentIds"`
	MaxConversations   int        `json:"maxConversations"`
	LastLoginAt        *time.Time `json:"lastLoginAt"`
	CreatedAt          time.Time  `json:"createdAt"`
	UpdatedAt          time.Time  `json:"updatedAt"`
}

func toUserDTO(u helpdesk.User) userDTO {
	ids := u.DepartmentIDs
	if ids == nil {
		ids = []string{}
	}
	return userDTO{
		ID: u.ID, Name: u.Name, Email: u.Email, Role: string(u.Role), Active: u.Active,
		MustChangePassword: u.MustChangePassword, DepartmentIDs: ids, MaxConversations: u.MaxConversations,
		LastLoginAt: u.LastLoginAt, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}

type departmentDTO struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Active      bool      `json:"active"`
	AutoAssign  bool      `json:"autoAssign"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

func toDepartmentDTO(d helpdesk.Department) departmentDTO {
	return departmentDTO{
		ID: d.ID, Name: d.Name, Description: d.Description, Active: d.Active, AutoAssign: d.AutoAssign,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
	}
}

type sessionDTO struct {
	AccessToken  string  `json:"accessToken"`
	RefreshToken string  `json:"refreshToken"`
	TokenType    string  `json:"tokenType"`
	ExpiresIn    int     `json:"expiresIn" description:"lifetime of accessToken in seconds"`
	User         userDTO `json:"user"`
}

func toSessionDTO(s auth.Session) sessionDTO {
	return sessionDTO{
		AccessToken: s.AccessToken, RefreshToken: s.RefreshToken, TokenType: "Bearer",
		ExpiresIn: int(s.ExpiresIn.Seconds()), User: toUserDTO(s.User),
	}
}

type auditLogDTO struct {
	ID         string         `json:"id"`
	ActorID    *string        `json:"actorId"`
	Action     string         `json:"action"`
	EntityType string         `json:"entityType"`
	EntityID   string         `json:"entityId"`
	IP         string         `json:"ip"`
	Details    map[string]any `json:"details"`
	CreatedAt  time.Time      `json:"createdAt"`
}

func toAuditLogDTO(a helpdesk.AuditLog) auditLogDTO {
	dto := auditLogDTO{
		ID: a.ID, Action: a.Action, EntityType: a.EntityType, EntityID: a.EntityID, IP: a.IP,
		Details: a.Details, CreatedAt: a.CreatedAt,
	}
	if a.ActorID != "" {
		dto.ActorID = &a.ActorID
	}
	if dto.Details == nil {
		dto.Details = map[string]any{}
	}
	return dto
}

// page is the shape of every list response.
type page[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"nextCursor"`
}

// trimPage cuts a listing fetched with limit+1 rows to limit, and returns
// the cursor of the last row kept when the extra row shows more follow.
func trimPage[T any](rows []T, limit int, cursor func(T) string) ([]T, *string) {
	if len(rows) <= limit {
		return rows, nil
	}
	rows = rows[:limit]
	return rows, encodeCursor(cursor(rows[limit-1]))
}

// dataList is the shape of short lists that are never paginated.
type dataList[T any] struct {
	Data []T `json:"data"`
}

// encodeCursor and decodeCursor keep cursors opaque to clients, so their
// content can change without breaking anyone.
func encodeCursor(s string) *string {
	c := base64.RawURLEncoding.EncodeToString([]byte(s))
	return &c
}

func decodeCursor(c string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", false
	}
	return string(b), true
}

type healthDTO struct {
	Status   string `json:"status" enum:"ok,degraded"`
	Database string `json:"database" enum:"ok,unavailable"`
	WhatsApp string `json:"whatsapp" enum:"sandbox,cloud"`
	Version  string `json:"version"`
	Uptime   int64  `json:"uptimeSeconds"`
}

// Request bodies. Fields tagged required:"true" must be present and
// non-empty; pointer fields of PATCH bodies distinguish "absent" from "set".

type loginRequest struct {
	Email    string `json:"email" required:"true"`
	Password string `json:"password" required:"true"`
}

type refreshRequest struct {
	RefreshToken string `json:"refreshToken" required:"true"`
}

type changePasswordRequest struct {
	CurrentPassword string `json:"currentPassword" required:"true"`
	NewPassword     string `json:"newPassword" required:"true"`
}

type createUserRequest struct {
	Name             string   `json:"name" required:"true"`
	Email            string   `json:"email" required:"true"`
	Password         string   `json:"password" required:"true"`
	Role             string   `json:"role" required:"true" enum:"admin,supervisor,agent"`
	DepartmentIDs    []string `json:"departmentIds"`
	MaxConversations *int     `json:"maxConversations"`
}

type updateUserRequest struct {
	Name             *string   `json:"name"`
	Email            *string   `json:"email"`
	Password         *string   `json:"password"`
	Role             *string   `json:"role" enum:"admin,supervisor,agent"`
	Active           *bool     `json:"active"`
	MaxConversations *int      `json:"maxConversations"`
	DepartmentIDs    *[]string `json:"departmentIds"`
}

type departmentRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Active      *bool   `json:"active"`
	AutoAssign  *bool   `json:"autoAssign"`
}

type createDepartmentRequest struct {
	Name        *string `json:"name" required:"true"`
	Description *string `json:"description"`
	Active      *bool   `json:"active"`
	AutoAssign  *bool   `json:"autoAssign"`
}
