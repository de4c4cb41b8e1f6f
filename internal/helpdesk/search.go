package helpdesk

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Fold is the form text is searched in: lower case, accents removed, so
// "nao consigo" finds "Não consigo". The store applies the same folding on
// its side (a registered function on SQLite, unaccent on PostgreSQL).
func Fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.ToLower(out)
}

// SearchTerms splits a search into folded words (letters and digits only,
// so they are safe in any full-text query syntax), at most 8 of them.
func SearchTerms(q string) []string {
	words := strings.FieldsFunc(Fold(q), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) > 8 {
		words = words[:8]
	}
	return words
}

// SearchDigits returns the digits of q when q looks like a phone fragment
// (at least 3 digits and nothing but digits, spaces and + - ( ) .), else "".
func SearchDigits(q string) string {
	var b strings.Builder
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case strings.ContainsRune(" +-().", r):
		default:
			return ""
		}
	}
	if b.Len() < 3 {
		return ""
	}
	return b.String()
}
