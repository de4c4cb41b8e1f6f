package whatsapp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Errors returned by Client besides *APIError and transport errors. Classify
// knows them all.
var (
	// ErrInvalidRequest means the call was refused before anything was sent:
	// a missing id, an OutboundMessage whose Type has no payload, a media URL
	// on a host that must not receive the token… Permanent: fix the caller.
	ErrInvalidRequest = errors.New("invalid whatsapp request")

	// ErrUnexpectedResponse means a 2xx response whose body could not be
	// understood (e.g. no wamid). Permanent, because the call may have been
	// accepted and retrying a send could deliver it twice.
	ErrUnexpectedResponse = errors.New("unexpected graph api response")

	// ErrMediaTooLarge means a download exceeded its size cap. Permanent.
	ErrMediaTooLarge = errors.New("media too large")

	// ErrChecksumMismatch means downloaded bytes did not hash to the expected
	// sha256. Transient: a fresh download may succeed.
	ErrChecksumMismatch = errors.New("media checksum mismatch")
)

// APIError is a failed Graph API call: the §8 error envelope, or a non-JSON
// HTTP failure (then Code is 0 and Message holds the start of the body or the
// status text). Branch on Code (and Details), not on HTTPStatus, Subcode or
// Title: Meta deprecates the latter.
type APIError struct {
	HTTPStatus int    // the response status, e.g. 400
	Code       int    // error.code, e.g. 131047; 0 when absent
	Subcode    int    // error.error_subcode (deprecated by Meta; for logs)
	Type       string // error.type, e.g. "OAuthException"
	Message    string // error.message, "(#code) title"
	Title      string // error.error_user_title, else Message without its "(#code) " prefix
	Details    string // error.error_data.details: the useful explanation
	FBTraceID  string // error.fbtrace_id: quote it to Meta support
	Href       string // error.href, when present

	// IsTransient is error.is_transient; Classify uses it only for codes it
	// does not know.
	IsTransient bool

	// RetryAfter is the delay asked for by a Retry-After response header
	// (seconds or an HTTP date, capped at 24 h), or 0 when there was none.
	RetryAfter time.Duration
}

// Error formats the code, message, details and trace id; it never contains
// the access token.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph api: http %d", e.HTTPStatus)
	if e.Code != 0 {
		fmt.Fprintf(&b, ", code %d", e.Code)
	}
	if e.Subcode != 0 {
		fmt.Fprintf(&b, ", subcode %d", e.Subcode)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Details != "" && e.Details != e.Message {
		b.WriteString(": ")
		b.WriteString(e.Details)
	}
	if e.FBTraceID != "" {
		fmt.Fprintf(&b, " (fbtrace_id %s)", e.FBTraceID)
	}
	return b.String()
}

// ErrorClass says what a failed call means for the caller (§8's "Class" and
// "Client action" columns).
type ErrorClass int

const (
	// Transient: retry with exponential backoff and jitter (network errors,
	// timeouts, 5xx, 131000, 131016, 131057, 1, 2, …). Retry a bounded number
	// of times, then fail the message.
	Transient ErrorClass = iota

	// Throttled: a rate limit (130429, 131056, 131048, 4, 80007, HTTP 429…).
	// Retry later, slower; see RetryAfter and MinRetryDelay. 131056 is per
	// recipient: other recipients are not affected.
	Throttled

	// Permanent: retrying the same request cannot succeed (131047 outside the
	// 24 h window, 131026 undeliverable, 100 invalid parameter, template
	// errors…). Mark the message failed with the code and details.
	Permanent

	// Unauthorized: the channel cannot send until a person fixes something
	// at Meta — the access token is invalid, expired or lacks permission
	// (190, 104, 0, 3, 10, 200–299, 131005), or the account or number is
	// blocked (368 restricted, 131031 locked, 131042 billing, 131045/133010
	// not registered). Flag the channel, alert an admin, stop sending from
	// it. The code on the *APIError tells the two kinds apart.
	Unauthorized
)

// String returns the class name in lower case.
func (c ErrorClass) String() string {
	switch c {
	case Transient:
		return "transient"
	case Throttled:
		return "throttled"
	case Permanent:
		return "permanent"
	case Unauthorized:
		return "unauthorized"
	}
	return "ErrorClass(" + strconv.Itoa(int(c)) + ")"
}

// Retryable reports whether the same call may succeed later without anyone
// fixing anything (Transient or Throttled).
func (c ErrorClass) Retryable() bool {
	return c == Transient || c == Throttled
}

