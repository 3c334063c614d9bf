package audit

import "slices"

// serialWindow is how many serials the gap tracker holds open at once; a
// serial still missing when this many newer ones have come is lost.
const serialWindow = 1 << 16

// settledKept is how many serials settled as missing are remembered, so
// that one arriving late takes its loss back.
const settledKept = 1024

// serialTracker counts gaps in audit serial numbers: records the kernel
// numbered but that never reached the sensor. A multicast reader needs it:
// netlink_broadcast skips a socket whose buffer is full and the kernel's
// lost counter does not move (net/netlink/af_netlink.c do_one_broadcast).
//
// Every serial is a record (kernel/audit.c: audit_log_start takes one,
// through audit_get_stamp, only after the exclude filter and the backlog
// check, for a buffer it always ends with audit_log_end), so a missing
// serial is always a record that did not reach the sensor; see the README,
// "Cost and losses", for the kernel paths that drop one.
//
// Serials are taken when an event's first record is started
// (kernel/audit.c audit_get_stamp) and records are queued as each ends, so
// records from two CPUs arrive a little out of order. A missing serial is
// settled as lost only after a whole Settle period passed since a newer
// one was seen, or when the window is full; should it arrive after all,
// its loss is taken back.
type serialTracker struct {
	started bool
	base    uint64 // every serial below base is settled
	max     uint64 // highest serial seen
	mark    uint64 // max at the previous Settle
	seen    [serialWindow / 64]uint64
	gaps    uint64 // serials settled as missing
	late    uint64 // of those, the ones that arrived after all
	// settled is a ring of the last serials settled as missing, in the
	// order settled (ascending); taken marks the ones that came late.
	settled  [settledKept]uint64
	taken    [settledKept / 64]uint64
	nSettled uint64 // serials ever put in settled
}

// serialOf reads SERIAL from "audit(SEC.MSEC:SERIAL): ..." without
// allocating; ok is false for records without that header.
func serialOf(b []byte) (uint64, bool) {
	const prefix = "audit("
	if len(b) < len(prefix) || string(b[:len(prefix)]) != prefix {
		return 0, false
	}
	i := len(prefix)
	for i < len(b) && b[i] != ':' && b[i] != ')' {
		i++
	}
	if i >= len(b) || b[i] != ':' {
		return 0, false
	}
	i++
	var n uint64
	digits := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9' && digits < 20; i++ {
		n = n*10 + uint64(b[i]-'0')
		digits++
	}
	if digits == 0 || i >= len(b) || b[i] != ')' {
		return 0, false
	}
	return n, true
}

func (t *serialTracker) bit(n uint64) (int, uint64) {
	i := n % serialWindow
	return int(i / 64), 1 << (i % 64)
}

// see notes one record's serial (several records of one event share it).
func (t *serialTracker) see(n uint64) {
	if !t.started || n+serialWindow < t.base {
		// First record, or the numbering restarted (a serial far below
		// everything seen): start afresh, nothing to compare with.
		t.started = true
		t.seen = [serialWindow / 64]uint64{}
		t.base, t.max, t.mark = n, n, n
		t.nSettled, t.taken = 0, [settledKept / 64]uint64{}
	}
	if n < t.base {
		t.takeBack(n) // settled already: late, not lost
		return
	}
	if n >= t.base+serialWindow {
		t.settleTo(n - serialWindow + 1)
	}
	w, b := t.bit(n)
	t.seen[w] |= b
	if n > t.max {
		t.max = n
	}
}

// settleTo counts every unseen serial below to as a gap.
func (t *serialTracker) settleTo(to uint64) {
	held := min(to, t.max+1)
	for ; t.base < held; t.base++ {
		w, b := t.bit(t.base)
		if t.seen[w]&b == 0 {
			t.gaps++
			t.remember(t.base)
		}
		t.seen[w] &^= b
	}
	if to > t.base {
		// Past everything seen: the serials in between never came.
		t.gaps += to - t.base
		t.base = to
	}
}

// Settle counts as lost every serial below the highest one seen at the
// previous call that is still missing: it had a whole period to arrive.
func (t *serialTracker) Settle() {
	if !t.started {
		return
	}
	if t.mark > t.base {
		t.settleTo(t.mark)
	}
	t.mark = t.max
}

// remember keeps a serial settled as missing.
func (t *serialTracker) remember(n uint64) {
	i := t.nSettled % settledKept
	t.settled[i] = n
	t.taken[i/64] &^= 1 << (i % 64)
	t.nSettled++
}

// takeBack takes back the loss of serial n, settled as missing, when it is
// one of the remembered ones not taken back yet. The ring is ascending in
// the order settled: a binary search finds it.
func (t *serialTracker) takeBack(n uint64) {
	held := min(t.nSettled, settledKept)
	first := t.nSettled - held
	at := func(k uint64) uint64 { return t.settled[(first+k)%settledKept] }
	lo, hi := uint64(0), held
	for lo < hi {
		mid := lo + (hi-lo)/2
		if at(mid) < n {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == held || at(lo) != n {
		return // a seen serial's later record, or one forgotten
	}
	i := (first + lo) % settledKept
	if t.taken[i/64]&(1<<(i%64)) != 0 {
		return // its loss was taken back by an earlier record
	}
	t.taken[i/64] |= 1 << (i % 64)
	t.late++
}

// Gaps returns the serials counted as lost so far: settled as missing and
// not arrived since. It goes down when a settled one arrives late.
func (t *serialTracker) Gaps() uint64 { return t.gaps - t.late }

// Late returns the serials settled as missing that arrived after all.
func (t *serialTracker) Late() uint64 { return t.late }

// lastMissing returns the last serials (at most n) settled as missing and
// not arrived since, oldest first.
func (t *serialTracker) lastMissing(n int) []uint64 {
	var out []uint64
	for k := t.nSettled; k > t.nSettled-min(t.nSettled, settledKept) && len(out) < n; k-- {
		i := (k - 1) % settledKept
		if t.taken[i/64]&(1<<(i%64)) == 0 {
			out = append(out, t.settled[i])
		}
	}
	slices.Reverse(out)
	return out
}

// LastMissingSerials returns the last audit serials (at most 8) counted as
// serial gaps, oldest first: the kernel log may hold their records (a
// record the kernel could not hand to any reader is printed there,
// kernel/audit.c kauditd_hold_skb and kauditd_printk_skb).
func (s *Session) LastMissingSerials() []uint64 {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	return s.serials.lastMissing(8)
}
