package httpapi_test

import (
	"net/url"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"strings"
	"testing"
)

// Periods the parser accepts must not answer 500: a year-0 or year-9999
// date is either refused with 400 or counted (zero), never a database error.
func TestStatsExtremeDates(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		for _, q := range []url.Values{
			{"from": {"0000-01-01"}, "to": {"0000-01-02"}, "tz": {"UTC"}},
			{"from": {"9999-12-31"}, "to": {"9999-12-31"}, "tz": {"UTC"}},
			{"from": {"0001-01-01"}, "to": {"0001-01-01"}, "tz": {"America/Sao_Paulo"}},
		} {
			r := e.call("GET", "/api/v1/conversations/stats?"+q.Encode(), admin.access, nil)
			if r.status >= 500 || strings.Contains(string(r.raw), "internal_error") {
				t.Errorf("%s: %d %s", q.Encode(), r.status, r.raw)
			} else {
				t.Logf("%s: %d %.200s", q.Encode(), r.status, r.raw)
			}
		}
	})
}

// A rating the customer gave after Ana closed the conversation judged Ana's
// service: when it is reopened and closed again, it is not credited to
// whoever closed it then (reopening resets the survey; the old rating
// stays in the reopen event).
func TestStatsCSATAfterReopen(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		admin := e.admin()
		db := e.srv.DB.SQL()
		suporte := e.depts["Suporte"]
		ana, _ := e.newUser(admin.access, helpdesk.RoleAgent, "Suporte")
		bruno, _ := e.newUser(admin.access, helpdesk.RoleSupervisor, "Suporte")
		id := mustInsertConversation(t, e, suporte)
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+id+"/takeover", ana.access, nil), 200)
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+id+"/close", ana.access, map[string]any{"sendSurvey": false}), 200)
		// The customer rates Ana's handling 1.
		if _, err := db.Exec("UPDATE conversations SET csat_score = 1, csat_requested_at = closed_at WHERE id = $1", id); err != nil {
			t.Fatal(err)
		}
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+id+"/reopen", bruno.access, nil), 200)
		e.mustStatus(e.call("POST", "/api/v1/conversations/"+id+"/close", bruno.access, map[string]any{"sendSurvey": false}), 200)
		p := e.periodStats(t, admin.access, url.Values{"tz": {"UTC"}})
		t.Logf("agents %+v satisfaction %+v closed %d", p.Agents, p.Satisfaction, p.Conversations.Closed)
		for _, a := range p.Agents {
			if a.UserID == bruno.userID && a.CSATResponses > 0 {
				t.Errorf("Bruno, who never got a rating, is credited with Ana's: %+v", a)
			}
		}
	})
}
