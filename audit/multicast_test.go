package audit

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestSerialOf(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"audit(1795659684.684:2): op=set", 2, true},
		{"audit(1795659684.684:18446744073709551615): x=1", 18446744073709551615, true},
		{"audit(1795659684.684:): x", 0, false},
		{"audit(1795659684.684:12 x", 0, false},
		{"audit(17956", 0, false},
		{"type=1300 msg=audit(1.000:5):", 0, false},
		{"", 0, false},
	} {
		got, ok := serialOf([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("serialOf(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSerialTrackerGaps(t *testing.T) {
	var tr serialTracker
	// In order, several records per serial: no gap.
	for _, n := range []uint64{100, 100, 101, 102, 102, 103} {
		tr.see(n)
	}
	tr.Settle()
	tr.Settle()
	if g := tr.Gaps(); g != 0 {
		t.Fatalf("in-order serials: %d gaps", g)
	}
	// Out of order within one period: no gap.
	for _, n := range []uint64{105, 104, 107, 106} {
		tr.see(n)
	}
	tr.Settle()
	tr.Settle()
	if g := tr.Gaps(); g != 0 {
		t.Fatalf("reordered serials: %d gaps", g)
	}
	// 108 and 110 never come; 109 and 111 do.
	tr.see(109)
	tr.see(111)
	tr.Settle() // 108..110 had no full period yet
	if g := tr.Gaps(); g != 0 {
		t.Fatalf("gap counted before its period ended: %d", g)
	}
	tr.see(112)
	tr.Settle()
	if g := tr.Gaps(); g != 2 {
		t.Fatalf("after a period: %d gaps, want 2 (108, 110)", g)
	}
	if m := tr.lastMissing(8); !slices.Equal(m, []uint64{108, 110}) {
		t.Fatalf("last missing %v, want [108 110]", m)
	}
	// A settled serial that arrives late takes its loss back, once (its
	// event may have several records); a late record of a serial that was
	// seen changes nothing.
	tr.see(108)
	tr.see(108)
	tr.see(109)
	tr.Settle()
	if g, l := tr.Gaps(), tr.Late(); g != 1 || l != 1 {
		t.Fatalf("after 108 came late: %d gaps, %d late; want 1 and 1", g, l)
	}
	if m := tr.lastMissing(8); !slices.Equal(m, []uint64{110}) {
		t.Fatalf("last missing %v, want [110]", m)
	}
}

// TestSerialTrackerTakeBackBounded: only the last settledKept serials
// settled as missing can be taken back; a real loss stays counted.
func TestSerialTrackerTakeBackBounded(t *testing.T) {
	var tr serialTracker
	// Every other serial of 3000 never comes: 1499 real losses.
	for n := uint64(1000); n < 4000; n += 2 {
		tr.see(n)
	}
	tr.see(4000)
	tr.Settle()
	tr.see(4001)
	tr.Settle()
	if g := tr.Gaps(); g != 1500 {
		t.Fatalf("%d gaps, want 1500", g)
	}
	tr.see(1001) // forgotten (more than settledKept ago): stays lost
	tr.see(3999) // remembered: taken back
	tr.see(3001)
	if g, l := tr.Gaps(), tr.Late(); g != 1498 || l != 2 {
		t.Fatalf("%d gaps, %d late; want 1498 and 2", g, l)
	}
}

func TestSerialTrackerWindowAndRestart(t *testing.T) {
	var tr serialTracker
	tr.see(10)
	tr.see(10 + serialWindow + 5) // far ahead: everything between is lost
	if g := tr.Gaps(); g != 5 {
		t.Fatalf("jump past the window: %d gaps, want 5 (settled below the new window)", g)
	}
	tr.Settle()
	tr.Settle()
	if g := tr.Gaps(); g != serialWindow+4 {
		t.Fatalf("after settling: %d gaps, want %d", g, serialWindow+4)
	}
	// A serial far below everything: the numbering restarted (reboot of a
	// replayed stream), no gap for it.
	before := tr.Gaps()
	tr.see(1)
	tr.see(2)
	tr.Settle()
	tr.Settle()
	if tr.Gaps() != before {
		t.Fatalf("restart counted as %d gaps", tr.Gaps()-before)
	}
}

func TestDeduperDropsTheSecondCopyOnlyInWindow(t *testing.T) {
	d := newDeduper()
	now := time.Unix(1000, 0)
	r := Record{Type: TypeSyscall, Data: []byte("audit(1.000:7): arch=c000003e syscall=59")}
	p1 := Record{Type: TypePath, Data: []byte("audit(1.000:7): item=0 name=\"/bin/sh\"")}
	p2 := Record{Type: TypePath, Data: []byte("audit(1.000:7): item=1 name=\"/lib64/ld\"")}
	if !d.pass(0, r, now) {
		t.Fatal("idle deduper dropped a record")
	}
	d.open(now)
	if !d.pass(0, r, now) || !d.pass(0, p1, now) || !d.pass(0, p2, now) {
		t.Fatal("first copies dropped")
	}
	if d.pass(1, r, now) || d.pass(1, p2, now) {
		t.Fatal("second copies from the other socket handed on")
	}
	if !d.pass(1, Record{Type: TypeEOE, Data: []byte("audit(1.000:7): ")}, now) {
		t.Fatal("a record only the other socket had was dropped")
	}
	if got := d.dropped.Load(); got != 2 {
		t.Fatalf("dropped %d, want 2", got)
	}
	// After the window everything passes and the table is emptied.
	later := now.Add(dedupeWindow + time.Second)
	if !d.pass(1, p1, later) || len(d.seen) != 0 || d.until.Load() != 0 {
		t.Fatalf("window did not end: seen %d", len(d.seen))
	}
}

func BenchmarkDeliverIdle(b *testing.B) {
	s := &Session{}
	s.coexist.init(Config{}, nil)
	r := Record{Type: TypeSyscall, Data: []byte("audit(1795659700.760:1461): arch=c000003e syscall=59 success=yes exit=0 a0=55d0 a1=55d1 a2=55d2 a3=0 items=2 ppid=1 pid=2 auid=0 uid=0")}
	b.ReportAllocs()
	n := 0
	batch := []Record{r}
	for i := 0; i < b.N; i++ {
		batch[0].Data = fmt.Appendf(batch[0].Data[:0], "audit(1795659700.760:%d): arch=c000003e syscall=59", i)
		s.deliver(0, batch, func(recs []Record) { n += len(recs) })
	}
	if n != b.N {
		b.Fatalf("delivered %d of %d", n, b.N)
	}
}

// TestStaleRecordDoesNotStartTheTracker feeds a session what a new audit
// PID holder may get first: a record numbered before the kernel confirmed
// it (serial 100), then records of its own, numbered from 150 on. Without
// the confirmation time (the control) the 49 serials in between count as
// lost.
func TestStaleRecordDoesNotStartTheTracker(t *testing.T) {
	for _, c := range []struct {
		name      string
		confirmed time.Time
		wantGaps  uint64
		wantStale uint64
	}{
		{"confirmed at .500", time.Unix(1795659700, 500e6), 0, 1},
		{"control: no confirmation time", time.Time{}, 49, 0},
	} {
		s := &Session{}
		s.coexist.init(Config{}, nil)
		s.staleBefore = c.confirmed
		rec := func(stamp string, serial int) []Record {
			return []Record{{Type: TypeConfig, Data: fmt.Appendf(nil, "audit(1795659700.%s:%d): op=remove_rule res=1", stamp, serial)}}
		}
		s.deliver(0, rec("100", 100), func([]Record) {})
		for n := 150; n <= 160; n++ {
			s.deliver(0, rec("600", n), func([]Record) {})
		}
		s.settle(time.Now())
		s.settle(time.Now())
		if cs := s.CoexistStats(); cs.SerialGaps != c.wantGaps || cs.StaleRecords != c.wantStale {
			t.Errorf("%s: %d gaps, %d stale, want %d and %d", c.name, cs.SerialGaps, cs.StaleRecords, c.wantGaps, c.wantStale)
		}
	}
}
