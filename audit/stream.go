package audit

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/aptsentinel/aptsentinel/internal/mmsg"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// DefaultReceiveBuffer is the data socket's receive buffer: large enough to
// absorb a burst (an apt run execs hundreds of processes) while the sensor
// is busy.
const DefaultReceiveBuffer = 8 << 20

// readBufferSize holds any one audit message: MAX_AUDIT_MESSAGE_LENGTH is
// 8970 bytes (include/uapi/linux/audit.h) plus the netlink header.
const readBufferSize = 64 << 10

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
}

// stream is the data socket: the one that becomes the audit PID, so the
// kernel unicasts every record to it (kernel/audit.c auditd_set stores the
// sender's port id).
type stream struct {
	conn *netlink.Conn
	raw  syscall.RawConn
	buf  []byte

	// pending holds records (copied) that arrived while waiting for the
	// ACK of set-pid; Run hands them out first.
	pending []Record

	// read state, filled by readFn; kept here so that the closure passed
	// to RawConn.Read is built once and receiving allocates nothing.
	readFn  func(fd uintptr) bool
	n       int
	errno   unix.Errno
	fromPID uint32

	// batch reads with recvmmsg(2); recs holds the records of a batch.
	batch *mmsg.Reader
	recs  []Record

	messages, bytes, enobufs, foreign, short, truncated, reads atomic.Uint64
}

// openStream opens the data socket with a receive buffer of rcvbuf bytes
// (SO_RCVBUFFORCE, which may exceed net.core.rmem_max, else SO_RCVBUF) and
// NETLINK_NO_ENOBUFS, so that an overflow loses records (counted by the
// kernel in Status.Lost) instead of failing the read.
func openStream(rcvbuf int) (*stream, error) {
	s, err := dialStream("data", rcvbuf)
	if err != nil {
		return nil, err
	}
	if err := s.conn.SetOption(netlink.NoENOBUFS, true); err != nil {
		s.conn.Close()
		return nil, fmt.Errorf("audit: data socket: set NETLINK_NO_ENOBUFS: %w", err)
	}
	return s, nil
}

// dialStream opens a NETLINK_AUDIT socket with an rcvbuf-byte receive
// buffer, ready to read records one at a time or in batches; what names it
// in errors ("data", "multicast").
func dialStream(what string, rcvbuf int) (*stream, error) {
	conn, err := netlink.Dial(unix.NETLINK_AUDIT, nil)
	if err != nil {
		return nil, fmt.Errorf("audit: dial %s socket: %w", what, err)
	}
	s := &stream{conn: conn, buf: make([]byte, readBufferSize)}
	if s.raw, err = conn.SyscallConn(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("audit: %s socket: %w", what, err)
	}
	if err := s.setReceiveBuffer(rcvbuf); err != nil {
		conn.Close()
		return nil, err
	}
	s.readFn = s.recvOnce
	s.initBatch()
	return s, nil
}

// initBatch sets up the batched read.
func (s *stream) initBatch() {
	s.batch = mmsg.NewReader(s.raw, batchSlots, slotSize)
	s.recs = make([]Record, 0, batchSlots)
}

func (s *stream) setReceiveBuffer(n int) error {
	var sockErr error
	err := s.raw.Control(func(fd uintptr) {
		sockErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n)
	})
	if err == nil && sockErr == nil {
		return nil
	}
	// SO_RCVBUFFORCE needs CAP_NET_ADMIN; SO_RCVBUF is capped at rmem_max.
	if err := s.conn.SetReadBuffer(n); err != nil {
		return fmt.Errorf("audit: data socket: set receive buffer to %d bytes: %w", n, err)
	}
	return nil
}

// receiveBuffer returns the kernel's receive buffer size (twice what was set,
// socket(7)).
func (s *stream) receiveBuffer() (int, error) { return s.conn.ReadBuffer() }

