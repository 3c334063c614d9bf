package audit

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/mmsg"
	"golang.org/x/sys/unix"
)

// DefaultReceiveBuffer is the data socket's receive buffer: large enough to
// absorb a burst (an apt run execs hundreds of processes) while the sensor
// is busy.
const DefaultReceiveBuffer = 8 << 20

// batchSlots and slotSize shape the batched read: one recvmmsg(2) takes up
// to batchSlots datagrams of up to slotSize bytes each. A record is at most
// MAX_AUDIT_MESSAGE_LENGTH (8970) bytes of text, which a PATH or CWD record
// with a hex-encoded 4095-byte path comes close to; a longer one is cut and
// counted in StreamStats.Truncated. Pages of the slab are touched only as
// deep as records reach, so resident memory follows the records' sizes.
const (
	batchSlots = BatchSlots
	slotSize   = 16 << 10
)

// BatchSlots is the most records one read of a socket hands on
// (Session.RunBatches): a batch that full means more were queued.
const BatchSlots = 64

// StreamStats counts what the data socket received.
type StreamStats struct {
	Messages uint64 // records handed to the callback
	Bytes    uint64 // payload bytes handed to the callback
	ENOBUFS  uint64 // receive-queue overflows the socket reported
	Foreign  uint64 // datagrams not from the kernel (port id != 0), dropped
	Short    uint64 // datagrams too short for a netlink header, dropped
	// Truncated counts datagrams longer than a read slot, dropped.
	Truncated uint64
	// Reads counts the receive calls that returned records, so Messages /
	// Reads is the batch size the socket delivered.
	Reads uint64
	// SerialGaps counts the events whose records never arrived: serials
	// skipped over both sockets and not come late (Session.Stats only; see
	// serialTracker).
	SerialGaps uint64
	// Drops counts the times the kernel found the receive queue full (the
	// socket's sk_drops, read with SO_MEMINFO; 32 bits per socket, as the
	// kernel keeps it). On the multicast socket each is a record lost. On
	// the data socket each is a pass of kauditd that found it full: it
	// keeps that record and the rest of its pass for a retry
	// (kernel/audit.c kauditd_send_queue, kauditd_retry_skb), and a record
	// is lost only if the retry fails too, then counted in the kernel's
	// lost counter or, dropped by kauditd_hold_skb, in SerialGaps.
	// DropsUnknown is set when the kernel does not report drops (no
	// SO_MEMINFO with its drop count, as in jessie's 3.16).
	Drops        uint64
	DropsUnknown bool
}

// stream is the data socket: the one that becomes the audit PID, so the
// kernel unicasts every record to it (kernel/audit.c auditd_set stores the
// sender's port id). Once dialed, the socket lives outside the runtime's
// poller (internal/mmsg): batch reads wait on the reader's own epoll set.
type stream struct {
	// pending holds records (copied) that arrived while waiting for the
	// ACK of set-pid; Run hands them out first.
	pending []Record

	// batch reads with recvmmsg(2); recs holds the records of a batch.
	batch *mmsg.Reader
	recs  []Record
	seq   uint32 // the last request's sequence number

	messages, bytes, enobufs, foreign, short, truncated, reads atomic.Uint64
	// dropsMu guards the drop count as last read, and closed: after
	// close the socket's descriptor is not read again.
	dropsMu              sync.Mutex
	lastDrops            uint64
	dropsUnknown, closed bool
	// drained: the last read emptied the socket (it took fewer records
	// than it had slots).
	drained atomic.Bool
	// companionRead, if set, is called after every read, before its
	// records are handed on (Config.Companion).
	companionRead func() error
}

// openStream opens the data socket with a receive buffer of rcvbuf bytes
// (SO_RCVBUFFORCE, which may exceed net.core.rmem_max, else SO_RCVBUF) and
// NETLINK_NO_ENOBUFS, so that an overflow does not fail the read: kauditd
// keeps what did not fit for a retry, and a record the retry cannot hand
// over is counted in Status.Lost or, dropped silently, as a serial gap
// (StreamStats.Drops counts the overflows).
func openStream(rcvbuf int, window time.Duration) (*stream, error) {
	s, err := dialStream("data", rcvbuf, window)
	if err != nil {
		return nil, err
	}
	if err := unix.SetsockoptInt(s.batch.FD(), unix.SOL_NETLINK, unix.NETLINK_NO_ENOBUFS, 1); err != nil {
		s.close()
		return nil, fmt.Errorf("audit: data socket: set NETLINK_NO_ENOBUFS: %w", err)
	}
	return s, nil
}

