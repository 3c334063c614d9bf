package audit

// serialWindow is how many serials the gap tracker holds open at once; a
// serial still missing when this many newer ones have come is lost.
const serialWindow = 1 << 16

// serialTracker counts gaps in audit serial numbers: records the kernel
// numbered but that never reached the sensor. A multicast reader needs it:
// netlink_broadcast skips a socket whose buffer is full and the kernel's
// lost counter does not move (net/netlink/af_netlink.c do_one_broadcast).
//
// Serials are taken when an event's first record is started
// (kernel/audit.c audit_get_stamp) and events are queued when they end, so
// records from two CPUs arrive a little out of order. A missing serial is
// settled as lost only after a whole Settle period passed since a newer
// one was seen, or when the window is full.
type serialTracker struct {
	started bool
	base    uint64 // every serial below base is settled
	max     uint64 // highest serial seen
	mark    uint64 // max at the previous Settle
	seen    [serialWindow / 64]uint64
	gaps    uint64
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
	}
	if n < t.base {
		return // settled already (counted as a gap); late, not lost
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

// Gaps returns the serials counted as lost so far.
func (t *serialTracker) Gaps() uint64 { return t.gaps }
