package store_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
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
	in := benchIngester(b, s)
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

// BenchmarkIngestSingles is the HTTP bench's shape without HTTP: rounds of
// one-message webhooks handed over at once (the lane groups them), from
// 1,000 returning customers in turn; "round=1" is a lone message per
// commit, the fixed price of a group commit. wchar-B/msg is what the
// process wrote through write calls (WAL frames and checkpoints).
func BenchmarkIngestSingles(b *testing.B) {
	for _, round := range []int{64, 1} {
		b.Run(fmt.Sprintf("sqlite/round=%d", round), func(b *testing.B) { benchmarkIngestSingles(b, storetest.OpenSQLite(b), round) })
		b.Run(fmt.Sprintf("postgres/round=%d", round), func(b *testing.B) { benchmarkIngestSingles(b, storetest.OpenPostgres(b), round) })
	}
}

func benchmarkIngestSingles(b *testing.B, s helpdesk.Store, round int) {
	ctx := b.Context()
	in := benchIngester(b, s)
	const customers = 1000
	n := 0
	delivery := func() helpdesk.WebhookDelivery {
		n++
		waID := fmt.Sprintf("5511%09d", n%customers)
		return helpdesk.WebhookDelivery{Body: fmt.Appendf(nil, `{"bench":%d,"padding":"%0900d"}`, n, 0), ReceivedAt: helpdesk.Now(),
			Batches: []helpdesk.ChannelBatch{{PhoneNumberID: "pn-bench", Messages: []helpdesk.InboundMessage{{
				WAMessageID: fmt.Sprintf("wamid.HBgNNTUxMTk5OTk5OTk5ORUCABIYFjNFQjBDNzM2%d", n), FromWAIDs: []string{waID},
				ProfileName: "Cliente " + waID, Timestamp: time.Now(), Type: "text", Text: fmt.Sprintf("Olá, preciso de ajuda com o pedido %d", n),
				Raw: fmt.Appendf(nil, `{"from":"%s","id":"wamid.bench.%d","type":"text","text":{"body":"Olá"}}`, waID, n)}}}}}
	}
	ingestRound := func(k int) {
		ds := make([]helpdesk.WebhookDelivery, k)
		for i := range ds {
			ds[i] = delivery()
		}
		var wg sync.WaitGroup
		for _, d := range ds {
			wg.Go(func() {
				if _, err := in.Ingest(ctx, d); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
	}
	for range 2 * customers / 64 { // every customer exists and has history
		ingestRound(64)
	}
	cpu0, w0 := processCPU(), writtenBytes()
	b.ResetTimer()
	for b.Loop() {
		ingestRound(round)
	}
	msgs := float64(b.N * round)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/msgs, "ns/msg")
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/msgs, "cpu-ns/msg")
	b.ReportMetric(float64(writtenBytes()-w0)/msgs, "wchar-B/msg")
}

// writtenBytes is what the process has passed to write calls so far
// (Linux's wchar; 0 where /proc is missing).
func writtenBytes() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// benchIngester is an Ingester on s, with the channel "pn-bench" the
// benchmarks' webhooks are for; it closes with b.
func benchIngester(b *testing.B, s helpdesk.Store) *helpdesk.Ingester {
	now := helpdesk.Now()
	if _, err := s.UpsertChannel(b.Context(), helpdesk.Channel{ID: helpdesk.NewID(), Name: "Main", PhoneNumberID: "pn-bench",
		AccessToken: "t", CreatedAt: now, UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	in := helpdesk.NewIngester(s, helpdesk.IngesterOptions{})
	b.Cleanup(in.Close)
	return in
}
