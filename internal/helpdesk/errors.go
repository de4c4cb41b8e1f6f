package helpdesk

import (
	"errors"
	"fmt"
)

// Error codes shared with the API. httpapi maps each to one HTTP status.
const (
	CodeValidation             = "validation_failed"        // 400
	CodeBadRequest             = "bad_request"              // 400
	CodeUnauthorized           = "unauthorized"             // 401
	CodeInvalidCredentials     = "invalid_credentials"      // 401
	CodeInvalidToken           = "invalid_token"            // 401
	CodeForbidden              = "forbidden"                // 403
	CodePasswordChangeRequired = "password_change_required" // 403
	CodeNotFound               = "not_found"                // 404
	CodeConflict               = "conflict"                 // 409
	CodeEmailTaken             = "email_taken"              // 409
	CodeTooLarge               = "payload_too_large"        // 413
	CodeUnsupportedMediaType   = "unsupported_media_type"   // 415
	CodeUnprocessable          = "unprocessable"            // 422
	CodeRateLimited            = "rate_limited"             // 429
	CodeInternal               = "internal_error"           // 500
	CodeUnavailable            = "unavailable"              // 503: shutting down, retry
)

// Error is a failure that is safe to show to an API caller: Message is
// written for a person, Fields names per-field problems (may be nil).
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%s: %s %v", e.Code, e.Message, e.Fields)
}

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ValidationError reports per-field problems.
func ValidationError(fields map[string]string) *Error {
	return &Error{Code: CodeValidation, Message: "some fields are invalid", Fields: fields}
}

// ErrorCode returns the code of err when it is (or wraps) an *Error, and ""
// otherwise.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// ErrNotFound and ErrConflict are what a Store returns for a missing row and
// for a uniqueness or state race it lost; services translate them into
// *Error values with a message fit for the caller.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)
