package sensor

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
)

// BenchmarkReplay pushes records captured from a real kernel
// (audit/testdata/records: ordinary execs and the apt chain, which ends in
// an alert) through the whole pipeline at a fixed rate of events: push on
// one goroutine, as the audit goroutine does, the hand-off, and on another
// the assembler, process tree, rule engine and alert JSON, as the event
// loop does. Only the socket read is left out. Each event is its own
// batch, as at low rates where every read returns one event. cpu-ns/event
// is the process's CPU time (user + system, all threads, the Go runtime's
// wake-ups included) per event; the pacer's own sleeps and wake-ups are in
// it too, so it is an upper bound.
// Run: go test -run '^$' -bench Replay -benchtime 10000x ./sensor/
func BenchmarkReplay(b *testing.B) {
	for _, rate := range []int{100, 1000, 10000, 40000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) { runReplay(b, rate) })
	}
}

func runReplay(b *testing.B, rate int) {
	s := benchSensor(b)
	recs := append(loadRecordFile(b, "exec-ordinary.txt"), loadRecordFile(b, "apt-chain.txt")...)
	seedTree(b, s, recs)
	events := splitEvents(recs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	loopDone := make(chan struct{})
	go func() { // the event loop's part
		defer close(loopDone)
		for {
			select {
			case bt := <-s.handoff.full:
				s.handleBatch(bt)
			case <-ctx.Done():
				return
			}
		}
	}()

	// One wake-up of the pacer per event up to 1,000/s, per millisecond
	// above: the pacer's own wake-ups are in the CPU time too.
	tick := max(time.Second/time.Duration(rate), time.Millisecond)
	perTick := float64(rate) * tick.Seconds()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	next, owed, sent := time.Now(), 0.0, 0
	for sent < b.N {
		for owed += perTick; owed >= 1 && sent < b.N; owed-- {
			s.push(ctx, events[sent%len(events)])
			sent++
		}
		next = next.Add(tick)
		time.Sleep(time.Until(next))
	}
	for len(s.handoff.free) < handoffBatches { // wait for the loop to finish
		time.Sleep(100 * time.Microsecond)
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	cancel()
	<-loopDone
	if b.N >= len(events) && (s.counts.Execs == 0 || s.counts.Alerts == 0) {
		b.Fatalf("counts %+v: the replay made no exec or no alert", s.counts)
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/event")
	b.ReportMetric(0, "ns/op")
}

// splitEvents cuts recs into one slice per event (ending at its EOE).
func splitEvents(recs []audit.Record) [][]audit.Record {
	var out [][]audit.Record
	start := 0
	for i, r := range recs {
		if r.Type == audit.TypeEOE {
			out = append(out, recs[start:i+1])
			start = i + 1
		}
	}
	return out
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