// codeClasses is §8's table. Codes not listed fall back to is_transient and
// the HTTP status (see Classify).
var codeClasses = map[int]ErrorClass{
	// Rate limits. 17 (user), 32 (page) and 613 (custom) are Graph-wide
	// rate-limit codes not in the contract's table.
	4: Throttled, 17: Throttled, 32: Throttled, 613: Throttled, 80007: Throttled,
	130429: Throttled, 131056: Throttled, 131048: Throttled,

	// Temporary failures.
	1: Transient, 2: Transient, 131000: Transient, 131016: Transient,
	131057: Transient, 133004: Transient,

	// The request or the recipient is the problem.
	100: Permanent, 131008: Permanent, 131009: Permanent, 131021: Permanent,
	131026: Permanent, 131030: Permanent, 131047: Permanent, 131049: Permanent,
	131050: Permanent, 131051: Permanent, 131052: Permanent, 131053: Permanent,
	131060: Permanent, 130497: Permanent,
	132000: Permanent, 132001: Permanent, 132005: Permanent, 132007: Permanent,
	132012: Permanent, 132015: Permanent, 132016: Permanent,

	// Token and permissions (200–299 handled in classOfCode).
	3: Unauthorized, 10: Unauthorized, 104: Unauthorized, 190: Unauthorized,
	131005: Unauthorized,

	// Account-level blocks: the same action as a bad token (§8 "pause all
	// sends, alert").
	368: Unauthorized, 131031: Unauthorized, 131042: Unauthorized,
	131045: Unauthorized, 133010: Unauthorized,
}

func classOfCode(code int) (ErrorClass, bool) {
	if code >= 200 && code <= 299 {
		return Unauthorized, true
	}
	c, ok := codeClasses[code]
	return c, ok
}

// Classify decides what a failed call means:
//
//   - an *APIError with a code in §8's table gets that row's class;
//   - any other *APIError: is_transient → Transient; HTTP 429 → Throttled;
//     HTTP 5xx or 408 → Transient; HTTP 401, or 403 without a code, or code
//     0 with type OAuthException → Unauthorized; otherwise Permanent;
//   - ErrInvalidRequest, ErrUnexpectedResponse, ErrMediaTooLarge → Permanent;
//   - everything else — network errors, timeouts, a cancelled context,
//     ErrChecksumMismatch — → Transient: the request may not have reached
//     Meta, and the job runner bounds the retries.
//
// Classify(nil) returns Permanent, so a caller bug never loops.
func Classify(err error) ErrorClass {
	if err == nil {
		return Permanent
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.class()
	}
	if errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrUnexpectedResponse) || errors.Is(err, ErrMediaTooLarge) {
		return Permanent
	}
	return Transient
}

func (e *APIError) class() ErrorClass {
	if e.Code != 0 {
		if c, ok := classOfCode(e.Code); ok {
			return c
		}
	}
	switch {
	case e.IsTransient:
		return Transient
	case e.HTTPStatus == http.StatusTooManyRequests:
		return Throttled
	case e.HTTPStatus >= 500 || e.HTTPStatus == http.StatusRequestTimeout:
		return Transient
	case e.HTTPStatus == http.StatusUnauthorized,
		e.HTTPStatus == http.StatusForbidden && e.Code == 0,
		e.Code == 0 && e.Type == "OAuthException":
		return Unauthorized
	}
	return Permanent
}

// ClassifyCode classifies an asynchronous error code (Status.Errors,
// Message.Errors, Change.Errors) with the same table as Classify. Unknown
// codes and 0 are Permanent. A failed status is final for that wamid whatever
// the class: never re-send a message that already has a wamid; the class
// only says whether to flag the channel.
func ClassifyCode(code int) ErrorClass {
	if code == 0 {
		return Permanent
	}
	if c, ok := classOfCode(code); ok {
		return c
	}
	return Permanent
}

// NeverSent reports whether err proves that the request never reached the
// server, so that retrying it cannot deliver anything twice: the host name
// did not resolve, the connection (or the proxy's) could not be opened, or
// the server's TLS certificate was refused before the request was written.
// Other transport errors — a timeout, a connection reset or closed after the
// request was written — are ambiguous: the server may have acted on it.
// An *APIError is an answer, not a transport error: NeverSent says false.
func NeverSent(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	// net/http returns a POST's dial error only when no connection carried
	// it: it never retries a non-idempotent request that was written.
	var opErr *net.OpError
	if errors.As(err, &opErr) && (opErr.Op == "dial" || opErr.Op == "proxyconnect") {
		return true
	}
	var certErr *tls.CertificateVerificationError
	return errors.As(err, &certErr)
}

// RetryAfter returns the delay the server asked for with a Retry-After
// header on the *APIError in err's chain, or 0 when there is none.
func RetryAfter(err error) time.Duration {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
		return apiErr.RetryAfter
	}
	return 0
}

// MinRetryDelay returns the least a caller should wait before retrying err:
// the larger of RetryAfter(err) and the floor §8 gives for the code (6 s for
// 131056, the per-recipient pair limit; 1 min for 131057, account
// maintenance). It is 0 when neither applies; the caller's backoff decides.
func MinRetryDelay(err error) time.Duration {
	d := RetryAfter(err)
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		var floor time.Duration
		switch apiErr.Code {
		case 131056:
			floor = 6 * time.Second
		case 131057:
			floor = time.Minute
		}
		d = max(d, floor)
	}
	return d
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, 24*time.Hour)
		}
	}
	return 0
}
