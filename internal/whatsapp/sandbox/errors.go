package sandbox

import (
	"errors"
	"fmt"
	"net/http"
)

// Errors of the customer-side and control methods.
var (
	// ErrNoWebhookURL: no webhook URL is configured (Options.WebhookURL or
	// SetWebhookURL).
	ErrNoWebhookURL = errors.New("sandbox: no webhook URL")
	// ErrNotAcknowledged: the receiver answered something other than 200;
	// the sandbox keeps redelivering in the background, as Meta does.
	ErrNotAcknowledged = errors.New("sandbox: webhook not acknowledged")
	// ErrUnknownMessage: EmitStatus was given a wamid the sandbox never
	// answered to a send call.
	ErrUnknownMessage = errors.New("sandbox: unknown message")
)

// codeInfo is the title and default details of a Graph error code, from
// Meta's error-code reference (§8).
type codeInfo struct{ title, details string }

var codes = map[int]codeInfo{
	0:      {"AuthException", "We were unable to authenticate the app user."},
	1:      {"API Unknown", "Invalid request or possible server error."},
	2:      {"API Service", "Temporary due to downtime or due to being overloaded."},
	4:      {"API Too Many Calls", "The app has reached its API call rate limit."},
	10:     {"Permission Denied", "Permission is either not granted or has been removed."},
	100:    {"Invalid parameter", "The request included one or more unsupported or misspelled parameters."},
	190:    {"Access token has expired", "Your access token has expired."},
	200:    {"API Permission", "Permission is either not granted or has been removed."},
	368:    {"Temporarily blocked for policies violations", "The WhatsApp Business Account associated with the app has been restricted or disabled for violating a platform policy."},
	2500:   {"Unknown path components", "The path of the request is not supported."},
	80007:  {"Rate limit issues", "The WhatsApp Business Account has reached its rate limit."},
	130429: {"Rate limit hit", "Cloud API message throughput has been reached."},
	130497: {"Business account is restricted from messaging users in this country", "The business is restricted from messaging users in this country."},
	131000: {"Something went wrong", "Message failed to send due to an unknown error."},
	131005: {"Access denied", "Permission is either not granted or has been removed."},
	131008: {"Required parameter is missing", "The request is missing a required parameter."},
	131009: {"Parameter value is not valid", "One or more parameter values are invalid."},
	131016: {"Service unavailable", "A service is temporarily unavailable."},
	131021: {"Recipient cannot be sender", "Sender and recipient phone number is the same."},
	131026: {"Message Undeliverable", "Unable to deliver message."},
	131030: {"Recipient phone number not in allowed list", "Recipient phone number not in allowed list."},
	131031: {"Business Account locked", "The Business Account has been locked."},
	131042: {"Business eligibility payment issue", "There was an error related to your payment method."},
	131045: {"Incorrect certificate", "Message failed to send due to a phone number registration error."},
	131047: {"Re-engagement message", "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
	131048: {"Spam rate limit hit", "Message failed to send because there are restrictions on how many messages can be sent from this phone number."},
	131049: {"This message was not delivered to maintain healthy ecosystem engagement.", "Meta chose not to deliver this message."},
	131050: {"User has stopped marketing messages", "The user has stopped marketing messages from this business."},
	131051: {"Message type unknown", "Message type is currently not supported."},
	131052: {"Media download error", "Unable to download the media sent by the user."},
	131053: {"Media upload error", "Unable to upload the media used in the message."},
	131056: {"(Business Account, Consumer Account) pair rate limit hit", "Too many messages sent from the sender phone number to the same recipient phone number in a short period of time."},
	131057: {"Account in maintenance mode", "Business Account is in maintenance mode."},
	132000: {"Number of parameters does not match the expected number of params", "The number of variable parameter values does not match the number of variables defined in the template."},
	132001: {"Template does not exist", "The template does not exist in the specified language or the template has not been approved."},
	132005: {"Template Hydrated Text Too Long", "Translated text is too long."},
	132007: {"Template Format Character Policy Violated", "Template content violates a WhatsApp policy."},
	132012: {"Template Parameter Format Mismatch", "Variable parameter values formatted incorrectly."},
	132015: {"Template is Paused", "Template is paused due to low quality so it cannot be sent in a template message."},
	132016: {"Template is Disabled", "Template has been paused too many times due to low quality and is now permanently disabled."},
	133004: {"Server Temporarily Unavailable", "Server is temporarily unavailable."},
	133010: {"Phone number Not Registered", "Phone number not registered on the WhatsApp Business Platform."},
}

// errorHref is the link Meta puts in asynchronous error objects.
const errorHref = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

// ErrorObject returns the error object Meta puts in statuses[].errors,
// messages[].errors and value.errors (§5, §8):
// {code, title, message (= title), error_data:{details}, href}. details ""
// uses the code's default text; an unknown code gets a generic title.
func ErrorObject(code int, details string) map[string]any {
	info := lookupCode(code)
	if details == "" {
		details = info.details
	}
	return map[string]any{
		"code": code, "title": info.title, "message": info.title,
		"error_data": map[string]any{"details": details}, "href": errorHref,
	}
}

func lookupCode(code int) codeInfo {
	if info, ok := codes[code]; ok {
		return info
	}
	return codeInfo{"Error", fmt.Sprintf("Error %d.", code)}
}

// graphError is a synchronous Graph API error (§8).
type graphError struct {
	status  int // HTTP status
	code    int
	subcode int
	typ     string // "" → OAuthException
	message string // "" → "(#code) title"
	details string // "" → omit error_data
}

func (e *graphError) Error() string { return fmt.Sprintf("graph error %d: %s", e.code, e.details) }

// body renders Meta's envelope with a fresh fbtrace_id.
func (e *graphError) body() map[string]any {
	typ := e.typ
	if typ == "" {
		typ = "OAuthException"
	}
	msg := e.message
	if msg == "" {
		msg = fmt.Sprintf("(#%d) %s", e.code, lookupCode(e.code).title)
	}
	out := map[string]any{"message": msg, "type": typ, "code": e.code, "fbtrace_id": newTraceID()}
	if e.details != "" {
		out["error_data"] = map[string]any{"messaging_product": "whatsapp", "details": e.details}
	}
	if e.subcode != 0 {
		out["error_subcode"] = e.subcode
	}
	return map[string]any{"error": out}
}

// newGraphError builds the usual 400 error for code with details.
func newGraphError(code int, format string, args ...any) *graphError {
	return &graphError{status: http.StatusBadRequest, code: code, details: fmt.Sprintf(format, args...)}
}

// invalidParam is code 100 for a schema problem (missing, wrong type, too
// long, unknown value), worded like Meta's.
func invalidParam(format string, args ...any) *graphError {
	return newGraphError(100, format, args...)
}

// invalidValue is code 131009 for a well-formed but unacceptable value.
func invalidValue(format string, args ...any) *graphError {
	return newGraphError(131009, format, args...)
}

// unknownObject is what Graph answers for an id it does not know, or that
// does not support the call (code 100, subcode 33).
func unknownObject(method, id string) *graphError {
	return &graphError{status: http.StatusBadRequest, code: 100, subcode: 33, typ: "GraphMethodException",
		message: fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, "+
			"or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api", method, id)}
}

// errUnauthorized is code 190 (HTTP 401) for a missing or wrong token.
var errUnauthorized = &graphError{status: http.StatusUnauthorized, code: 190,
	message: "Invalid OAuth access token - Cannot parse access token"}
