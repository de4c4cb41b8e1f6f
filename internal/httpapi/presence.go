package httpapi

import (
	"net/http"
	"sync"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// onlineWindow is how recently a user must have called the API to count as
// online. The WebSocket hub (conversations issue) will report presence
// from live connections instead; until then activity is the signal.
const onlineWindow = 5 * time.Minute

// presence remembers when each user last made an authenticated request, in
// this process.
type presence struct {
	mu   sync.Mutex
	seen map[string]time.Time // user id → last request
}

func (p *presence) touch(userID string, at time.Time) {
	p.mu.Lock()
	if p.seen == nil {
		p.seen = map[string]time.Time{}
	}
	p.seen[userID] = at
	p.mu.Unlock()
}

// seenSince reports whether userID was seen after t.
func (p *presence) seenSince(userID string, t time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	at, ok := p.seen[userID]
	return ok && at.After(t)
}

// since returns the users seen after t, forgetting older entries so the map
// stays the size of the active team.
func (p *presence) since(t time.Time) map[string]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]time.Time{}
	for id, at := range p.seen {
		if at.After(t) {
			out[id] = at
		} else {
			delete(p.seen, id)
		}
	}
	return out
}

type onlineUserDTO struct {
	userDTO
	LastSeenAt time.Time `json:"lastSeenAt"`
}

// handleOnlineUsers lists the active users who used the dashboard in the
// last few minutes.
func (a *API) handleOnlineUsers(w http.ResponseWriter, r *http.Request) error {
	now := a.opts.Now()
	seen := a.presence.since(now.Add(-onlineWindow))
	out := dataList[onlineUserDTO]{Data: []onlineUserDTO{}}
	active := true
	after := ""
	for {
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
