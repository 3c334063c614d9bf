package audit

import (
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// nlgrpReadlog is AUDIT_NLGRP_READLOG (include/uapi/linux/audit.h): the
// multicast group of NETLINK_AUDIT that gets a copy of every record
// (kernel/audit.c kauditd_send_multicast_skb, Linux 3.16). Joining it needs
// CAP_AUDIT_READ, not the audit PID, so it can be read beside auditd.
const nlgrpReadlog = 1

// Mode says how a session receives records.
type Mode int

const (
	// ModeUnicast: the session holds the audit PID; the kernel unicasts
	// every record to its data socket.
	ModeUnicast Mode = iota
	// ModeMulticast: another daemon (auditd) holds the audit PID; the
	// session reads the multicast group.
	ModeMulticast
	// ModeLocked: audit is locked (enabled 2): the session reads the
	// multicast group and changes nothing, not even its own rules.
	ModeLocked
)

func (m Mode) String() string {
	switch m {
	case ModeUnicast:
		return "unicast"
	case ModeMulticast:
		return "multicast"
	case ModeLocked:
		return "locked"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// MarshalText writes the mode's name (logs, the status file).
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads a name MarshalText wrote.
func (m *Mode) UnmarshalText(b []byte) error {
	for _, c := range []Mode{ModeUnicast, ModeMulticast, ModeLocked} {
		if string(b) == c.String() {
			*m = c
			return nil
		}
	}
	return fmt.Errorf("audit: unknown mode %q", b)
}

// openMulticast opens a NETLINK_AUDIT socket for the multicast group. It
// does not join yet (join does). Unlike the unicast socket it keeps ENOBUFS
// on: a multicast reader's overflow is not counted in the kernel's lost
// counter (netlink_broadcast just skips a full socket), so the error on the
// next read is the only sign that records were dropped.
func openMulticast(rcvbuf int, window time.Duration) (*stream, error) {
	return dialStream("multicast", rcvbuf, window)
}

// joinReadlog joins the multicast group; EPERM means no CAP_AUDIT_READ.
func (s *stream) joinReadlog() error {
	if err := unix.SetsockoptInt(s.batch.FD(), unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, nlgrpReadlog); err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("audit: join the audit multicast group: needs CAP_AUDIT_READ (kernel 3.16 or later): %w", err)
		}
		return fmt.Errorf("audit: join the audit multicast group: %w", err)
	}
	return nil
}

// leaveReadlog leaves the multicast group (the socket stays open).
func (s *stream) leaveReadlog() error {
	if err := unix.SetsockoptInt(s.batch.FD(), unix.SOL_NETLINK, unix.NETLINK_DROP_MEMBERSHIP, nlgrpReadlog); err != nil {
		return fmt.Errorf("audit: leave the audit multicast group: %w", err)
	}
	return nil
}

// dedupeWindow is how long records are compared across the two sockets
// after a switch between unicast and multicast: long enough to read what
// both sockets queued around the switch.
const dedupeWindow = 3 * time.Second

// dedupeMax bounds the remembered records; past it the window ends early
// (a record may then be handed on twice, which the assembler tolerates
// better than a loss).
const dedupeMax = 1 << 17

// deduper drops the second copy of a record that arrived on both sockets
// around a switch. Records are told apart by their whole text (the header
// carries the serial, and records of one event differ in type or fields,
// e.g. PATH item=0 and item=1), hashed. Outside the window it costs one
// atomic load.
type deduper struct {
	until atomic.Int64 // unix nanoseconds; 0 when idle

	mu   sync.Mutex
	seed maphash.Seed
	seen map[uint64]int // hash -> socket that delivered it first
	// Dropped counts second copies dropped.
	dropped atomic.Uint64
}

func newDeduper() *deduper {
	return &deduper{seed: maphash.MakeSeed(), seen: map[uint64]int{}}
}

// open starts (or extends) a window.
func (d *deduper) open(now time.Time) { d.until.Store(now.Add(dedupeWindow).UnixNano()) }

// pass reports whether a record from socket src is to be handed on.
func (d *deduper) pass(src int, r Record, now time.Time) bool {
	until := d.until.Load()
	if until == 0 {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if now.UnixNano() > until || len(d.seen) >= dedupeMax {
		clear(d.seen)
		d.until.CompareAndSwap(until, 0)
		return true
	}
	var h maphash.Hash
	h.SetSeed(d.seed)
	var t [2]byte
	t[0], t[1] = byte(r.Type), byte(r.Type>>8)
	h.Write(t[:])
	h.Write(r.Data)
	k := h.Sum64()
	if first, ok := d.seen[k]; ok && first != src {
		delete(d.seen, k)
		d.dropped.Add(1)
		return false
	}
	d.seen[k] = src
	return true
}
