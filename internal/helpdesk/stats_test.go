package helpdesk_test

import (
	"errors"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// Dates are calendar days in the zone: the day clocks spring forward is 23
// hours long, and the 366-day limit counts days, not 24-hour blocks.
func TestParseStatsPeriodCalendarDays(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	from, to, loc, err := helpdesk.ParseStatsPeriod("2026-03-08", "2026-03-08", "America/New_York", now)
	if err != nil || loc.String() != "America/New_York" ||
		!from.Equal(time.Date(2026, 3, 8, 0, 0, 0, 0, ny)) || to.Sub(from) != 23*time.Hour {
		t.Errorf("DST day = %v – %v (%v), %v; want 23 hours from local midnight", from, to, to.Sub(from), err)
	}
	if _, _, _, err := helpdesk.ParseStatsPeriod("2025-03-08", "2026-03-08", "America/New_York", now); err != nil {
		t.Errorf("366 calendar days across a DST change refused: %v", err)
	}
	_, _, _, err = helpdesk.ParseStatsPeriod("2025-03-07", "2026-03-08", "America/New_York", now)
	var he *helpdesk.Error
	if !errors.As(err, &he) || he.Code != helpdesk.CodeValidation || he.Fields["to"] == "" {
		t.Errorf("367 days: %v, want validation_failed on to", err)
	}
	// Only to: the period is that day; only an instant as to: from its
	// day's midnight.
	from, to, _, err = helpdesk.ParseStatsPeriod("", "2026-03-10T15:04:05Z", "UTC", now)
	if err != nil || !from.Equal(time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)) || !to.Equal(time.Date(2026, 3, 10, 15, 4, 5, 0, time.UTC)) {
		t.Errorf("only to = %v – %v, %v", from, to, err)
	}
	// 12:00Z is 21:00 in Tokyo, whose day began at 15:00Z the day before.
	from, to, _, err = helpdesk.ParseStatsPeriod("", "", "Asia/Tokyo", now)
	if err != nil || !to.Equal(now) || !from.Equal(time.Date(2026, 5, 31, 15, 0, 0, 0, time.UTC)) {
		t.Errorf("today in Tokyo = %v – %v, %v", from, to, err)
	}
}
