package whatsapp

import "testing"

// BenchmarkParseWebhook parses a one-message text webhook, the bulk of real
// traffic, and a batch of several messages, statuses and other fields.
func BenchmarkParseWebhook(b *testing.B) {
	for _, name := range []string{"message_text", "batch_mixed"} {
		body := readFixture(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := ParseWebhook(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
