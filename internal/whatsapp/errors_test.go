package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	api := func(httpStatus, code int) error { return &APIError{HTTPStatus: httpStatus, Code: code} }
	tests := []struct {
		name string
		err  error
		want ErrorClass
	}{
		// §8 table, by code (the HTTP status does not matter when the code is known).
		{"130429Throughput", api(400, 130429), Throttled},
		{"131056PairRate", api(400, 131056), Throttled},
		{"131048Spam", api(400, 131048), Throttled},
		{"4AppRate", api(400, 4), Throttled},
		{"80007WABARate", api(400, 80007), Throttled},
		{"17UserRate", api(400, 17), Throttled},
		{"613CustomRate", api(400, 613), Throttled},
		{"131000Unknown", api(500, 131000), Transient},
		{"131016Unavailable", api(503, 131016), Transient},
		{"1APIUnknown", api(500, 1), Transient},
		{"2APIService", api(503, 2), Transient},
		{"133004Temporary", api(503, 133004), Transient},
		{"131057Maintenance", api(500, 131057), Transient},
		{"131047Window", api(400, 131047), Permanent},
		{"131026Undeliverable", api(400, 131026), Permanent},
		{"131051UnsupportedType", api(400, 131051), Permanent},
		{"131052MediaDownload", api(400, 131052), Permanent},
		{"131053MediaUpload", api(400, 131053), Permanent},
		{"132000ParamCount", api(400, 132000), Permanent},
		{"132001TemplateMissing", api(404, 132001), Permanent},
		{"132015TemplatePaused", api(400, 132015), Permanent},
		{"100InvalidParam", api(400, 100), Permanent},
		{"131008Missing", api(400, 131008), Permanent},
		{"131009Invalid", api(400, 131009), Permanent},
		{"131021SelfSend", api(400, 131021), Permanent},
		{"131030NotAllowed", api(400, 131030), Permanent},
		{"131049Ecosystem", api(400, 131049), Permanent},
		{"131050OptOut", api(400, 131050), Permanent},
		{"130497Country", api(403, 130497), Permanent},
		{"PermanentCodeOn500", api(500, 131047), Permanent},
		{"190Token", api(401, 190), Unauthorized},
		{"190TokenOn400", api(400, 190), Unauthorized},
		{"104MissingToken", api(401, 104), Unauthorized},
		{"10Permission", api(403, 10), Unauthorized},
		{"3Capability", api(400, 3), Unauthorized},
		{"200Permission", api(403, 200), Unauthorized},
		{"299Permission", api(403, 299), Unauthorized},
		{"131005AccessDenied", api(403, 131005), Unauthorized},
		{"0AuthException", &APIError{HTTPStatus: 400, Code: 0, Type: "OAuthException", Message: "(#0) x"}, Unauthorized},
		{"368Restricted", api(403, 368), Unauthorized},
		{"131031Locked", api(403, 131031), Unauthorized},
		{"131042Billing", api(400, 131042), Unauthorized},
		{"131045Registration", api(400, 131045), Unauthorized},
		{"133010NotRegistered", api(400, 133010), Unauthorized},

		// Unknown codes and non-JSON failures fall back to is_transient and HTTP status.
		{"UnknownCodeIsTransient", &APIError{HTTPStatus: 400, Code: 999999, IsTransient: true}, Transient},
		{"UnknownCode400", api(400, 999999), Permanent},
		{"UnknownCode500", api(500, 999999), Transient},
		{"HTML500", &APIError{HTTPStatus: 500, Message: "<html>Internal</html>"}, Transient},
		{"HTML502", api(502, 0), Transient},
		{"HTTP503", api(503, 0), Transient},
		{"HTTP429", api(429, 0), Throttled},
		{"HTTP408", api(408, 0), Transient},
		{"HTTP401", api(401, 0), Unauthorized},
		{"HTTP403NoCode", api(403, 0), Unauthorized},
		{"HTTP404NoCode", api(404, 0), Permanent},
		{"HTTP400NoCode", api(400, 0), Permanent},

		// Wrapped errors and non-API failures.
		{"WrappedAPIError", fmt.Errorf("send text message: %w", api(400, 130429)), Throttled},
		{"DeadlineExceeded", context.DeadlineExceeded, Transient},
		{"Canceled", fmt.Errorf("x: %w", context.Canceled), Transient},
		{"NetOpError", &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}, Transient},
		{"URLError", &url.Error{Op: "Post", URL: "https://graph.facebook.com", Err: errors.New("connection reset by peer")}, Transient},
		{"DNSError", &net.DNSError{Err: "no such host", Name: "graph.facebook.com", IsNotFound: true}, Transient},
		{"InvalidRequest", fmt.Errorf("send: %w", ErrInvalidRequest), Permanent},
		{"UnexpectedResponse", fmt.Errorf("send: %w", ErrUnexpectedResponse), Permanent},
		{"MediaTooLarge", ErrMediaTooLarge, Permanent},
		{"ChecksumMismatch", ErrChecksumMismatch, Transient},
		{"Nil", nil, Permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestClassifyCode(t *testing.T) {
	tests := []struct {
		code int
		want ErrorClass
	}{
		{131047, Permanent}, {131026, Permanent}, {131049, Permanent}, {131050, Permanent}, {131053, Permanent},
		{130429, Throttled}, {131056, Throttled}, {131000, Transient}, {190, Unauthorized}, {250, Unauthorized},
		{368, Unauthorized}, {131042, Unauthorized}, {0, Permanent}, {424242, Permanent},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			if got := ClassifyCode(tt.code); got != tt.want {
				t.Errorf("ClassifyCode(%d) = %v, want %v", tt.code, got, tt.want)
			}
		})
	}
}

