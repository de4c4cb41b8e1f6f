package helpdesk_test

import (
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// In zones whose DST starts at midnight (Chile, Cuba, São Paulo until
// 2019) the day begins at 01:00. A date must still be that day, from its
// first instant to the next day's: not refused, and not starting an hour
// into the previous day.
func TestPeriodMidnightSkippedByDST(t *testing.T) {
	for _, c := range []struct{ date, tz string }{
		{"2026-09-06", "America/Santiago"},
		{"2026-03-08", "America/Havana"},
		{"2018-11-04", "America/Sao_Paulo"},
	} {
		loc, err := time.LoadLocation(c.tz)
		if err != nil {
			t.Fatal(err)
		}
		from, to, _, err := helpdesk.ParseStatsPeriod(c.date, c.date, c.tz, time.Now())
		if err != nil {
			t.Errorf("%s in %s: %v", c.date, c.tz, err)
		} else if f := from.In(loc); f.Format(time.DateOnly) != c.date || to.Sub(from) != 23*time.Hour {
			t.Errorf("%s in %s: %v – %v (%v)", c.date, c.tz, f, to.In(loc), to.Sub(from))
		}
		// Without from: the day the period ends in, from its first instant.
		end := "T12:00:00Z"
		from, _, _, err = helpdesk.ParseStatsPeriod("", c.date+end, c.tz, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if f := from.In(loc); f.Format(time.DateOnly) != c.date {
			t.Errorf("%s in %s without from: starts %v, on the previous day", c.date, c.tz, f)
		}
	}

	// A week ending on that day: to must be the next midnight, not the start of the day itself.
	loc, _ := time.LoadLocation("America/Santiago")
	_, to, _, err := helpdesk.ParseStatsPeriod("2026-09-01", "2026-09-06", "America/Santiago", time.Now())
	if want := time.Date(2026, 9, 7, 0, 0, 0, 0, loc); err != nil || !to.Equal(want) {
		t.Errorf("2026-09-01..2026-09-06 in Santiago ends %v (err %v), want %v: 6 September is left out", to.In(loc), err, want)
	}
}
