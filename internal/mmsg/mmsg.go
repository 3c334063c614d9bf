// Package mmsg reads datagrams from a netlink socket in batches: one
// recvmmsg(2) takes every datagram queued, up to a fixed number of slots,
// into buffers kept for the reader's life, so a read allocates nothing.
// The audit data socket and the proc connector socket both read this way.
//
// The socket is kept out of the Go runtime's poller (Dial): the poller
// watches sockets edge-triggered, so every datagram queued wakes a thread,
// even one that nobody is waiting for. A Reader waits on an epoll set of
// its own instead (the socket armed one-shot, a timer and a waker), which
// the runtime's poller watches in its place; that is what lets a batch
// window (NewReader) gather the records of many events into one wake-up.
package mmsg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// ErrWoken is returned by Read after Wake.
var ErrWoken = errors.New("mmsg: read woken")

// mmsghdr is struct mmsghdr (include/linux/socket.h), which x/sys/unix
// does not define; Go pads it to the C layout on every architecture.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// Reader reads one socket in batches. Read is for one goroutine at a
// time; Wake may be called from any.
type Reader struct {
	sock, ep, timer, waker int
	epf                    *os.File // ep, watched by the runtime's poller
	epRaw                  syscall.RawConn
	waitFn                 func(fd uintptr) bool // r.poll, bound once so waits do not allocate
	evs                    [4]unix.EpollEvent

	window   time.Duration
	armed    bool      // the socket is armed in ep (one-shot)
	partial  bool      // the last read emptied the socket
	lastRead time.Time // when a read last returned datagrams
	woken    atomic.Bool
	// hurryUntil (unix nanoseconds): until then reads take no window
	// (Hurry).
	hurryUntil atomic.Int64
	// follow is the socket of a Reader that this one reads for (Follow),
	// -1 if none; followArmed is its armed state in ep (as armed is the
	// own socket's), followReady that it woke a wait and was not yet
	// handed to the caller.
	follow                   int
	followArmed, followReady bool

	msgs  []mmsghdr
	iovs  []unix.Iovec
	froms []unix.RawSockaddrNetlink
	slab  []byte
	slot  int

	n     int
	errno unix.Errno
}

// Dial opens a netlink socket of the given protocol (NETLINK_AUDIT,
// NETLINK_CONNECTOR) with mdlayher/netlink, bound to a port id the kernel
// picks, and takes it out of the runtime's poller: it duplicates the
// descriptor and closes the original through the netlink conn, which
// removes the poller's registration. The copy is the same socket; a
// Reader waits for it, and its reads never wait (MSG_DONTWAIT).
func Dial(protocol int) (int, error) {
	conn, err := netlink.Dial(protocol, nil)
	if err != nil {
		return -1, err
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return -1, err
	}
	fd, dupErr := -1, error(nil)
	if err := raw.Control(func(s uintptr) { fd, dupErr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		conn.Close()
		return -1, err
	}
	if dupErr != nil {
		conn.Close()
		return -1, fmt.Errorf("duplicate the socket: %w", dupErr)
	}
	if err := conn.Close(); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("close the poller's copy of the socket: %w", err)
	}
	return fd, nil
}

// SetReceiveBuffer sets sock's receive buffer to n bytes: SO_RCVBUFFORCE,
// which root may set above net.core.rmem_max, else SO_RCVBUF (capped at
// rmem_max).
func SetReceiveBuffer(sock, n int) error {
	if unix.SetsockoptInt(sock, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n) == nil {
		return nil
	}
	if err := unix.SetsockoptInt(sock, unix.SOL_SOCKET, unix.SO_RCVBUF, n); err != nil {
		return fmt.Errorf("set receive buffer to %d bytes: %w", n, err)
	}
	return nil
}