func TestErrorClass_StringAndRetryable(t *testing.T) {
	tests := []struct {
		c         ErrorClass
		name      string
		retryable bool
	}{
		{Transient, "transient", true},
		{Throttled, "throttled", true},
		{Permanent, "permanent", false},
		{Unauthorized, "unauthorized", false},
		{ErrorClass(42), "ErrorClass(42)", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.c.String() != tt.name || tt.c.Retryable() != tt.retryable {
				t.Errorf("%d: String %q Retryable %v", int(tt.c), tt.c.String(), tt.c.Retryable())
			}
		})
	}
}

func TestAPIError_Error(t *testing.T) {
	tests := []struct {
		name string
		err  *APIError
		want string
	}{
		{"Envelope", &APIError{HTTPStatus: 400, Code: 130429, Subcode: 2494055, Message: "(#130429) Rate limit hit",
			Details: "Cloud API message throughput has been reached.", FBTraceID: "AbC1"},
			"graph api: http 400, code 130429, subcode 2494055: (#130429) Rate limit hit: Cloud API message throughput has been reached. (fbtrace_id AbC1)"},
		{"NonJSON", &APIError{HTTPStatus: 502, Message: "Bad Gateway"}, "graph api: http 502: Bad Gateway"},
		{"DetailsSameAsMessage", &APIError{HTTPStatus: 400, Code: 100, Message: "x", Details: "x"}, "graph api: http 400, code 100: x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q\nwant      %q", got, tt.want)
			}
		})
	}
}

func TestRetryAfterAndMinRetryDelay(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantAfter time.Duration
		wantMin   time.Duration
	}{
		{"None", &APIError{HTTPStatus: 400, Code: 130429}, 0, 0},
		{"Header", fmt.Errorf("w: %w", &APIError{HTTPStatus: 429, RetryAfter: 7 * time.Second}), 7 * time.Second, 7 * time.Second},
		{"PairRateFloor", &APIError{HTTPStatus: 400, Code: 131056}, 0, 6 * time.Second},
		{"PairRateHeaderLonger", &APIError{HTTPStatus: 400, Code: 131056, RetryAfter: 30 * time.Second}, 30 * time.Second, 30 * time.Second},
		{"MaintenanceFloor", &APIError{HTTPStatus: 500, Code: 131057}, 0, time.Minute},
		{"NotAPIError", errors.New("boom"), 0, 0},
		{"Nil", nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RetryAfter(tt.err); got != tt.wantAfter {
				t.Errorf("RetryAfter = %v, want %v", got, tt.wantAfter)
			}
			if got := MinRetryDelay(tt.err); got != tt.wantMin {
				t.Errorf("MinRetryDelay = %v, want %v", got, tt.wantMin)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		v    string
		want time.Duration
	}{
		{"Seconds", "120", 2 * time.Minute},
		{"Spaces", " 5 ", 5 * time.Second},
		{"Zero", "0", 0},
		{"Negative", "-3", 0},
		{"HTTPDate", "Sun, 01 Mar 2026 12:00:30 GMT", 30 * time.Second},
		{"PastDate", "Sun, 01 Mar 2026 11:00:00 GMT", 0},
		{"Capped", "999999999", 24 * time.Hour},
		{"Garbage", "soon", 0},
		{"Empty", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRetryAfter(tt.v, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}
