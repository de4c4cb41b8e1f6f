package middleware

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// TextURL refuses requests whose decoded path or query parameters hold NUL
// bytes or invalid UTF-8 (…?q=%00, /users/%FF): no route means anything by
// them, and PostgreSQL cannot even compare them with a text column, so
// letting them through turns a typo or a probe into a 500. The path answers
// 400 bad_request; a query parameter 400 validation_failed naming it.
func TextURL(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !validText(r.URL.Path) {
			WriteError(w, r, http.StatusBadRequest, helpdesk.CodeBadRequest, "the URL path is not valid UTF-8 text", nil)
			return
		}
		if r.URL.RawQuery != "" {
			fields := map[string]string{}
			for name, values := range r.URL.Query() {
				for _, v := range values {
					if !validText(name) || !validText(v) {
						fields[strings.ToValidUTF8(strings.ReplaceAll(name, "\x00", ""), "\uFFFD")] = "must be UTF-8 text without NUL characters"
					}
				}
			}
			if len(fields) > 0 {
				WriteError(w, r, http.StatusBadRequest, helpdesk.CodeValidation, "some query parameters are invalid", fields)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func validText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}
