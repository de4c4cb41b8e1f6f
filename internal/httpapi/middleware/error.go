package middleware

import (
	"encoding/json"
	"net/http"
)

// errorBody is the envelope of every error response of the API.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	RequestID string            `json:"requestId,omitempty"`
	Fields    map[string]string `json:"fields,omitempty"`
}

// WriteError writes status and the API's one error shape,
//
//	{"error":{"code":code,"message":message,"requestId":…,"fields":fields}}
//
// with content-type application/json; charset=utf-8. requestId is taken from
// r's context (see RequestID) and omitted when unknown or when r is nil;
// fields is omitted when empty. Headers already set on w (Retry-After, …) are
// kept. It must be called before anything else has been written to w.
func WriteError(w http.ResponseWriter, r *http.Request, status int, code, message string, fields map[string]string) {
	body := errorBody{Error: errorDetail{Code: code, Message: message, Fields: fields}}
	if r != nil {
		body.Error.RequestID = RequestIDFrom(r.Context())
	}
	// Marshalling a struct of strings cannot fail.
	b, _ := json.Marshal(body)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