// recvOnce is the RawConn.Read callback: one recvfrom(2) into s.buf with the
// sender's address, so records forged by a local process (unicast to our
// port id is allowed to anyone) can be told from the kernel's.
func (s *stream) recvOnce(fd uintptr) bool {
	var from unix.RawSockaddrNetlink
	fromLen := uint32(unix.SizeofSockaddrNetlink)
	n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, fd,
		uintptr(unsafe.Pointer(&s.buf[0])), uintptr(len(s.buf)), unix.MSG_DONTWAIT,
		uintptr(unsafe.Pointer(&from)), uintptr(unsafe.Pointer(&fromLen)))
	if errno == unix.EAGAIN || errno == unix.EINTR {
		return false // wait for the poller
	}
	s.n, s.errno, s.fromPID = int(n), errno, from.Pid
	return true
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
	}
	s.reads.Add(1)
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

// datagram is one received netlink datagram.
type datagram struct {
	typ uint16
	seq uint32
	// payload is everything after the header. Audit records carry one
	// message per datagram and kernel/audit.c audit_log_end sets their
	// nlmsg_len to the payload length only (kauditd_send_multicast_skb
	// explains the quirk), so the header's length is not used.
	payload []byte
}

var errSkip = errors.New("skip datagram")

// receive reads one datagram. errSkip means it was dropped and counted.
func (s *stream) receive() (datagram, error) {
	if err := s.raw.Read(s.readFn); err != nil {
		return datagram{}, err
	}
	switch {
	case s.errno == unix.ENOBUFS:
		s.enobufs.Add(1)
		return datagram{}, errSkip
	case s.errno != 0:
		return datagram{}, os.NewSyscallError("recvfrom", s.errno)
	case s.fromPID != 0:
		s.foreign.Add(1)
		return datagram{}, errSkip
	case s.n < nlmsgHeaderLen:
		s.short.Add(1)
		return datagram{}, errSkip
	}
	b := s.buf[:s.n]
	return datagram{
		typ:     binary.NativeEndian.Uint16(b[4:6]),
		seq:     binary.NativeEndian.Uint32(b[8:12]),
		payload: b[nlmsgHeaderLen:],
	}, nil
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
	req, err := s.conn.Send(netlink.Message{
		Header: netlink.Header{Type: msgSet, Flags: netlink.Request | netlink.Acknowledge},
		Data:   b,
	})
	if err != nil {
		return fmt.Errorf("audit: set audit pid: %w", mapPermission(err))
	}
	if err := s.conn.SetReadDeadline(time.Now().Add(controlTimeout)); err != nil {
		return err
	}
	defer s.conn.SetReadDeadline(time.Time{})
	for {
		d, err := s.receive()
		if errors.Is(err, errSkip) {
			continue
		}
		if err != nil {
			return fmt.Errorf("audit: set audit pid: waiting for ACK: %w", err)
		}
		if d.typ == nlmsgError && d.seq == req.Header.Sequence {
			if len(d.payload) < 4 {
				return fmt.Errorf("audit: set audit pid: short NLMSG_ERROR of %d bytes", len(d.payload))
			}
			if code := int32(binary.NativeEndian.Uint32(d.payload)); code != 0 {
				return fmt.Errorf("audit: set audit pid: %w", mapPermission(unix.Errno(-code)))
			}
			return nil
		}
		if isRecord(d.typ) {
			s.pending = append(s.pending, Record{Type: d.typ, Data: bytes.Clone(recordData(d.payload))})
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
	if _, err := s.conn.Send(netlink.Message{Header: netlink.Header{Type: msgSet, Flags: netlink.Request}, Data: b}); err != nil {
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

	// A read deadline in the past wakes the blocked read without closing
	// the socket, which stays the audit PID until Close.
	woken := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		s.conn.SetReadDeadline(time.Unix(1, 0))
		close(woken)
	})
	defer func() {
		if !stop() {
			<-woken
			s.conn.SetReadDeadline(time.Time{})
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
	return StreamStats{
		Messages: s.messages.Load(),
		Bytes:    s.bytes.Load(),
		ENOBUFS:  s.enobufs.Load(),
		Foreign:  s.foreign.Load(),
		Short:    s.short.Load(),

		Truncated: s.truncated.Load(),
		Reads:     s.reads.Load(),
	}
}

func (s *stream) close() error { return s.conn.Close() }

// wake makes a blocked receive return (Close uses it to stop Run).
func (s *stream) wake() { s.conn.SetReadDeadline(time.Unix(1, 0)) }
