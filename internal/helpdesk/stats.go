package helpdesk

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// MaxStatsPeriod bounds a stats period, so one dashboard request cannot
// make the database walk years of conversations and messages.
const MaxStatsPeriod = 366 // days

// ClosedGroup is the conversations closed in a period that share an
// assignee and a satisfaction score.
type ClosedGroup struct {
	AssigneeID   string // "" when it closed unassigned
	AssigneeName string
	CSATScore    int // 0: not rated
	Count        int
	// HandleMillis is the sum of created→closed over the group, each
	// conversation counted as at least zero.
	HandleMillis int64
}

// PeriodCounts are the raw figures of a period, from PeriodStatsStore.
type PeriodCounts struct {
	Opened   int // conversations created in the period
	Received int // inbound messages
	Sent     int // outbound messages
	Closed   []ClosedGroup
}

// PeriodStatsStore reads a period's figures. Both bounds are instants
// (from inclusive, to exclusive).
type PeriodStatsStore interface {
	PeriodCounts(ctx context.Context, from, to time.Time) (PeriodCounts, error)
}

// AgentStats are one assignee's figures over the period's closed
// conversations.
type AgentStats struct {
	UserID            string
	Name              string
	Closed            int
	AverageHandleTime time.Duration
	CSATResponses     int
	CSATAverage       float64 // 0 without responses
}

// PeriodStats are the figures of a period: what was opened, closed
// (handle time, satisfaction, per agent) and exchanged between From and To.
type PeriodStats struct {
	From, To          time.Time // To exclusive
	Location          *time.Location
	Opened, Closed    int
	AverageHandleTime time.Duration // created→closed, as Stats
	Received, Sent    int
	CSATResponses     int
	CSATAverage       float64
	CSATDistribution  [5]int // [0] counts the 1s
	Agents            []AgentStats
}

// StartOfDay is the first instant of the calendar day of y, m, d in loc
// (normalised as time.Date does). Where daylight saving starts at midnight
// (Chile, Cuba, Brazil until 2019) that day has no 00:00: time.Date then
// gives 23:00 of the day before, and the day starts at the change instead.
func StartOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	want := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	t := time.Date(want.Year(), want.Month(), want.Day(), 0, 0, 0, 0, loc)
	if t.Day() != want.Day() {
		_, t = t.ZoneBounds()
	}
	return t
}

// ParseStatsPeriod reads a period from its query parameters. from and to
// are RFC 3339 instants or YYYY-MM-DD dates in tz; a date as to includes
// that whole day. Without from the period starts at the midnight of the
// day it ends in; without to it ends now. tz is an IANA zone name, the
// server's zone when empty.
func ParseStatsPeriod(from, to, tz string, now time.Time) (time.Time, time.Time, *time.Location, error) {
	fields := map[string]string{}
	loc := time.Local
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil || tz == "Local" {
			return time.Time{}, time.Time{}, nil, ValidationError(map[string]string{"tz": "must be an IANA time zone name, such as America/Sao_Paulo"})
		}
		loc = l
	}
	parse := func(name, s string) (t time.Time, date bool) {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, false
		}
		if d, err := time.Parse(time.DateOnly, s); err == nil {
			return StartOfDay(d.Year(), d.Month(), d.Day(), loc), true
		}
		fields[name] = "must be an RFC 3339 time or a YYYY-MM-DD date"
		return time.Time{}, false
	}
	end, start, toDate := now, time.Time{}, false
	if to != "" {
		t, date := parse("to", to)
		if end, toDate = t, date; date {
			day := t.In(loc)
			end = StartOfDay(day.Year(), day.Month(), day.Day()+1, loc)
			start = t
		}
	}
	if from != "" {
		start, _ = parse("from", from)
	} else if start.IsZero() {
		local := end.In(loc)
		start = StartOfDay(local.Year(), local.Month(), local.Day(), loc)
	}
	if len(fields) > 0 {
		return time.Time{}, time.Time{}, nil, ValidationError(fields)
	}
	switch {
	case start.Year() < 1 || end.UTC().Year() > 9999 || end.In(loc).Year() > 9999:
		fields["to"] = "the period must lie between the years 1 and 9999"
	// A date as to is a whole day, which cannot end where the period
	// starts: to=2026-03-09 with from=2026-03-10 is backwards, not empty.
	case end.Before(start) || toDate && !end.After(start):
		fields["to"] = "must not be before from"
	case end.After(start.In(loc).AddDate(0, 0, MaxStatsPeriod)):
		fields["to"] = fmt.Sprintf("the period must not exceed %d days", MaxStatsPeriod)
	}
	if len(fields) > 0 {
		return time.Time{}, time.Time{}, nil, ValidationError(fields)
	}
	return start, end, loc, nil
}

// PeriodStats computes the figures of [from, to). Satisfaction and the
// per-agent figures are those of the conversations closed in the period.
func (s *Service) PeriodStats(ctx context.Context, from, to time.Time, loc *time.Location) (PeriodStats, error) {
	c, err := s.store.PeriodCounts(ctx, from, to)
	if err != nil {
		return PeriodStats{}, fmt.Errorf("period stats: %w", err)
	}
	out := PeriodStats{From: from, To: to, Location: loc, Opened: c.Opened, Received: c.Received, Sent: c.Sent}
	type acc struct {
		AgentStats
		handle, csatSum int64
	}
	agents := map[string]*acc{}
	var handle, csatSum int64
	for _, g := range c.Closed {
		out.Closed += g.Count
		handle += g.HandleMillis
		if g.CSATScore >= 1 && g.CSATScore <= 5 {
			out.CSATResponses += g.Count
			out.CSATDistribution[g.CSATScore-1] += g.Count
			csatSum += int64(g.CSATScore * g.Count)
		}
		if g.AssigneeID == "" {
			continue
		}
		a := agents[g.AssigneeID]
		if a == nil {
			a = &acc{AgentStats: AgentStats{UserID: g.AssigneeID, Name: g.AssigneeName}}
			agents[g.AssigneeID] = a
		}
		a.Closed += g.Count
		a.handle += g.HandleMillis
		if g.CSATScore >= 1 && g.CSATScore <= 5 {
			a.CSATResponses += g.Count
			a.csatSum += int64(g.CSATScore * g.Count)
		}
	}
	if out.Closed > 0 {
		out.AverageHandleTime = time.Duration(handle/int64(out.Closed)) * time.Millisecond
	}
	if out.CSATResponses > 0 {
		out.CSATAverage = float64(csatSum) / float64(out.CSATResponses)
	}
	out.Agents = make([]AgentStats, 0, len(agents))
	for _, a := range agents {
		a.AverageHandleTime = time.Duration(a.handle/int64(a.Closed)) * time.Millisecond
		if a.CSATResponses > 0 {
			a.CSATAverage = float64(a.csatSum) / float64(a.CSATResponses)
		}
		out.Agents = append(out.Agents, a.AgentStats)
	}
	// Most closed first; the id settles ties so the order is stable.
	sort.Slice(out.Agents, func(i, j int) bool {
		x, y := out.Agents[i], out.Agents[j]
		if x.Closed != y.Closed {
			return x.Closed > y.Closed
		}
		return x.UserID < y.UserID
	})
	return out, nil
}

// StatsPeriod is ParseStatsPeriod on the service's clock.
func (s *Service) StatsPeriod(from, to, tz string) (time.Time, time.Time, *time.Location, error) {
	return ParseStatsPeriod(from, to, tz, s.now())
}