// NewReader returns a reader of up to slots datagrams of up to slotSize
// bytes each per read from sock, a socket outside the runtime's poller
// (Dial); a longer datagram is cut by the kernel (Datagram reports it).
// The reader owns sock from then on: Close closes it.
//
// window is the batch window: after a read that emptied the socket, while
// datagrams keep coming (two reads within window), the next read waits for
// the window's end, so that one wake-up takes what came meanwhile. Ends
// fall on multiples of window since process start, so readers with the
// same window wake together. A datagram after a calm of at least window is
// read at once. 0 reads every datagram as soon as it is queued.
func NewReader(sock, slots, slotSize int, window time.Duration) (r *Reader, err error) {
	r = &Reader{
		sock: sock, ep: -1, timer: -1, waker: -1, window: window, follow: -1,
		msgs:  make([]mmsghdr, slots),
		iovs:  make([]unix.Iovec, slots),
		froms: make([]unix.RawSockaddrNetlink, slots),
		slab:  make([]byte, slots*slotSize),
		slot:  slotSize,
	}
	defer func() {
		if err != nil {
			r.closeWaiters()
		}
	}()
	for i := range r.msgs {
		r.iovs[i].Base = &r.slab[i*slotSize]
		r.iovs[i].SetLen(slotSize)
		r.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&r.froms[i]))
		r.msgs[i].hdr.Iov = &r.iovs[i]
		r.msgs[i].hdr.SetIovlen(1)
	}
	if r.ep, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("mmsg: epoll_create1: %w", err)
	}
	if r.timer, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err != nil {
		return nil, fmt.Errorf("mmsg: timerfd_create: %w", err)
	}
	if r.waker, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		return nil, fmt.Errorf("mmsg: eventfd: %w", err)
	}
	for _, fd := range []int{r.timer, r.waker} {
		if err := unix.EpollCtl(r.ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
			return nil, fmt.Errorf("mmsg: epoll_ctl: %w", err)
		}
	}
	if err := unix.EpollCtl(r.ep, unix.EPOLL_CTL_ADD, sock, &unix.EpollEvent{Fd: int32(sock)}); err != nil {
		return nil, fmt.Errorf("mmsg: epoll_ctl: %w", err)
	}
	// A non-blocking epoll descriptor goes into the runtime's poller.
	if err := unix.SetNonblock(r.ep, true); err != nil {
		return nil, fmt.Errorf("mmsg: epoll: %w", err)
	}
	r.epf = os.NewFile(uintptr(r.ep), "mmsg-epoll")
	if r.epRaw, err = r.epf.SyscallConn(); err != nil {
		return nil, fmt.Errorf("mmsg: epoll: %w", err)
	}
	r.waitFn = r.poll
	return r, nil
}

// FD returns the socket, for sends and socket options.
func (r *Reader) FD() int { return r.sock }

// Read waits for at least one datagram and reads what is queued (see
// NewReader for the batch window). It returns how many it read, or the
// socket's error number (ENOBUFS after an overrun), or ErrWoken after
// Wake. A reader that follows another (Follow) also returns 0 datagrams
// when only the followed socket has some, and at the end of a window
// that gathered nothing of its own: the caller reads the followed socket
// (ReadNow) after every Read.
func (r *Reader) Read() (n int, errno unix.Errno, err error) {
	for {
		if r.woken.Load() {
			return 0, 0, ErrWoken
		}
		if !r.partial || r.window == 0 {
			if r.recv() {
				return r.took()
			}
			if r.followReady {
				r.followReady = false
				return 0, 0, nil
			}
			if err := r.arm(true); err != nil {
				return 0, 0, err
			}
		} else {
			if err := r.disarm(); err != nil {
				return 0, 0, err
			}
			if err := r.setTimer(r.window - time.Since(epoch)%r.window); err != nil {
				return 0, 0, err
			}
		}
		if err := r.epRaw.Read(r.waitFn); err != nil {
			return 0, 0, err
		}
		if r.woken.Load() {
			return 0, 0, ErrWoken
		}
		if r.partial {
			// The window ended (or Hurry cut it short): read what
			// gathered, or wait for the socket when nothing did.
			r.partial = false
			if r.recv() {
				return r.took()
			}
			if r.follow >= 0 {
				return 0, 0, nil
			}
		}
	}
}

// Follow makes r read for f: r's waits also end when f's socket has a
// datagram while r is calm, and r's windows gather f's datagrams with
// r's own (f's socket is not watched during a window: r wakes at its
// end anyway). The caller reads f with ReadNow after every Read of r, so
// f's datagrams cost no wake-up of their own while r's keep coming, and
// are read after any of r's that came later than them. Nothing else may
// wait on f; f's window is not used.
func (r *Reader) Follow(f *Reader) error {
	if err := unix.EpollCtl(r.ep, unix.EPOLL_CTL_ADD, f.sock, &unix.EpollEvent{Fd: int32(f.sock)}); err != nil {
		return fmt.Errorf("mmsg: follow: epoll_ctl: %w", err)
	}
	r.follow = f.sock
	return nil
}

// ReadNow reads what is queued without waiting; ok is false when nothing
// was (n and errno are then 0). It keeps no window: it is for a socket
// that another Reader follows.
func (r *Reader) ReadNow() (n int, errno unix.Errno, ok bool) {
	if !r.recv() {
		return 0, 0, false
	}
	n, errno = r.n, r.errno
	if errno != 0 {
		n = 0
	}
	return n, errno, true
}

