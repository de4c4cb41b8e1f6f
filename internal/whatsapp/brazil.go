package whatsapp

// BrazilianMobileVariants returns the wa_id spellings under which one
// Brazilian mobile may be known, the input first.
//
// Brazilian mobiles are 55 + a two-digit area code (DDD, digits 1–9) + 9 + 8
// digits. WhatsApp accounts created before the ninth digit was added may
// still have a wa_id without it (55 + DDD + 8 digits), and Meta keeps the
// wa_id it has, so a customer can write from one spelling while we hold the
// other. Only numbers that existed before the change have an old form, and
// those 8-digit mobiles started with 6, 7, 8 or 9, so:
//
//   - "55" + DDD + "9" + [6-9] + 7 digits → also the form without the 9;
//   - "55" + DDD + [6-9] + 7 digits → also the form with the 9;
//   - anything else → just the input: other countries, landlines (8 digits
//     starting 2–5 after the DDD), 9-digit mobiles whose next digit is not
//     6–9 (they never had an 8-digit form, and dropping their 9 could name
//     a landline, i.e. somebody else), and anything that is not all digits.
//
// Use the variants to find an existing customer; never rewrite the wa_id
// Meta sent (§ conventions: key customers on wa_id as received).
func BrazilianMobileVariants(waID string) []string {
	if !allDigits(waID) || len(waID) < 12 || waID[:2] != "55" || !isDDD(waID[2:4]) {
		return []string{waID}
	}
	local := waID[4:]
	switch {
	case len(local) == 9 && local[0] == '9' && legacyMobileStart(local[1]):
		return []string{waID, waID[:4] + local[1:]}
	case len(local) == 8 && legacyMobileStart(local[0]):
		return []string{waID, waID[:4] + "9" + local}
	}
	return []string{waID}
}

// isDDD reports whether s is a possible Brazilian area code: two digits, none
// of them 0 (area codes run 11–99 and none ends in 0).
func isDDD(s string) bool {
	return len(s) == 2 && s[0] >= '1' && s[0] <= '9' && s[1] >= '1' && s[1] <= '9'
}

// legacyMobileStart reports whether c can start an 8-digit Brazilian mobile
// from before the ninth digit (landlines start 2–5).
func legacyMobileStart(c byte) bool {
	return c >= '6' && c <= '9'
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