// dialStream opens a NETLINK_AUDIT socket with an rcvbuf-byte receive
// buffer and a batch window (mmsg.NewReader); what names it in errors
// ("data", "multicast").
func dialStream(what string, rcvbuf int, window time.Duration) (*stream, error) {
	fd, err := mmsg.Dial(unix.NETLINK_AUDIT)
	if err != nil {
		return nil, fmt.Errorf("audit: dial %s socket: %w", what, err)
	}
	if err := mmsg.SetReceiveBuffer(fd, rcvbuf); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("audit: %s socket: %w", what, err)
	}
	rd, err := mmsg.NewReader(fd, batchSlots, slotSize, window)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("audit: %s socket: %w", what, err)
	}
	return &stream{batch: rd, recs: make([]Record, 0, batchSlots)}, nil
}

// receiveBuffer returns the kernel's receive buffer size (twice what was set,
// socket(7)).
func (s *stream) receiveBuffer() (int, error) {
	return unix.GetsockoptInt(s.batch.FD(), unix.SOL_SOCKET, unix.SO_RCVBUF)
}

// send sends one request on this socket and returns its sequence number.
func (s *stream) send(typ uint16, flags uint16, data []byte) (uint32, error) {
	s.seq++
	return s.seq, mmsg.Send(s.batch.FD(), typ, flags|unix.NLM_F_REQUEST, s.seq, data)
}

// receiveBatch reads what is queued (at least one datagram, waiting for it)
// and returns the records among it, checked as receive checks one datagram.
// The records point into the slab: valid until the next call.
func (s *stream) receiveBatch() ([]Record, error) {
	n, errno, err := s.batch.Read()
	switch {
	case err != nil:
		return nil, err
	case errno == unix.ENOBUFS:
		s.enobufs.Add(1)
		return nil, nil
	case errno != 0:
		return nil, os.NewSyscallError("recvmmsg", errno)
	case n == 0:
		// Woken for the companion socket, or a window that gathered
		// nothing of this socket's (Config.Companion).
		s.drained.Store(true)
		return nil, nil
	}
	s.reads.Add(1)
	s.drained.Store(n < batchSlots)
	recs := s.recs[:0]
	var bytes uint64
	for i := range n {
		b, cut, sender := s.batch.Datagram(i)
		switch {
		case sender != 0:
			s.foreign.Add(1)
			continue
		case cut:
			s.truncated.Add(1)
			continue
		case len(b) < nlmsgHeaderLen:
			s.short.Add(1)
			continue
		}
		typ := binary.NativeEndian.Uint16(b[4:6])
		if !isRecord(typ) {
			continue
		}
		r := Record{Type: typ, Data: recordData(b[nlmsgHeaderLen:])}
		bytes += uint64(len(r.Data))
		recs = append(recs, r)
	}
	s.messages.Add(uint64(len(recs)))
	s.bytes.Add(bytes)
	return recs, nil
}

// recordData is a record's text. Some kernels count a trailing NUL in the
// payload; the text never contains one, so it is cut off.
func recordData(payload []byte) []byte {
	for len(payload) > 0 && payload[len(payload)-1] == 0 {
		payload = payload[:len(payload)-1]
	}
	return payload
}

// isRecord reports whether a datagram type is an audit record to hand on.
func isRecord(typ uint16) bool {
	switch typ {
	case nlmsgNoop, nlmsgError, nlmsgDone, TypeReplace:
		return false
	}
	return true
}

