package audit

// gapWindow is how far back (in serials) a record may arrive late and still
// close the gap it left: serials are taken when an event's first record is
// started and records are queued when each ends, so events ended on other
// CPUs overtake one another by a few serials (kernel/audit.c audit_serial,
// audit_log_end).
const gapWindow = 4096

// gapCounter counts audit event serials that never arrived: the kernel
// numbers every event it logs with one global counter, so a serial the
// stream skips is an event lost on the way (or dropped by the kernel, which
// then also counts it in Status.Lost). Gaps are counted when the stream
// moves past them and taken back when the serial arrives late, within
// gapWindow.
type gapCounter struct {
	next    uint64 // highest serial seen + 1; 0 before the first
	missing uint64 // gaps counted and not taken back
	// late marks serials in [next-gapWindow, next) that were skipped.
	late [gapWindow / 64]uint64
}

// see records that serial arrived.
func (g *gapCounter) see(serial uint64) {
	switch {
	case g.next == 0:
		g.next = serial + 1
	case serial >= g.next:
		// Clear the marks of the serials leaving the window, mark the skipped.
		skipped := serial - g.next
		if skipped >= gapWindow {
			g.late = [gapWindow / 64]uint64{}
			for s := serial - gapWindow + 1; s < serial; s++ {
				g.mark(s, true)
			}
		} else {
			for s := g.next; s <= serial; s++ {
				g.mark(s, s != serial)
			}
		}
		g.missing += skipped
		g.next = serial + 1
	case g.next-serial <= gapWindow && g.marked(serial):
		g.mark(serial, false)
		g.missing--
	}
	// Otherwise a second record of an event already seen (the common
	// case), or a serial too old to tell.
}

func (g *gapCounter) mark(s uint64, on bool) {
	i, bit := (s%gapWindow)/64, uint64(1)<<(s%64)
	if on {
		g.late[i] |= bit
	} else {
		g.late[i] &^= bit
	}
}

func (g *gapCounter) marked(s uint64) bool {
	return g.late[(s%gapWindow)/64]&(uint64(1)<<(s%64)) != 0
}

// recordSerial returns the serial of a record's "audit(SEC.MSEC:SERIAL):"
// header without parsing the rest; ok is false when there is none.
func recordSerial(b []byte) (serial uint64, ok bool) {
	const prefix = "audit("
	if len(b) < len(prefix) || string(b[:len(prefix)]) != prefix {
		return 0, false
	}
	for i := len(prefix); i < len(b) && i < 40; i++ {
		if b[i] == ':' {
			v, end, ok := scanUint(b, i+1)
			return v, ok && end < len(b) && b[end] == ')'
		}
	}
	return 0, false
}
