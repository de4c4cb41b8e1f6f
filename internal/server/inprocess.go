package server

import (
	"io"
	"net/http"
	"net/http/httptest"
)

// handlerTransport carries HTTP requests to a handler in this process,
// without a socket: the built-in sandbox and the server talk to each other
// this way, so sandbox mode needs no port of its own. The handler sees a
// complete request and its full response is buffered, as over a network.
type handlerTransport struct{ handler func() http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	// Read the body first: the handler runs in this goroutine.
	if r.Body != nil {
		defer r.Body.Close()
	}
	rec := httptest.NewRecorder()
	req := r.Clone(r.Context())
	req.RequestURI = r.URL.RequestURI()
	req.RemoteAddr = "127.0.0.1:0"
	t.handler().ServeHTTP(rec, req)
	res := rec.Result()
	res.Request = r
	if res.Body == nil {
		res.Body = io.NopCloser(nil)
	}
	return res, nil
}
