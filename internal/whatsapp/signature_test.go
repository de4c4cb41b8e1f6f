package whatsapp

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
)

func TestVerifySignature(t *testing.T) {
	const secret = "app-secret-0123456789"
	body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	valid := Sign(secret, body)
	hexPart := strings.TrimPrefix(valid, "sha256=")

	tests := []struct {
		name   string
		secret string
		body   []byte
		header string
		want   bool
	}{
		{"Valid", secret, body, valid, true},
		// Meta sends lowercase; uppercase hex decodes to the same digest and is
		// accepted on purpose (see VerifySignature).
		{"UppercaseHex", secret, body, "sha256=" + strings.ToUpper(hexPart), true},
		{"WrongSecret", "other-secret", body, valid, false},
		{"TamperedBody", secret, append(bytes.Clone(body[:len(body)-1]), ' ', '}'), valid, false},
		{"EmptyBodySigned", secret, nil, Sign(secret, nil), true},
		{"MissingPrefix", secret, body, hexPart, false},
		{"OtherAlgorithmPrefix", secret, body, "sha1=" + hexPart, false},
		{"UppercasePrefix", secret, body, "SHA256=" + hexPart, false},
		{"LeadingSpace", secret, body, " " + valid, false},
		{"TrailingNewline", secret, body, valid + "\n", false},
		{"BadHex", secret, body, "sha256=" + strings.Repeat("zz", 32), false},
		{"TooShort", secret, body, valid[:len(valid)-2], false},
		{"TooLong", secret, body, valid + "00", false},
		{"OddLength", secret, body, valid[:len(valid)-1], false},
		{"PrefixOnly", secret, body, "sha256=", false},
		{"EmptyHeader", secret, body, "", false},
		{"EmptySecret", "", body, Sign("", body), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifySignature(tt.secret, tt.body, tt.header); got != tt.want {
				t.Errorf("VerifySignature = %v, want %v", got, tt.want)
			}
		})
	}
}

// The body must be hashed exactly as received: a re-encoded body (Meta may
// escape non-ASCII as \uXXXX) does not verify.
func TestVerifySignature_RawBytesNotReencoded(t *testing.T) {
	const secret = "s"
	escaped := []byte(`{"text":{"body":"n\u00e3o"}}`)
	reencoded := []byte(`{"text":{"body":"não"}}`)
	sig := Sign(secret, escaped)
	if !VerifySignature(secret, escaped, sig) {
		t.Fatal("raw body does not verify")
	}
	if VerifySignature(secret, reencoded, sig) {
		t.Fatal("re-encoded body verified")
	}
}

func TestSign_Format(t *testing.T) {
	// The well-known HMAC-SHA256 example (key "key", the quick brown fox).
	got := Sign("key", []byte("The quick brown fox jumps over the lazy dog"))
	want := "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
	if got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestVerifyChallenge(t *testing.T) {
	q := func(mode, token, challenge string) url.Values {
		v := url.Values{}
		if mode != "" {
			v.Set("hub.mode", mode)
		}
		if token != "" {
			v.Set("hub.verify_token", token)
		}
		if challenge != "" {
			v.Set("hub.challenge", challenge)
		}
		return v
	}
	tests := []struct {
		name   string
		query  url.Values
		token  string
		want   string
		wantOK bool
	}{
		{"Valid", q("subscribe", "my-verify-token", "1158201444"), "my-verify-token", "1158201444", true},
		{"WrongToken", q("subscribe", "nope", "1158201444"), "my-verify-token", "", false},
		{"WrongMode", q("unsubscribe", "my-verify-token", "1158201444"), "my-verify-token", "", false},
		{"NoMode", q("", "my-verify-token", "1158201444"), "my-verify-token", "", false},
		{"NoChallenge", q("subscribe", "my-verify-token", ""), "my-verify-token", "", false},
		{"EmptyConfiguredToken", q("subscribe", "", "1"), "", "", false},
		{"TokenPrefix", q("subscribe", "my-verify", "1"), "my-verify-token", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := VerifyChallenge(tt.query, tt.token)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("VerifyChallenge = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func FuzzVerifySignature(f *testing.F) {
	const secret = "app-secret-0123456789"
	body := readFixture(f, "message_text")
	f.Add(secret, body, Sign(secret, body))
	f.Add(secret, body, "sha256="+strings.ToUpper(strings.TrimPrefix(Sign(secret, body), "sha256=")))
	f.Add("other", body, Sign(secret, body))
	f.Add(secret, []byte{}, "sha256=")
	f.Add("", []byte("x"), "")
	f.Add("k", []byte("\x00\xff"), "sha256="+strings.Repeat("0", 64))
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string) {
		ok := VerifySignature(secret, body, header) // must not panic on any input
		sig := Sign(secret, body)
		if ok {
			if secret == "" || !strings.HasPrefix(header, "sha256=") || !strings.EqualFold(header, sig) {
				t.Fatalf("accepted %q for secret %q; the signature is %q", header, secret, sig)
			}
		}
		if secret == "" {
			if VerifySignature(secret, body, sig) {
				t.Fatal("empty secret verified")
			}
			return
		}
		if !VerifySignature(secret, body, sig) {
			t.Fatalf("Sign/Verify round trip failed for %q", sig)
		}
		tampered := append(bytes.Clone(body), 'x')
		if VerifySignature(secret, tampered, sig) {
			t.Fatal("tampered body verified")
		}
	})
}