// becomePID sends AUDIT_SET pid=pid from this socket (the kernel takes the
// sender's port id as the destination of records; pid must be the sender's
// tgid) and waits for the ACK. Records that arrive first are kept.
func (s *stream) becomePID(pid uint32) error {
	b, err := Status{Mask: statusPID, PID: pid}.MarshalBinary()
	if err != nil {
		return err
	}
	seq, err := s.send(msgSet, unix.NLM_F_ACK, b)
	if err != nil {
		return fmt.Errorf("audit: set audit pid: %w", mapPermission(err))
	}
	deadline := time.Now().Add(controlTimeout)
	for {
		n, errno, err := s.batch.ReadUntil(deadline)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			return fmt.Errorf("audit: set audit pid: no ACK within %v", controlTimeout)
		case err != nil:
			return fmt.Errorf("audit: set audit pid: waiting for ACK: %w", err)
		case errno == unix.ENOBUFS:
			s.enobufs.Add(1)
			continue
		case errno != 0:
			return fmt.Errorf("audit: set audit pid: waiting for ACK: %w", os.NewSyscallError("recvmmsg", errno))
		}
		for i := range n {
			d, cut, sender := s.batch.Datagram(i)
			if cut || sender != 0 || len(d) < nlmsgHeaderLen {
				continue
			}
			typ := binary.NativeEndian.Uint16(d[4:6])
			payload := d[nlmsgHeaderLen:]
			if typ == nlmsgError && binary.NativeEndian.Uint32(d[8:12]) == seq {
				if len(payload) < 4 {
					return fmt.Errorf("audit: set audit pid: short NLMSG_ERROR of %d bytes", len(payload))
				}
				if code := int32(binary.NativeEndian.Uint32(payload)); code != 0 {
					return fmt.Errorf("audit: set audit pid: %w", mapPermission(unix.Errno(-code)))
				}
				return nil
			}
			if isRecord(typ) {
				s.pending = append(s.pending, Record{Type: typ, Data: bytes.Clone(recordData(payload))})
			}
		}
	}
}

// requestPID sends AUDIT_SET pid=pid from this socket without waiting: it
// is for a socket that Run is reading (the reply, an NLMSG_ERROR only on
// failure, is passed over there). The caller checks the outcome with a
// status request.
func (s *stream) requestPID(pid uint32) error {
	b, err := Status{Mask: statusPID, PID: pid}.MarshalBinary()
	if err != nil {
		return err
	}
	if _, err := s.send(msgSet, 0, b); err != nil {
		return fmt.Errorf("audit: set audit pid: %w", mapPermission(err))
	}
	return nil
}

// run hands every record to fn, in batches of what the socket held at
// once, until ctx is done or the socket fails. The records point into the
// receive buffers: they are valid only during the call to fn (copy what you
// keep).
func (s *stream) run(ctx context.Context, fn func([]Record)) error {
	if len(s.pending) > 0 {
		for _, r := range s.pending {
			s.count(r)
		}
		fn(s.pending)
		s.pending = nil
	}

	// Wake makes the blocked read return without closing the socket,
	// which stays the audit PID until Close.
	woken := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		s.batch.Wake()
		close(woken)
	})
	defer func() {
		if !stop() {
			<-woken
			s.batch.ClearWake()
		}
	}()
	for {
		recs, err := s.receiveBatch()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("audit: receive records: %w", err)
		}
		if s.companionRead != nil {
			if err := s.companionRead(); err != nil {
				return err
			}
		}
		if len(recs) > 0 {
			fn(recs)
		}
	}
}

func (s *stream) count(r Record) {
	s.messages.Add(1)
	s.bytes.Add(uint64(len(r.Data)))
}

func (s *stream) stats() StreamStats {
	st := StreamStats{
		Messages: s.messages.Load(),
		Bytes:    s.bytes.Load(),
		ENOBUFS:  s.enobufs.Load(),
		Foreign:  s.foreign.Load(),
		Short:    s.short.Load(),

		Truncated: s.truncated.Load(),
		Reads:     s.reads.Load(),
	}
	st.Drops, st.DropsUnknown = s.drops()
	return st
}

// drops reads the socket's drop count; once the socket is closed, the
// count read at close (its descriptor number may belong to another file
// by then).
func (s *stream) drops() (n uint64, unknown bool) {
	s.dropsMu.Lock()
	defer s.dropsMu.Unlock()
	if !s.closed {
		s.readDrops()
	}
	return s.lastDrops, s.dropsUnknown
}

// readDrops reads the drop count into lastDrops. Called with dropsMu held.
func (s *stream) readDrops() {
	if d, err := mmsg.Drops(s.batch.FD()); err == nil {
		s.lastDrops, s.dropsUnknown = uint64(d), false
	} else {
		s.dropsUnknown = true
	}
}

func (s *stream) close() error {
	s.dropsMu.Lock()
	defer s.dropsMu.Unlock()
	if !s.closed {
		s.readDrops()
	}
	s.closed = true
	return s.batch.Close()
}

// wake makes a blocked receive return (Close uses it to stop Run).
func (s *stream) wake() { s.batch.Wake() }
