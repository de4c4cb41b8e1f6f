package sandbox_test

import (
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp/sandbox"
)

// The control API refuses data after the JSON value, a stray closing brace
// or bracket included (json.Decoder.More reports false before '}' and ']').
func TestControlTrailingData(t *testing.T) {
	c := setupCtl(t, sandbox.Options{})
	wantError(t, c.call(t, "POST", "/control/faults/duplicate", `{"count":2}}`), 400, "switch with a trailing }")
	wantError(t, c.call(t, "PUT", "/control/faults/latency", `{"latency":"1s"}]`), 400, "switch with a trailing ]")
	wantError(t, c.call(t, "POST", "/customers/5511987654321/messages", `{"type":"text","text":{"body":"x"}}}`), 400, "message with a trailing }")
	r := c.call(t, "GET", "/control/faults", "")
	t.Logf("faults after the refused calls: %s", r.raw)
}
