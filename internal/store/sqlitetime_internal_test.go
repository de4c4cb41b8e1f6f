package store

import (
	"math/rand/v2"
	"testing"
	"time"
)

// formatUTC must write exactly what time.Format writes with both layouts
// batchValue uses: SQL compares the stored text.
func TestFormatUTCMatchesFormat(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	times := []time.Time{time.Unix(0, 0), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(812, 3, 4, 5, 6, 7, 100, time.UTC), time.Date(2026, 11, 29, 12, 0, 0, 0, time.FixedZone("BRT", -3*3600))}
	for i := 0; i < 20000; i++ {
		at := time.Unix(rng.Int64N(4102444800), rng.Int64N(1e9)).UTC()
		switch i % 4 {
		case 0:
			at = at.Truncate(time.Millisecond)
		case 1:
			at = at.Truncate(time.Second)
		case 2:
			at = at.Truncate(10 * time.Millisecond)
		}
		times = append(times, at)
	}
	for _, at := range times {
		for _, f := range []struct {
			sep          byte
			zone, layout string
		}{{' ', "+00:00", "2006-01-02 15:04:05.999999999-07:00"}, {'T', "Z", time.RFC3339Nano}} {
			if got, want := formatUTC(at, f.sep, f.zone, f.layout), at.Format(f.layout); got != want {
				t.Fatalf("formatUTC(%v) = %q, want %q", at, got, want)
			}
		}
	}
}

// The fast path must read exactly what the driver writes and what
// time.Parse reads, and refuse (to the slow path) what it does not know.
func TestParseSQLiteTimeMatchesTimeParse(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	zones := []*time.Location{time.UTC, time.FixedZone("BRT", -3*3600), time.FixedZone("IST", 5*3600+30*60)}
	for i := 0; i < 20000; i++ {
		want := time.Unix(rng.Int64N(4102444800), rng.Int64N(1e9)).In(zones[i%len(zones)])
		switch i % 3 {
		case 0:
			want = want.Truncate(time.Millisecond) // what the store writes
		case 1:
			want = want.Truncate(time.Second)
		}
		for _, layout := range []string{sqliteTimeLayouts[0], "2006-01-02 15:04:05.999999999Z07:00"} {
			s := want.Format(layout)
			got, err := parseSQLiteTime(s)
			if err != nil || !got.Equal(want) {
				t.Fatalf("parseSQLiteTime(%q) = %v, %v; want %v", s, got, err, want)
			}
			if _, ok := parseStoreTime(s); !ok {
				t.Fatalf("%q took the slow path", s)
			}
		}
	}
}

func TestParseSQLiteTimeOtherForms(t *testing.T) {
	cases := map[string]time.Time{
		"2026-11-29T12:45:02.5+01:00":                       time.Date(2026, 11, 29, 11, 45, 2, 5e8, time.UTC),
		"2026-11-29 12:45:02":                               time.Date(2026, 11, 29, 12, 45, 2, 0, time.UTC),
		"2026-11-29T12:45:02.123Z":                          time.Date(2026, 11, 29, 12, 45, 2, 123e6, time.UTC),
		"2026-11-29 12:45":                                  time.Date(2026, 11, 29, 12, 45, 0, 0, time.UTC),
		"2026-11-29":                                        time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC),
		"2024-02-29 00:00:00+00:00":                         time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		"2026-11-29 09:45:02.5 -0300 -03":                   time.Date(2026, 11, 29, 12, 45, 2, 5e8, time.UTC),
		"2026-11-29 12:45:02.123456789 +0000 UTC m=+0.0123": time.Date(2026, 11, 29, 12, 45, 2, 123456789, time.UTC),
		"0000-01-01 00:00:00+00:00":                         time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		"0000-02-29 23:59:59Z":                              time.Date(0, 2, 29, 23, 59, 59, 0, time.UTC),
		"0001-01-01 00:00:00+00:00":                         {},
	}
	for s, want := range cases {
		got, err := parseSQLiteTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseSQLiteTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "yesterday", "2026-13-01 00:00:00+00:00", "2023-02-29 00:00:00+00:00",
		"2026-11-29 24:00:00+00:00", "2026-11-29 12:45:02.+00:00", "2026-11-29 12:45:02+0000",
		"2026-11-29 12:45:02+25:00", "2026-11-29 1a:45:02Z"} {
		if got, err := parseSQLiteTime(s); err == nil {
			t.Errorf("parseSQLiteTime(%q) = %v, want an error", s, got)
		}
	}
}

func FuzzParseSQLiteTime(f *testing.F) {
	for _, s := range []string{"2026-11-29 12:45:02.123+00:00", "2026-11-29 12:45:02Z", "2026-11-29 12:45:02.123456789-03:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseStoreTime(s)
		if !ok {
			return
		}
		// Whatever the fast path accepts, time.Parse reads the same way.
		want, err := time.Parse("2006-01-02 15:04:05.999999999Z07:00", s)
		if err != nil || !got.Equal(want) {
			t.Fatalf("parseStoreTime(%q) = %v; time.Parse = %v, %v", s, got, want, err)
		}
	})
}

func BenchmarkParseSQLiteTime(b *testing.B) {
	s := time.Date(2026, 11, 29, 12, 45, 2, 123e6, time.UTC).Format(sqliteTimeLayouts[0])
	for b.Loop() {
		if _, err := parseSQLiteTime(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTimeParseStoreLayout(b *testing.B) {
	s := time.Date(2026, 11, 29, 12, 45, 2, 123e6, time.UTC).Format(sqliteTimeLayouts[0])
	for b.Loop() {
		if _, err := time.Parse(sqliteTimeLayouts[0], s); err != nil {
			b.Fatal(err)
		}
	}
}
