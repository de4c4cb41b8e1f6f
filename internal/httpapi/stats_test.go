package httpapi_test

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// periodFigures is the period part of GET /conversations/stats.
type periodFigures struct {
	From, To      time.Time
	TimeZone      string
	Conversations struct {
		Opened, Closed       int
		AverageHandleSeconds int64
	}
	Messages     struct{ Received, Sent int }
	Satisfaction struct {
		Responses    int
		Average      *float64
		Distribution map[string]int
	}
	Agents []struct {
		UserID, Name         string
		Closed               int
		AverageHandleSeconds int64
		CSATAverage          *float64
		CSATResponses        int
	}
}

func (e *testEnv) periodStats(t *testing.T, token string, q url.Values) periodFigures {
	t.Helper()
	r := e.mustStatus(e.call("GET", "/api/v1/conversations/stats?"+q.Encode(), token, nil), 200)
	var out struct {
		ByStatus map[string]int
		Period   periodFigures
	}
	if err := json.Unmarshal(r.raw, &out); err != nil {
		t.Fatalf("stats: %v: %s", err, r.raw)
	}
	if _, ok := out.ByStatus["closedToday"]; !ok {
		t.Errorf("the live figures went missing: %s", r.raw)
	}
	return out.Period
}

// A period's figures count what happened between from and to read in the
// given zone: a day in São Paulo (UTC-3) and the same date in Tokyo
// (UTC+9) hold different conversations and messages, each bound exact to
// the millisecond (from inclusive, to exclusive).
func TestPeriodStats(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		db := e.srv.DB.SQL()
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.Exec(q, args...); err != nil {
				t.Fatal(err)
			}
		}
		at := func(s string) time.Time {
			t.Helper()
			v, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		ana, bruno := mustCreateUser(t, e, "ana@example.com"), mustCreateUser(t, e, "bruno@example.com")
		exec("UPDATE users SET name = 'Ana' WHERE id = $1", ana.ID)
		exec("UPDATE users SET name = 'Bruno' WHERE id = $1", bruno.ID)
		suporte := e.depts["Suporte"]
		conv := func(created, closed, assignee string, csat int) string {
			t.Helper()
			id := mustInsertConversation(t, e, suporte)
			status, closedAt, assign, score := "waiting", any(nil), any(nil), any(nil)
			if closed != "" {
				status, closedAt = "closed", at(closed)
			}
			if assignee != "" {
				assign = assignee
				if closed == "" {
					status = "open"
				}
			}
			if csat > 0 {
				score = csat
			}
			exec(`UPDATE conversations SET status = $1, created_at = $2, closed_at = $3, assignee_id = $4, csat_score = $5,
				waiting_since = NULL WHERE id = $6`, status, at(created), closedAt, assign, score, id)
			return id
		}
		// São Paulo's 2026-03-10 is [03:00Z, next 03:00Z); Tokyo's is
		// [2026-03-09 15:00Z, 2026-03-10 15:00Z).
		c1 := conv("2026-03-10T02:30:00Z", "2026-03-10T03:30:00Z", ana.ID, 5)         // 1 h
		conv("2026-03-10T10:00:00Z", "2026-03-10T10:20:00Z", ana.ID, 3)               // 20 min
		conv("2026-03-10T14:00:00Z", "2026-03-10T15:30:00Z", bruno.ID, 4)             // 90 min; Tokyo: closed the next day
		conv("2026-03-10T20:00:00Z", "2026-03-11T02:59:59.5Z", "", 0)                 // unassigned, unrated; SP: last instant
		conv("2026-03-09T12:00:00Z", "", bruno.ID, 0)                                 // open: never closed
		conv("2026-03-10T03:00:00Z", "", "", 0)                                       // SP midnight: opened that day
		conv("2026-03-11T03:00:00Z", "", "", 0)                                       // SP next midnight: not
		conv("2026-03-09T15:00:00Z", "", "", 0)                                       // Tokyo midnight
		reopened := conv("2026-03-10T11:00:00Z", "2026-03-10T11:05:00Z", bruno.ID, 1) // reopened below: no longer closed
		exec("UPDATE conversations SET status = 'open', closed_at = NULL WHERE id = $1", reopened)
		for _, m := range []struct{ dir, at string }{
			{"inbound", "2026-03-10T02:59:59.999Z"},  // Tokyo
			{"inbound", "2026-03-10T03:00:00Z"},      // both
			{"inbound", "2026-03-11T02:59:59.999Z"},  // SP
			{"inbound", "2026-03-11T01:00:00Z"},      // SP
			{"inbound", "2026-03-11T03:00:00Z"},      // neither
			{"outbound", "2026-03-09T15:00:00Z"},     // Tokyo
			{"outbound", "2026-03-09T14:59:59.999Z"}, // neither
			{"outbound", "2026-03-10T14:59:59.999Z"}, // both
			{"outbound", "2026-03-10T15:00:00Z"},     // SP
			{"outbound", "2026-03-09T20:00:00Z"},     // Tokyo
		} {
			sender, status := "customer", "received"
			if m.dir == "outbound" {
				sender, status = "agent", "sent"
			}
			exec(`INSERT INTO messages (id, conversation_id, direction, sender_type, type, text, status, created_at)
				VALUES ($1, $2, $3, $4, 'text', 'oi', $5, $6)`, helpdesk.NewID(), c1, m.dir, sender, status, at(m.at))
		}

		sp := e.periodStats(t, admin.access, url.Values{"from": {"2026-03-10"}, "to": {"2026-03-10"}, "tz": {"America/Sao_Paulo"}})
		if !sp.From.Equal(at("2026-03-10T03:00:00Z")) || !sp.To.Equal(at("2026-03-11T03:00:00Z")) || sp.TimeZone != "America/Sao_Paulo" {
			t.Errorf("SP period = %v – %v %s", sp.From, sp.To, sp.TimeZone)
		}
		if c := sp.Conversations; c.Opened != 5 || c.Closed != 4 || c.AverageHandleSeconds != 8849 { // (3600+1200+5400+25199.5)/4
			t.Errorf("SP conversations = %+v, want opened 5, closed 4, TMA 8849", c)
		}
		if m := sp.Messages; m.Received != 3 || m.Sent != 2 {
			t.Errorf("SP messages = %+v, want received 3, sent 2", m)
		}
		s := sp.Satisfaction
		if s.Responses != 3 || s.Average == nil || *s.Average != 4 ||
			len(s.Distribution) != 5 || s.Distribution["1"] != 0 || s.Distribution["2"] != 0 || s.Distribution["3"] != 1 || s.Distribution["4"] != 1 || s.Distribution["5"] != 1 {
			t.Errorf("SP satisfaction = %+v", s)
		}
		if a := sp.Agents; len(a) != 2 ||
			a[0].UserID != ana.ID || a[0].Name != "Ana" || a[0].Closed != 2 || a[0].AverageHandleSeconds != 2400 || a[0].CSATResponses != 2 || a[0].CSATAverage == nil || *a[0].CSATAverage != 4 ||
			a[1].UserID != bruno.ID || a[1].Name != "Bruno" || a[1].Closed != 1 || a[1].AverageHandleSeconds != 5400 || a[1].CSATResponses != 1 || a[1].CSATAverage == nil || *a[1].CSATAverage != 4 {
			t.Errorf("SP agents = %+v", a)
		}

		tk := e.periodStats(t, admin.access, url.Values{"from": {"2026-03-10"}, "to": {"2026-03-10"}, "tz": {"Asia/Tokyo"}})
		if !tk.From.Equal(at("2026-03-09T15:00:00Z")) || !tk.To.Equal(at("2026-03-10T15:00:00Z")) || tk.TimeZone != "Asia/Tokyo" {
			t.Errorf("Tokyo period = %v – %v %s", tk.From, tk.To, tk.TimeZone)
		}
		if c := tk.Conversations; c.Opened != 6 || c.Closed != 2 || c.AverageHandleSeconds != 2400 {
			t.Errorf("Tokyo conversations = %+v, want opened 6, closed 2, TMA 2400", c)
		}
		if m := tk.Messages; m.Received != 2 || m.Sent != 3 {
			t.Errorf("Tokyo messages = %+v, want received 2, sent 3", m)
		}
		if s := tk.Satisfaction; s.Responses != 2 || s.Average == nil || *s.Average != 4 || s.Distribution["3"] != 1 || s.Distribution["5"] != 1 || s.Distribution["4"] != 0 {
			t.Errorf("Tokyo satisfaction = %+v", s)
		}
		if a := tk.Agents; len(a) != 1 || a[0].UserID != ana.ID || a[0].Closed != 2 || a[0].AverageHandleSeconds != 2400 {
			t.Errorf("Tokyo agents = %+v", a)
		}

		// Instants: from inclusive, to exclusive, to the millisecond.
		in := e.periodStats(t, admin.access, url.Values{"from": {"2026-03-10T03:30:00Z"}, "to": {"2026-03-10T07:20:00.001-03:00"}})
		if c := in.Conversations; c.Opened != 1 || c.Closed != 2 {
			t.Errorf("instant period = %+v, want opened 1, closed 2", c)
		}
		in = e.periodStats(t, admin.access, url.Values{"from": {"2026-03-10T03:30:00.001Z"}, "to": {"2026-03-10T10:20:00Z"}})
		if c := in.Conversations; c.Opened != 1 || c.Closed != 0 || in.Satisfaction.Responses != 0 || in.Satisfaction.Average != nil || len(in.Agents) != 0 {
			t.Errorf("instant period, bounds excluded = %+v", in)
		}

		// Without from and to the period is today in tz, up to now.
		today := e.periodStats(t, admin.access, url.Values{"tz": {"Asia/Tokyo"}})
		tokyo, _ := time.LoadLocation("Asia/Tokyo")
		now := time.Now().In(tokyo)
		if f := today.From.In(tokyo); f.Hour() != 0 || f.Minute() != 0 || f.Second() != 0 || now.Sub(f) < 0 || now.Sub(f) > 24*time.Hour ||
			today.To.Sub(now).Abs() > time.Minute || today.Conversations.Opened != 0 {
			t.Errorf("today in Tokyo = %v – %v, opened %d", today.From, today.To, today.Conversations.Opened)
		}
	})
}

