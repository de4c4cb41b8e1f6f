package realtime

import (
	"syscall"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/fanout"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// What a replica with 300 users' streams spends on another replica's
// heartbeat bringing 400 users online and on its leaving (400 offline):
// the work done under Hub.mu, which holds up every other delivery
// (cpu-ns/op: the process's CPU time, less noisy than ns/op on a busy
// machine).
func BenchmarkPresenceBurst(b *testing.B) {
	h := New(Options{Bus: fanout.NewLocal(1)})
	for range 300 {
		id := helpdesk.NewID()
		h.users[id] = &userState{user: helpdesk.User{ID: id}, stream: helpdesk.NewID(), conns: map[*conn]struct{}{}}
	}
	remote := make([]string, 400)
	for i := range remote {
		remote[i] = helpdesk.NewID()
	}
	beat := busMsg{Replica: "other", Beat: true, Presence: remote}
	leave := busMsg{Replica: "other", Leaving: true}
	b.ReportAllocs()
	cpu0 := ProcessCPU(b)
	for b.Loop() {
		h.deliverMsg(&beat)
		h.deliverMsg(&leave)
	}
	b.ReportMetric(float64(ProcessCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// ProcessCPU is the CPU time the process has used, user and system: the
// cpu-ns/op of the benchmarks of both test packages.
func ProcessCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
