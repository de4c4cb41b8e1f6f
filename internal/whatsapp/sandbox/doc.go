// Package sandbox simulates the WhatsApp Business Cloud API for
// development and tests, following whatsapp-cloud-api.md (§10 "What a
// faithful simulator must do").
//
// It plays both sides the business does not control:
//
//   - Meta's Graph API (Handler): send every §6 message type with Meta's
//     validation and error codes, mark as read and typing indicators, media
//     upload, lookup, deletion and token-protected download URLs that
//     expire after 5 minutes, the template list with cursor paging, and the
//     phone-number object. Errors use the §8 envelope with a fresh
//     fbtrace_id.
//   - The customers: SendText, SendInbound and friends post §3/§4 webhooks
//     signed with the app secret (X-Hub-Signature-256 over the exact bytes
//     sent), and the customers' phones report sent → delivered → read (and
//     played, failed) statuses (§5).
//
// # Delivery
//
// A webhook is posted once synchronously, so a customer method returns
// after the receiver answered. Anything but 200 is redelivered in the
// background with the same bytes: immediately, then after RetryBase,
// doubling up to MaxRetryDelay, until MaxRetries or RetryHorizon (Meta: 7
// days). Tests set RetryBase to a millisecond. Chaos switches reproduce
// what Meta does to receivers: DuplicateNext (same bytes twice), HoldNext
// with ReleaseHeld (out of order) or ReleaseHeldBatch (one batched POST),
// SetStatusPlan (skip or reorder statuses), and on the Graph side FailNext,
// Throughput, the per-recipient pair limit and SetLatency.
//
// # Control API
//
// ControlHandler serves the same switches and records over HTTP (§10.4),
// so the simulator can be driven when it runs standalone
// (supportwhatsapp sandbox): customers send any §4 message object, what
// the business sent and every webhook attempt can be read, and each fault
// switch has a JSON route (ControlRoutes lists them).
//
// # Customer service window
//
// Every inbound message except system ones opens the customer's 24 h
// window (OpenWindow does it without a webhook). A free-form message to a
// customer outside the window is accepted with a wamid and then fails with
// a 131047 status, as Meta usually reports it; SyncWindowErrors turns it
// into a synchronous 400. Templates always go.
//
// # Clock and concurrency
//
// Options.Now drives timestamps, the window, rate limits and media expiry,
// so tests can move time; delays (StatusDelay, retries, latency) use real
// timers. A Sandbox is safe for concurrent use: one mutex guards its state,
// and every background goroutine runs under a context that Close cancels
// before waiting for them, so nothing outlives Close.
//
// The package imports nothing from the rest of the module on purpose: it
// plays Meta, so it must not share code (or bugs) with the client it
// checks.
package sandbox