// Bad periods are refused naming the field; agents may not read the stats.
func TestPeriodStatsRefused(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		for _, c := range []struct {
			name  string
			q     url.Values
			field string
		}{
			{"from not a time", url.Values{"from": {"yesterday"}}, "from"},
			{"to not a date", url.Values{"to": {"2026-13-01"}}, "to"},
			{"time without zone", url.Values{"from": {"2026-03-10T10:00:00"}}, "from"},
			{"unknown zone", url.Values{"tz": {"Mars/Olympus_Mons"}}, "tz"},
			{"zone path", url.Values{"tz": {"../../etc/passwd"}}, "tz"},
			{"to before from", url.Values{"from": {"2026-03-10"}, "to": {"2026-03-09"}}, "to"},
			{"to an instant before from", url.Values{"from": {"2026-03-10T10:00:00Z"}, "to": {"2026-03-10T09:59:59.999Z"}}, "to"},
			{"367 days", url.Values{"from": {"2025-03-09"}, "to": {"2026-03-10"}, "tz": {"UTC"}}, "to"},
			{"366 days and a millisecond", url.Values{"from": {"2025-03-10T00:00:00Z"}, "to": {"2026-03-11T00:00:00.001Z"}}, "to"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := e.call("GET", "/api/v1/conversations/stats?"+c.q.Encode(), admin.access, nil)
				if r.status != 400 || r.errCode(t) != helpdesk.CodeValidation || r.errFields(t)[c.field] == nil {
					t.Errorf("status %d, want 400 validation_failed on %s: %s", r.status, c.field, r.raw)
				}
			})
		}
		// 366 days, the longest period, is accepted.
		p := e.periodStats(t, admin.access, url.Values{"from": {"2025-03-10"}, "to": {"2026-03-10"}, "tz": {"UTC"}})
		if p.To.Sub(p.From) != 366*24*time.Hour {
			t.Errorf("366-day period = %v – %v", p.From, p.To)
		}
		agent, _ := e.newUser(admin.access, helpdesk.RoleAgent, "Suporte")
		e.mustStatus(e.call("GET", "/api/v1/conversations/stats?from=2026-03-10", agent.access, nil), 403)
	})
}
