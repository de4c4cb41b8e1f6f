package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/httpapi/middleware"
)

// statusByCode is the one table mapping error codes to HTTP statuses.
var statusByCode = map[string]int{
	helpdesk.CodeValidation:             http.StatusBadRequest,
	helpdesk.CodeBadRequest:             http.StatusBadRequest,
	helpdesk.CodeUnauthorized:           http.StatusUnauthorized,
	helpdesk.CodeInvalidCredentials:     http.StatusUnauthorized,
	helpdesk.CodeInvalidToken:           http.StatusUnauthorized,
	helpdesk.CodeForbidden:              http.StatusForbidden,
	helpdesk.CodePasswordChangeRequired: http.StatusForbidden,
	helpdesk.CodeNotFound:               http.StatusNotFound,
	helpdesk.CodeConflict:               http.StatusConflict,
	helpdesk.CodeEmailTaken:             http.StatusConflict,
	helpdesk.CodeAlreadyAssigned:        http.StatusConflict,
	helpdesk.CodeTooLarge:               http.StatusRequestEntityTooLarge,
	helpdesk.CodeUnsupportedMediaType:   http.StatusUnsupportedMediaType,
	helpdesk.CodeUnprocessable:          http.StatusUnprocessableEntity,
	helpdesk.CodeOutsideWindow:          http.StatusUnprocessableEntity,
	helpdesk.CodeConversationClosed:     http.StatusUnprocessableEntity,
	helpdesk.CodeChannelDisabled:        http.StatusUnprocessableEntity,
	helpdesk.CodeMediaUnavailable:       http.StatusGone,
	helpdesk.CodeRateLimited:            http.StatusTooManyRequests,
	"upstream_unavailable":              http.StatusBadGateway,
	helpdesk.CodeUnavailable:            http.StatusServiceUnavailable,
}

// handlerFunc is the shape of every API handler: it writes a success
// response itself and returns an error for anything else, which handle
// renders in the one error shape.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handlerFunc to net/http. An *helpdesk.Error becomes its
// mapped status; anything else is an internal error, logged once with the
// request id and answered without details.
func (a *API) handle(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.writeError(w, r, err)
		}
	}
}

func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *helpdesk.Error
	if errors.As(err, &e) {
		if status, ok := statusByCode[e.Code]; ok {
			middleware.WriteError(w, r, status, e.Code, e.Message, e.Fields)
			return
		}
		// A code missing from the table is our bug, not the client's: say
		// so in the log and do not blame the request with a 4xx.
		err = fmt.Errorf("error code %q has no HTTP status: %w", e.Code, err)
	}
	a.log.ErrorContext(r.Context(), "request failed", "err", err,
		slog.String("request_id", middleware.RequestIDFrom(r.Context())), slog.String("path", r.URL.Path))
	middleware.WriteError(w, r, http.StatusInternalServerError, helpdesk.CodeInternal,
		"internal error; quote request id "+middleware.RequestIDFrom(r.Context())+" when reporting it", nil)
}

func errBadRequest(msg string) error {
	return &helpdesk.Error{Code: helpdesk.CodeBadRequest, Message: msg}
}
