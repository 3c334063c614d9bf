package procfs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/mmsg"
	"golang.org/x/sys/unix"
)

// DefaultReceiveBuffer is the socket receive buffer Listen asks for when the
// config gives none. A fork storm sends one 60-byte message (plus skb
// overhead, several hundred bytes of buffer) per fork, exec and exit; 8 MiB
// absorbs bursts of some ten thousand events while the reader is busy.
const DefaultReceiveBuffer = 8 << 20

// ackTimeout bounds the wait for the kernel's reply to LISTEN.
const ackTimeout = 5 * time.Second

// ListenConfig configures Listen.
type ListenConfig struct {
	// ReceiveBuffer is the socket receive buffer in bytes
	// (SO_RCVBUFFORCE, which root may set above net.core.rmem_max).
	// 0 means DefaultReceiveBuffer.
	ReceiveBuffer int
	// Logger receives warnings (overruns, malformed messages). nil means
	// slog.Default().
	Logger *slog.Logger
}

// ListenerStats counts what the listener saw. Nothing is dropped without
// being counted here.
type ListenerStats struct {
	Messages  uint64 // netlink messages from the proc connector
	Forks     uint64 // Fork events emitted
	Execs     uint64 // Exec events emitted
	Exits     uint64 // Exit events emitted
	Comms     uint64 // Comm events emitted
	Threads   uint64 // events about threads, dropped (see Event)
	Other     uint64 // uid, gid, sid, ptrace, coredump, acks: not decoded
	Malformed uint64 // messages that failed to parse, dropped and logged
	// StatReads counts Fork events whose child's stat was read from /proc
	// (stamped near a tick boundary: forkGuard); ChildGone those among
	// them whose child was already gone (Fork.StatRead false).
	StatReads, ChildGone uint64
	// Overruns counts ENOBUFS from the socket: the kernel dropped events
	// because the receive buffer was full. Each overrun loses an unknown
	// number of events.
	Overruns uint64
}

// Listener receives process events from the kernel's proc connector
// (NETLINK_CONNECTOR, CN_IDX_PROC; drivers/connector/cn_proc.c).
// It needs CAP_NET_ADMIN in the initial user namespace and works only in the
// initial network namespace.
type Listener struct {
	fs  FS
	rd  *mmsg.Reader // the socket and its batched reads (cnproc_read.go)
	log *slog.Logger

	// pending holds events that arrived while Listen waited for the LISTEN
	// reply; Run emits them first.
	pending []Event
	offsets clockOffsets
	clockAt time.Time // when offsets were measured (refreshClock)
	seq     uint32
	// drainMu serialises the reads of the socket and the use of batch:
	// Drain may be called from the goroutines of the sockets that follow
	// this one.
	drainMu sync.Mutex
	batch   []Event

	stats struct {
		messages, forks, execs, exits, comms, threads, other, malformed, statReads, childGone, overruns atomic.Uint64
	}
	closeOnce sync.Once
	closeErr  error
}

// Listen opens a proc connector socket, subscribes to process events and
// waits for the kernel to confirm. Events are queued in the socket from then
// on; call Run to receive them and Close to unsubscribe.
func Listen(fs FS, cfg ListenConfig) (*Listener, error) {
	fd, err := mmsg.Dial(unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("procfs: proc connector: dial: %w", err)
	}
	size := cfg.ReceiveBuffer
	if size == 0 {
		size = DefaultReceiveBuffer
	}
	if err := mmsg.SetReceiveBuffer(fd, size); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("procfs: proc connector: set receive buffer to %d: %w", size, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, cnIdxProc); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("procfs: proc connector: join group %d: %w", cnIdxProc, err)
	}
	rd, err := mmsg.NewReader(fd, readSlots, readSlotSize, 0)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("procfs: proc connector: %w", err)
	}
	l := newListener(fs, rd, cfg)
	if err := l.subscribe(); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func newListener(fs FS, rd *mmsg.Reader, cfg ListenConfig) *Listener {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Listener{fs: fs, rd: rd, log: log.With("component", "proc connector"), batch: make([]Event, 0, readSlots)}
}

