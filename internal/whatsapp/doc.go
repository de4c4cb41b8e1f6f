// Package whatsapp speaks Meta's WhatsApp Business Cloud API: it verifies and
// parses webhooks, and calls the Graph API to send messages, mark them read and
// move media. The wire contract is /work/shared/whatsapp-cloud-api.md; section
// numbers (§) in comments refer to it.
//
// The package imports nothing of this module. It deals in Graph API shapes
// only (wa_id, wamid, Graph error codes); the webhook handler and the send
// worker map them into helpdesk types.
//
// # Receiving
//
// A webhook POST is handled in three steps, in this order:
//
//  1. VerifySignature on the raw body bytes exactly as received (never on
//     re-encoded JSON);
//  2. ParseWebhook, which is tolerant: unknown fields and unknown message
//     types never fail it, and every message and status keeps its Raw JSON so
//     nothing acknowledged is lost;
//  3. the caller stores messages (unique by ID) and statuses (unique by ID and
//     Status) and answers 200 only after commit. Meta retries, duplicates and
//     reorders deliveries (§2, §5).
//
// VerifyChallenge answers the GET handshake of §1.
//
// # Sending
//
// Client wraps the Graph endpoints of §6 and §7. Every failed call returns an
// error that Classify sorts into Transient, Throttled, Permanent or
// Unauthorized (§8), which is what a send job needs to choose between retry,
// snooze, fail and flagging the channel.
package whatsapp
