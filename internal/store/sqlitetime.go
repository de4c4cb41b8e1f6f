package store

import (
	"fmt"
	"strings"
	"time"
)

// sqliteTimeLayouts are the forms a timestamp can have in a SQLite
// database, the store's own first (the driver writes times with
// _time_format=sqlite); the same list modernc's driver reads.
var sqliteTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseSQLiteTime reads a timestamp stored as text in SQLite. The store's
// layout (2006-01-02 15:04:05.999999999-07:00, or Z for UTC) is read
// directly; anything else goes through time.Parse with the layouts the
// driver accepts.
func parseSQLiteTime(s string) (time.Time, error) {
	if t, ok := parseStoreTime(s); ok {
		return t, nil
	}
	// Go's time.String form, which the driver wrote before the store set
	// _time_format (with a monotonic clock reading when there was one).
	if t, err := time.Parse("2006-01-02 15:04:05.999999999 -0700 MST", strings.TrimSpace(strings.Split(s, " m=")[0])); err == nil {
		return t, nil
	}
	ts, z := strings.CutSuffix(s, "Z")
	for _, layout := range sqliteTimeLayouts {
		if z && strings.HasSuffix(layout, "-07:00") {
			continue // a Z suffix stands for the zone
		}
		if t, err := time.Parse(layout, ts); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("scan time: %q is not a timestamp", s)
}

// parseStoreTime reads "YYYY-MM-DD HH:MM:SS[.fraction](±HH:MM|Z)"; ok is
// false for any other text, which parseSQLiteTime then tries to read
// slowly.
func parseStoreTime(s string) (time.Time, bool) {
	if len(s) < len("2006-01-02 15:04:05Z") || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(time.Month(month), year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest, nsec := s[19:], 0
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || n > 10 {
			return time.Time{}, false
		}
		frac, _ := digits(rest[1:n])
		for i := n; i < 10; i++ {
			frac *= 10
		}
		rest, nsec = rest[n:], frac
	}
	offset := 0
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, okh := digits(rest[1:3])
		om, okm := digits(rest[4:6])
		if !okh || !okm || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	secs := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec-offset)
	return time.Unix(secs, int64(nsec)).UTC(), true
}

// digits reads a run of ASCII digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

var monthDays = [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func daysIn(m time.Month, year int) int {
	if m == time.February && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		return 29
	}
	return monthDays[m]
}

// daysSinceEpoch counts the days from 1970-01-01 to a proleptic Gregorian
// date (Howard Hinnant's days_from_civil), so a time needs no time.Date.
func daysSinceEpoch(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	// Floor division: January and February of year 0000 count in year -1.
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097 + doe - 719468)
}

// formatUTC is t.Format(layout) for the two layouts batchValue writes, a
// date, sep, a clock with the fraction's trailing zeros trimmed, and zone,
// for a UTC time of a four-digit year. It is written out because
// time.Format interprets its layout on every call: a few timestamps per
// message cost the commit lane more than the rest of their binding.
func formatUTC(t time.Time, sep byte, zone, layout string) string {
	year, month, day := t.Date()
	if t.Location() != time.UTC || year < 0 || year > 9999 {
		return t.Format(layout)
	}
	hour, minute, sec := t.Clock()
	b := make([]byte, 0, len("2006-01-02 15:04:05.999999999+00:00"))
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, sep)
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	if ns := t.Nanosecond(); ns != 0 {
		var frac [9]byte
		for i := len(frac) - 1; i >= 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := len(frac)
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, '.')
		b = append(b, frac[:n]...)
	}
	return string(append(b, zone...))
}

// appendDigits appends v, zero-padded to width digits.
func appendDigits(b []byte, v, width int) []byte {
	var buf [4]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, buf[:width]...)
}
