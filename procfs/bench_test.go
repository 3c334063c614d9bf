package procfs

import (
	"os"
	"testing"
)

func BenchmarkParseStat(b *testing.B) {
	line := []byte("6699 (a b) (c) S 1 6693 4083 0 -1 4194304 138 0 0 0 0 0 0 0 20 0 1 0 48201 2990080 419 " +
		"18446744073709551615 93874738905088 93874738918313 140722600484576 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, err := ParseStat(line); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadStat is the per-fork cost of the listener: one open, read
// and close of /proc/<pid>/stat plus the parse.
func BenchmarkReadStat(b *testing.B) {
	p := realFS(b).Proc(os.Getpid())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Stat(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandleFork is the listener's whole per-fork work on a fixture
// tree: decode the message and build the event, reading the child's stat
// only for a fork stamped near a tick boundary (forkGuard): about one in
// ten.
func BenchmarkHandleFork(b *testing.B) {
	for _, c := range []struct {
		name  string
		stamp uint64
	}{{"near a tick", 48223 * uint64(tick)}, {"mid-tick", 48223*uint64(tick) + uint64(tick/2)}} {
		b.Run(c.name, func(b *testing.B) {
			l := newListener(fixtureFS(b), nil, ListenConfig{})
			ev := forkEvent(6708, 6712, 6712, 48223)
			ev.TimestampNS = c.stamp
			msg := connectorMessage(b, ev)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := l.handle(msg.Data); !ok {
					b.Fatal("not emitted")
				}
			}
		})
	}
}

// BenchmarkScan scans every process of this machine.
func BenchmarkScan(b *testing.B) {
	fs := realFS(b)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		procs, _ := fs.Scan() // permission errors are expected where pid 1 is privileged
		n = len(procs)
	}
	b.ReportMetric(float64(n), "procs")
}
