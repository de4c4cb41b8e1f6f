package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/httpapi/middleware"
)

// Realtime is the WebSocket hub (package realtime): it serves /ws and knows
// who is connected, on every replica.
type Realtime interface {
	// ServeWS upgrades the request; u is nil when the client will
	// authenticate with its first frame.
	ServeWS(w http.ResponseWriter, r *http.Request, u *helpdesk.User)
	// Online reports whether the user has a live connection anywhere.
	Online(userID string) bool
	// OnlineUsers returns the connected users with when each was last seen
	// connected.
	OnlineUsers() map[string]time.Time
}

// online is presence as the hub sees it; without a hub nobody is online.
func (a *API) online(userID string) bool {
	return a.opts.Realtime != nil && a.opts.Realtime.Online(userID)
}

type onlineUserDTO struct {
	userDTO
	LastSeenAt time.Time `json:"lastSeenAt"`
}

// handleOnlineUsers lists the active users with the dashboard open now: a
// WebSocket on any replica.
func (a *API) handleOnlineUsers(w http.ResponseWriter, r *http.Request) error {
	seen := map[string]time.Time{}
	if a.opts.Realtime != nil {
		seen = a.opts.Realtime.OnlineUsers()
	}
	out := dataList[onlineUserDTO]{Data: []onlineUserDTO{}}
	active := true
	after := ""
	for len(seen) > 0 {
		users, err := a.desk.ListUsers(r.Context(), helpdesk.UserFilter{Active: &active, Limit: 100, After: after})
		if err != nil {
			return err
		}
		for _, u := range users {
			if at, ok := seen[u.ID]; ok {
				out.Data = append(out.Data, onlineUserDTO{userDTO: toUserDTO(u), LastSeenAt: at.UTC()})
			}
		}
		if len(users) < 100 {
			break
		}
		after = users[len(users)-1].ID
	}
	return writeJSON(w, http.StatusOK, out)
}

// CodeUpgradeRequired answers a plain HTTP request to /ws.
const CodeUpgradeRequired = "upgrade_required"

// handleWS opens the real-time socket. A token in ?token= (browsers cannot
// set headers on a WebSocket) or the Authorization header is checked before
// the upgrade, so a bad one is refused with the API's 401; without either,
// the socket opens and its first frame must authenticate.
func (a *API) handleWS(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	if t, ok := bearerToken(r); ok && token == "" {
		token = t
	}
	upgrade := strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
	var user *helpdesk.User
	if token != "" {
		u, err := a.auth.Authenticate(r.Context(), token)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="supportwhatsapp", error="invalid_token"`)
			return err
		}
		if u.MustChangePassword {
			middleware.WriteError(w, r, http.StatusForbidden, helpdesk.CodePasswordChangeRequired,
				"change your password first (POST /api/v1/auth/change-password)", nil)
			return nil
		}
		middleware.SetUserID(r.Context(), u.ID)
		user = &u
	} else if !upgrade {
		w.Header().Set("WWW-Authenticate", `Bearer realm="supportwhatsapp"`)
		middleware.WriteError(w, r, http.StatusUnauthorized, helpdesk.CodeUnauthorized,
			"open a WebSocket with ?token=<access token>, or send it in the first frame", nil)
		return nil
	}
	if !upgrade {
		middleware.WriteError(w, r, http.StatusUpgradeRequired, CodeUpgradeRequired,
			"this is the WebSocket endpoint: connect with a WebSocket client", nil)
		return nil
	}
	if a.opts.Realtime == nil {
		middleware.WriteError(w, r, http.StatusNotFound, helpdesk.CodeNotFound, "no real-time hub on this server", nil)
		return nil
	}
	a.opts.Realtime.ServeWS(w, r, user)
	return nil
}

// ConversationJSON and MessageJSON are the REST shapes of a conversation
// and a message, for the real-time events to carry the same.
func ConversationJSON(c helpdesk.Conversation) any { return toConversationDTO(c) }

// MessageJSON: see ConversationJSON.
func MessageJSON(m helpdesk.Message) any { return toMessageDTO(m) }
