package sandbox

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
)

// newWAMID returns a message id shaped like Meta's: "wamid." + standard
// base64 of a small binary record holding the customer's number, the
// direction and a random hex id, e.g.
// wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjFBMkIzQzRENUU2RjcwODE5MgA=
// (outbound ids carry 18 hex digits, inbound ones 20, as Meta's do).
func newWAMID(waID string, inbound bool) string {
	if len(waID) > 32 {
		waID = waID[:32]
	}
	n, dir := 18, byte(0x11)
	if inbound {
		n, dir = 20, 0x12
	}
	b := make([]byte, 0, 12+len(waID)+n)
	b = append(b, 0x1c, 0x18, byte(len(waID)))
	b = append(b, waID...)
	b = append(b, 0x15, 0x02, 0x00, dir, 0x18, byte(n))
	b = append(b, randomFrom("0123456789ABCDEF", n)...)
	b = append(b, 0x00)
	return "wamid." + base64.StdEncoding.EncodeToString(b)
}

// newDigits returns n random digits without a leading zero, the shape of
// Meta's media, template and object ids.
func newDigits(n int) string {
	return randomFrom("123456789", 1) + randomFrom("0123456789", n-1)
}

// newTraceID returns a random fbtrace_id (23 alphanumerics).
func newTraceID() string {
	return "A" + randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 22)
}

// randomFrom returns n characters drawn uniformly from alphabet.
func randomFrom(alphabet string, n int) string {
	if n <= 0 {
		return ""
	}
	var sb strings.Builder
	sb.Grow(n)
	buf := make([]byte, 1)
	limit := 256 - 256%len(alphabet) // rejection sampling keeps it uniform
	for sb.Len() < n {
		_, _ = rand.Read(buf)
		if int(buf[0]) >= limit {
			continue
		}
		sb.WriteByte(alphabet[int(buf[0])%len(alphabet)])
	}
	return sb.String()
}

// digits keeps only the ASCII digits of s.
func digits(s string) string {
	var sb strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			sb.WriteRune(r)
		}
	}
	return sb.String()
}