// send sends one multicast control operation.
func (l *Listener) send(op uint32) (seq, ack uint32, err error) {
	l.seq++
	seq, ack = l.seq, uint32(time.Now().UnixNano())
	data, err := mcastRequest(op, seq, ack)
	if err != nil {
		return 0, 0, err
	}
	// The connector ignores the netlink type; NLMSG_DONE is what the kernel
	// itself uses for connector messages.
	if err := mmsg.Send(l.rd.FD(), unix.NLMSG_DONE, unix.NLM_F_REQUEST, seq, data); err != nil {
		return 0, 0, fmt.Errorf("procfs: proc connector: send op %d: %w", op, err)
	}
	return seq, ack, nil
}

// subscribe sends LISTEN and waits for the reply: a PROC_EVENT_NONE whose
// cn_msg carries our ack + 1 (cn_proc_ack). The reply is multicast, so the
// ack number, a per-request nonce, tells ours from other listeners'. Its seq
// is no help: send_msg in cn_proc.c overwrites it with a per-CPU counter.
func (l *Listener) subscribe() error {
	_, ack, err := l.send(mcastListen)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(ackTimeout)
	for {
		n, errno, err := l.rd.ReadUntil(deadline)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			// cn_proc_ack sends nothing when the request was refused and
			// there is no other listener, so silence means refusal.
			return fmt.Errorf("procfs: proc connector: no reply to LISTEN within %v (refused? it needs CAP_NET_ADMIN in the initial namespaces)", ackTimeout)
		case err != nil:
			return fmt.Errorf("procfs: proc connector: wait for the LISTEN reply: %w", err)
		case errno == unix.ENOBUFS:
			l.stats.overruns.Add(1)
			continue
		case errno != 0:
			return fmt.Errorf("procfs: proc connector: receive LISTEN reply: %w", errno)
		}
		if err := l.refreshClock(); err != nil {
			return err
		}
		for i := range n {
			b, cut, sender := l.rd.Datagram(i)
			for !cut && sender == 0 && len(b) > 0 {
				_, payload, rest, err := mmsg.NextMessage(b)
				if err != nil {
					break
				}
				b = rest
				ev, cn, ok, err := parseConnectorMessage(payload)
				if err == nil && ok && ev.What == eventNone && cn.Ack == ack+1 {
					if ev.AckErr != 0 {
						return fmt.Errorf("procfs: proc connector: LISTEN refused: %w", unix.Errno(ev.AckErr))
					}
					l.log.Debug("subscribed")
					return nil
				}
				if e, ok := l.handle(payload); ok {
					l.pending = append(l.pending, e)
				}
			}
		}
	}
}

// Run receives events and passes each to emit, in the order the kernel sent
// them, until ctx is done; then it returns nil. ENOBUFS (the kernel dropped
// events on a full buffer) is counted and logged and Run goes on; any other
// receive error ends Run. Run must not be called concurrently with itself
// (nor with RunBatches); call Close after Run returns.
func (l *Listener) Run(ctx context.Context, emit func(Event)) error {
	return l.RunBatches(ctx, func(evs []Event) {
		for _, e := range evs {
			emit(e)
		}
	})
}

// RunBatches is Run handing over, in one call, the events of one read of
// the socket (every datagram queued, up to 64, read with one recvmmsg(2)):
// a consumer that passes them to another goroutine pays one hand-off per
// batch, not one per fork. The slice is reused: it is valid only during
// the call.
func (l *Listener) RunBatches(ctx context.Context, fn func([]Event)) error {
	l.drainMu.Lock()
	l.flushPending(fn)
	l.drainMu.Unlock()
	l.rd.ClearWake()
	// Wake ends the blocked read when ctx ends.
	stop := context.AfterFunc(ctx, l.rd.Wake)
	defer stop()
	for {
		n, errno, err := l.rd.Read()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("procfs: proc connector: receive: %w", err)
		}
		l.drainMu.Lock()
		err = l.took(n, errno, fn)
		l.drainMu.Unlock()
		if err != nil {
			return err
		}
	}
}

// Reader is the listener's socket reader, for a consumer that reads the
// connector along with another socket: that socket's reader follows this
// one (mmsg.Reader.Follow) and the consumer calls Drain after each of its
// reads, instead of running RunBatches.
func (l *Listener) Reader() *mmsg.Reader { return l.rd }

