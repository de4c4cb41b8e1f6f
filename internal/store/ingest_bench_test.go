package store_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

// BenchmarkIngestBatch measures one group commit of 64 text messages from
// 64 returning customers (SQLite with synchronous=FULL, and PostgreSQL
// when TEST_DATABASE_URL is set): the work of one commit lane alone,
// without HTTP. Reported per message.
func BenchmarkIngestBatch(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchmarkIngestBatch(b, storetest.OpenSQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchmarkIngestBatch(b, storetest.OpenPostgres(b)) })
}

func benchmarkIngestBatch(b *testing.B, s helpdesk.Store) {
	ctx := b.Context()
	now := helpdesk.Now()
	if _, err := s.UpsertChannel(ctx, helpdesk.Channel{ID: helpdesk.NewID(), Name: "Main", PhoneNumberID: "pn-bench",
		AccessToken: "t", CreatedAt: now, UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	in := helpdesk.NewIngester(s, helpdesk.IngesterOptions{})
	defer in.Close()
	const perBatch = 64
	n := 0
	delivery := func() helpdesk.WebhookDelivery {
		d := helpdesk.WebhookDelivery{Body: fmt.Appendf(nil, "bench %d", n), ReceivedAt: helpdesk.Now(),
			Batches: []helpdesk.ChannelBatch{{PhoneNumberID: "pn-bench"}}}
		for i := range perBatch {
			n++
			waID := fmt.Sprintf("5511%09d", i)
			d.Batches[0].Messages = append(d.Batches[0].Messages, helpdesk.InboundMessage{
				WAMessageID: fmt.Sprintf("wamid.bench.%d", n), FromWAIDs: []string{waID}, ProfileName: "Cliente",
				Timestamp: time.Now(), Type: "text", Text: fmt.Sprintf("Olá, mensagem número %d", n),
				Raw: fmt.Appendf(nil, `{"from":"%s","id":"wamid.bench.%d","type":"text","text":{"body":"Olá"}}`, waID, n)})
		}
		return d
	}
	if _, err := in.Ingest(ctx, delivery()); err != nil { // the customers exist from now on
		b.Fatal(err)
	}
	cpu0 := processCPU()
	b.ResetTimer()
	for b.Loop() {
		if _, err := in.Ingest(ctx, delivery()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perBatch), "ns/msg")
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N*perBatch), "cpu-ns/msg")
}

// processCPU is the CPU time the process has used so far (Linux).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
