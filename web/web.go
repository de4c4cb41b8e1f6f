// Package web serves the dashboard. Until the React app is built into
// web/dist (a later step), it serves a small placeholder page, so the Go
// build never needs Node.
package web

import (
	_ "embed"
	"net/http"
)

//go:embed placeholder.html
var placeholder []byte

// Handler serves the dashboard's entry page for every path it is given.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(placeholder)
	})
}
