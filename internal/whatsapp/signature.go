package whatsapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/url"
	"strings"
)

// SignatureHeader is the header that carries a webhook's signature.
const SignatureHeader = "X-Hub-Signature-256"

const signaturePrefix = "sha256="

// VerifySignature reports whether header — the X-Hub-Signature-256 value
// "sha256=<64 hex>" — is the HMAC-SHA256 of body keyed with appSecret (§2).
// body must be the request body exactly as received.
//
// It returns false for an empty appSecret (so a missing configuration never
// accepts forged webhooks), a header without the lowercase "sha256=" prefix,
// hex that does not decode, or a digest that is not 32 bytes. The digests are
// compared in constant time.
//
// Meta sends lowercase hex. Uppercase (or mixed-case) hex is accepted too: it
// decodes to the same digest, and the digest, not its spelling, is what the
// secret authenticates.
func VerifySignature(appSecret string, body []byte, header string) bool {
	if appSecret == "" || !strings.HasPrefix(header, signaturePrefix) {
		return false
	}
	hexDigest := header[len(signaturePrefix):]
	if len(hexDigest) != 2*sha256.Size {
		return false
	}
	got, err := hex.DecodeString(hexDigest)
	if err != nil {
		return false
	}
	return hmac.Equal(got, mac(appSecret, body))
}

// Sign returns the X-Hub-Signature-256 value Meta would send for body:
// "sha256=" followed by the lowercase hex HMAC-SHA256 of body keyed with
// appSecret. It is meant for tests and the sandbox; it does not refuse an
// empty secret, but VerifySignature always rejects one.
func Sign(appSecret string, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(appSecret, body))
}

func mac(secret string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(body)
	return h.Sum(nil)
}

// VerifyChallenge checks the GET handshake of §1. It returns the value of
// hub.challenge and true when hub.mode is "subscribe" and hub.verify_token
// equals verifyToken (compared in constant time); the caller then answers 200
// with the challenge as a text/plain body. Otherwise (including an empty
// challenge) it returns "", false and the caller answers 403. An empty
// verifyToken never matches.
func VerifyChallenge(query url.Values, verifyToken string) (challenge string, ok bool) {
	if verifyToken == "" || query.Get("hub.mode") != "subscribe" {
		return "", false
	}
	got := query.Get("hub.verify_token")
	if subtle.ConstantTimeCompare([]byte(got), []byte(verifyToken)) != 1 {
		return "", false
	}
	challenge = query.Get("hub.challenge")
	return challenge, challenge != ""
}