// ReadUntil waits until deadline for a datagram, without a window, and
// reads what is queued; it returns os.ErrDeadlineExceeded when nothing
// came in time. It is for replies to requests (the set-pid ACK, the
// connector's LISTEN reply, the control socket's answers); it waits as
// Read does, in the runtime's poller, without a system call the
// runtime's way.
func (r *Reader) ReadUntil(deadline time.Time) (n int, errno unix.Errno, err error) {
	timed := false
	for {
		if r.woken.Load() {
			return 0, 0, ErrWoken
		}
		if r.recv() {
			n, errno, _ = r.took()
			if timed {
				err = r.setTimer(0) // a timer left armed would wake the reader later
			}
			return n, errno, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return 0, 0, os.ErrDeadlineExceeded
		}
		if err := r.arm(false); err != nil {
			return 0, 0, err
		}
		if err := r.setTimer(left); err != nil {
			return 0, 0, err
		}
		timed = true
		if err := r.epRaw.Read(r.waitFn); err != nil {
			return 0, 0, err
		}
	}
}

// took ends a read that returned: it notes whether the socket was emptied
// and whether datagrams keep coming.
func (r *Reader) took() (int, unix.Errno, error) {
	if r.errno != 0 {
		r.partial = false
		return 0, r.errno, nil
	}
	now := time.Now()
	// A read that emptied the socket shortly after another is a stream:
	// the next read waits for the window's end. After a calm, the socket
	// is armed again, so a lone event is read the moment it comes.
	r.partial = r.n < len(r.msgs) && now.Sub(r.lastRead) < r.window && now.UnixNano() >= r.hurryUntil.Load()
	r.lastRead = now
	return r.n, 0, nil
}

// recv is one recvmmsg(2) that never waits, as a raw system call: it
// cannot block, and entering a system call the runtime's way wakes the
// runtime's monitor thread (sysmon) when the process was idle, one more
// thread switch per read at low rates. It reports whether it read
// datagrams or got an error.
func (r *Reader) recv() bool {
	for i := range r.msgs {
		r.msgs[i].hdr.Namelen = unix.SizeofSockaddrNetlink
		r.msgs[i].hdr.Flags = 0
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(r.sock),
		uintptr(unsafe.Pointer(&r.msgs[0])), uintptr(len(r.msgs)), unix.MSG_DONTWAIT, 0, 0)
	if errno == unix.EAGAIN || errno == unix.EINTR {
		return false
	}
	r.n, r.errno = int(n), errno
	return true
}

// arm asks ep for the socket's next datagram (one-shot: datagrams queued
// while a window runs wake nobody); with also, the followed socket's too
// (Read's waits, not ReadUntil's).
func (r *Reader) arm(also bool) error {
	if !r.armed {
		if err := r.armOne(r.sock); err != nil {
			return err
		}
		r.armed = true
	}
	if also && r.follow >= 0 && !r.followArmed {
		if err := r.armOne(r.follow); err != nil {
			return err
		}
		r.followArmed = true
	}
	return nil
}

// disarm takes back what an earlier calm wait armed and nothing reported
// (its datagram was read without a wait): a window's wait ends at the
// window's end, not at the next datagram.
func (r *Reader) disarm() error {
	if r.armed {
		if err := r.setEvents(r.sock, 0); err != nil {
			return err
		}
		r.armed = false
	}
	if r.followArmed {
		if err := r.setEvents(r.follow, 0); err != nil {
			return err
		}
		r.followArmed = false
	}
	return nil
}

func (r *Reader) armOne(fd int) error { return r.setEvents(fd, unix.EPOLLIN|unix.EPOLLONESHOT) }

func (r *Reader) setEvents(fd int, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	if _, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(r.ep), unix.EPOLL_CTL_MOD,
		uintptr(fd), uintptr(unsafe.Pointer(&ev)), 0, 0); errno != 0 {
		return fmt.Errorf("mmsg: epoll_ctl: %w", errno)
	}
	return nil
}

// setTimer arms the timer to fire once after d; 0 disarms it.
func (r *Reader) setTimer(d time.Duration) error {
	var spec unix.ItimerSpec
	if d > 0 {
		spec.Value = unix.NsecToTimespec(int64(d))
	}
	if _, _, errno := unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(r.timer), 0,
		uintptr(unsafe.Pointer(&spec)), 0, 0, 0); errno != 0 {
		return fmt.Errorf("mmsg: timerfd_settime: %w", errno)
	}
	return nil
}

// poll is the runtime poller's callback for ep: it takes what ep holds
// and reports whether anything was there (else the goroutine parks until
// ep is readable).
func (r *Reader) poll(uintptr) bool {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(r.ep),
		uintptr(unsafe.Pointer(&r.evs[0])), uintptr(len(r.evs)), 0, 0, 0)
	if errno != 0 || n == 0 {
		return errno != 0 && errno != unix.EINTR
	}
	var b [8]byte
	for i := range int(n) {
		switch int(r.evs[i].Fd) {
		case r.sock:
			r.armed = false // one-shot: disarmed by this event
		case r.follow:
			r.followArmed, r.followReady = false, true
		case r.timer, r.waker:
			// Reset the descriptor's count so it stops being readable.
			unix.RawSyscall(unix.SYS_READ, uintptr(r.evs[i].Fd), uintptr(unsafe.Pointer(&b[0])), 8)
		}
	}
	return true
}

