package whatsapp

import (
	"bytes"
	"unicode/utf8"
)

// SanitizeJSON returns body with the string escapes no database can keep
// taken out: \u0000 is dropped (PostgreSQL's text and JSONB refuse NUL) and
// an unpaired UTF-16 surrogate escape (\ud800 alone) becomes \ufffd, the
// replacement character (JSONB refuses those too). Raw NUL bytes and
// invalid UTF-8 cannot occur in a body that parses as JSON text the
// handler accepted, but any found are dropped or replaced as well. Escapes
// are recognised only inside strings, after an odd run of backslashes, so
// "\\u0000" (a backslash, then the text u0000) is left alone. Everything
// else is returned byte for byte; body itself is never modified, and when
// nothing needs changing body is returned as is.
//
// A customer can type anything, and a body we cannot store would be
// refused on every one of Meta's redeliveries for a week: cleaning it
// keeps the message.
func SanitizeJSON(body []byte) []byte {
	if !needsSanitizing(body) {
		return body
	}
	out := make([]byte, 0, len(body))
	inString := false
	for i := 0; i < len(body); {
		c := body[i]
		switch {
		case c == 0:
			i++
			continue
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size == 1 {
				out = append(out, "\uFFFD"...)
			} else {
				out = append(out, body[i:i+size]...)
			}
			i += size
			continue
		case c == '"':
			inString = !inString
		case c == '\\' && inString && i+1 < len(body):
			if body[i+1] != 'u' {
				out = append(out, c, body[i+1])
				i += 2
				continue
			}
			r, ok := hex4(body, i+2)
			if !ok {
				break // not a valid escape; the JSON parser reports it
			}
			switch {
			case r == 0:
				i += 6
				continue
			case r >= 0xD800 && r < 0xDC00:
				if lo, ok := hex4(body, i+8); ok && body[i+6] == '\\' && body[i+7] == 'u' && lo >= 0xDC00 && lo < 0xE000 {
					out = append(out, body[i:i+12]...)
					i += 12
					continue
				}
				out = append(out, `\ufffd`...)
				i += 6
				continue
			case r >= 0xDC00 && r < 0xE000:
				out = append(out, `\ufffd`...)
				i += 6
				continue
			}
			out = append(out, body[i:i+6]...)
			i += 6
			continue
		}
		out = append(out, c)
		i++
	}
	return out
}

// needsSanitizing is SanitizeJSON's fast path: most bodies hold no NUL,
// no surrogate escape and no invalid UTF-8.
func needsSanitizing(body []byte) bool {
	if bytes.IndexByte(body, 0) >= 0 || !utf8.Valid(body) {
		return true
	}
	for i := 0; ; {
		j := bytes.Index(body[i:], []byte(`\u`))
		if j < 0 {
			return false
		}
		i += j + 2
		if r, ok := hex4(body, i); ok && (r == 0 || (r >= 0xD800 && r < 0xE000)) {
			return true
		}
	}
}

// hex4 reads the four hex digits at body[i:i+4].
func hex4(body []byte, i int) (rune, bool) {
	if i < 0 || i+4 > len(body) {
		return 0, false
	}
	var r rune
	for _, c := range body[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