// Drain hands every event queued to fn, as RunBatches does, without
// waiting: a fork is queued before its child can run, so a Drain after
// reading an audit record of the child hands the fork on first. It may be
// called from several goroutines (never while RunBatches runs); calls to
// fn do not overlap.
func (l *Listener) Drain(fn func([]Event)) error {
	l.drainMu.Lock()
	defer l.drainMu.Unlock()
	l.flushPending(fn)
	for {
		n, errno, ok := l.rd.ReadNow()
		if !ok {
			return nil
		}
		if err := l.took(n, errno, fn); err != nil {
			return err
		}
		if errno == 0 && n < readSlots {
			return nil // the socket is empty
		}
	}
}

func (l *Listener) flushPending(fn func([]Event)) {
	if len(l.pending) > 0 {
		fn(l.pending)
	}
	l.pending = nil
}

// took hands on the events of one read of n datagrams (or counts its
// error). ENOBUFS is counted and logged: the kernel dropped events on a
// full buffer, and reading goes on. Called with drainMu held.
func (l *Listener) took(n int, errno unix.Errno, fn func([]Event)) error {
	if errno == unix.ENOBUFS {
		n := l.stats.overruns.Add(1)
		l.log.Warn("receive buffer overrun: the kernel dropped process events", "overruns", n)
		return nil
	}
	if errno != 0 {
		return fmt.Errorf("procfs: proc connector: receive: %w", errno)
	}
	if n == 0 {
		return nil
	}
	if err := l.refreshClock(); err != nil {
		return err
	}
	batch := l.batch[:0]
	for i := range n {
		batch = l.decodeDatagram(i, batch)
	}
	if len(batch) > 0 {
		fn(batch)
	}
	clear(batch) // the events' strings are the consumer's now
	l.batch = batch
	return nil
}

// decodeDatagram appends the events of datagram i of the last read to
// batch.
func (l *Listener) decodeDatagram(i int, batch []Event) []Event {
	// Only root may send to a connector socket, but the kernel is port id 0.
	b, cut, sender := l.rd.Datagram(i)
	if cut || sender != 0 {
		l.stats.malformed.Add(1)
		l.log.Warn("proc connector datagram cut or not from the kernel: dropped")
		return batch
	}
	for len(b) > 0 {
		_, payload, rest, err := mmsg.NextMessage(b)
		if err != nil {
			l.stats.malformed.Add(1)
			l.log.Warn("malformed proc connector datagram", "error", err, "bytes", len(b))
			return batch
		}
		b = rest
		if e, ok := l.handle(payload); ok {
			batch = append(batch, e)
		}
	}
	return batch
}

// clockRecheck is how often the clock offsets are measured again while the
// wall clock keeps step with the monotonic one: NTP slews it by parts per
// million.
const clockRecheck = time.Second

// refreshClock measures the clock offsets again when they may have moved:
// a second after the last measure, or at once when the wall clock moved
// apart from the monotonic one since (a suspend stops the monotonic clock;
// a step moves the wall clock). time.Now reads both without a system
// call; the measure takes four.
func (l *Listener) refreshClock() error {
	now := time.Now()
	if !l.clockAt.IsZero() {
		mono := now.Sub(l.clockAt)
		wall := now.Round(0).Sub(l.clockAt.Round(0)) // Round(0): the wall clock alone
		if mono < clockRecheck && (wall-mono).Abs() < time.Millisecond {
			return nil
		}
	}
	o, err := readClockOffsets()
	if err != nil {
		return err
	}
	l.offsets, l.clockAt = o, now
	return nil
}

// Stats returns the counters so far. It is safe to call while Run runs.
func (l *Listener) Stats() ListenerStats {
	s := &l.stats
	return ListenerStats{
		Messages: s.messages.Load(), Forks: s.forks.Load(), Execs: s.execs.Load(), Exits: s.exits.Load(),
		Comms: s.comms.Load(), Threads: s.threads.Load(), Other: s.other.Load(), Malformed: s.malformed.Load(),
		StatReads: s.statReads.Load(), ChildGone: s.childGone.Load(), Overruns: s.overruns.Load(),
	}
}

// Close unsubscribes (PROC_CN_MCAST_IGNORE: the kernel keeps a count of
// listeners and stops building events when it drops to zero) and closes the
// socket. Later calls return the first call's result.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		_, _, sendErr := l.send(mcastIgnore)
		closeErr := l.rd.Close()
		if closeErr != nil {
			closeErr = fmt.Errorf("procfs: proc connector: close: %w", closeErr)
		}
		l.closeErr = errors.Join(sendErr, closeErr)
	})
	return l.closeErr
}