// Wake makes Read return ErrWoken, now if it waits and at its next call
// otherwise, until ClearWake.
func (r *Reader) Wake() {
	r.woken.Store(true)
	one := [8]byte{1}
	unix.Write(r.waker, one[:])
}

// Hurry ends the window a Read waits for, if any, and lets reads take no
// window for d: what comes meanwhile is read the moment it is queued. It
// is for a datagram that someone must see at once, announced by some
// other sign.
func (r *Reader) Hurry(d time.Duration) {
	r.hurryUntil.Store(time.Now().Add(d).UnixNano())
	one := [8]byte{1}
	unix.Write(r.waker, one[:])
}

// ClearWake undoes Wake, so that Read reads again.
func (r *Reader) ClearWake() { r.woken.Store(false) }

// Datagram returns datagram i of the last read (valid until the next
// read), whether the kernel cut it (longer than a slot: MSG_TRUNC) and the
// sender's netlink port id (0 for the kernel).
func (r *Reader) Datagram(i int) (b []byte, truncated bool, sender uint32) {
	m := &r.msgs[i]
	off := i * r.slot
	return r.slab[off : off+min(int(m.len), r.slot)], m.hdr.Flags&unix.MSG_TRUNC != 0, r.froms[i].Pid
}

// Close closes the socket and the reader's own descriptors. No Read may be
// running.
func (r *Reader) Close() error {
	r.closeWaiters()
	return unix.Close(r.sock)
}

func (r *Reader) closeWaiters() {
	if r.epf != nil {
		r.epf.Close()
	} else if r.ep >= 0 {
		unix.Close(r.ep)
	}
	for _, fd := range []int{r.timer, r.waker} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// epoch is the origin of batch windows' ends.
var epoch = time.Now()

// Send sends one netlink message (header and data) to the kernel from
// sock, the runtime's way: the call may sleep (the kernel's audit code
// makes a request's sender wait while its backlog is full), and the
// runtime lets other goroutines run meanwhile.
func Send(sock int, typ, flags uint16, seq uint32, data []byte) error {
	return unix.Sendto(sock, message(typ, flags, seq, data), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
}

// SendRaw is Send as a raw system call, which does not wake the runtime's
// monitor thread but holds the caller's P while the kernel makes it wait:
// only for a send known not to wait.
func SendRaw(sock int, typ, flags uint16, seq uint32, data []byte) error {
	b := message(typ, flags, seq, data)
	to := unix.RawSockaddrNetlink{Family: unix.AF_NETLINK}
	_, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(sock), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		0, uintptr(unsafe.Pointer(&to)), unix.SizeofSockaddrNetlink)
	if errno != 0 {
		return errno
	}
	return nil
}

// NextMessage splits the first netlink message off a datagram: its header,
// its payload and the rest. A datagram may hold several messages, each
// padded to 4 bytes; a length that does not fit is an error, so a loop
// over a datagram always ends.
func NextMessage(b []byte) (hdr unix.NlMsghdr, payload, rest []byte, err error) {
	if len(b) < unix.SizeofNlMsghdr {
		return hdr, nil, nil, fmt.Errorf("netlink message: %d bytes, want a %d-byte header", len(b), unix.SizeofNlMsghdr)
	}
	hdr = unix.NlMsghdr{
		Len:   binary.NativeEndian.Uint32(b[0:4]),
		Type:  binary.NativeEndian.Uint16(b[4:6]),
		Flags: binary.NativeEndian.Uint16(b[6:8]),
		Seq:   binary.NativeEndian.Uint32(b[8:12]),
		Pid:   binary.NativeEndian.Uint32(b[12:16]),
	}
	n := int(hdr.Len)
	if n < unix.SizeofNlMsghdr || n > len(b) {
		return hdr, nil, nil, fmt.Errorf("netlink message: length %d outside %d..%d", n, unix.SizeofNlMsghdr, len(b))
	}
	return hdr, b[unix.SizeofNlMsghdr:n], b[min((n+3)&^3, len(b)):], nil
}

// message is one netlink message: header, then data.
func message(typ, flags uint16, seq uint32, data []byte) []byte {
	return AppendMessage(nil, typ, flags, seq, data)
}

// AppendMessage appends one netlink message to b: header, data, and the
// padding to 4 bytes that a next message in the same datagram needs
// (NextMessage skips it).
func AppendMessage(b []byte, typ, flags uint16, seq uint32, data []byte) []byte {
	n := unix.SizeofNlMsghdr + len(data)
	b = binary.NativeEndian.AppendUint32(b, uint32(n))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0) // port id: the kernel's
	b = append(b, data...)
	return append(b, make([]byte, (n+3)&^3-n)...)
}
