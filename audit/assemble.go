package audit

import (
	"fmt"
	"maps"
	"time"
)

// Event is an *Exec, a *Connect or a *File, emitted by the Assembler; type-switch on
// it. The interface is sealed: no other type implements it.
type Event interface {
	EventTime() time.Time
	EventSerial() uint64
	isEvent()
}

// AssemblerConfig bounds the Assembler's memory. Zero values take the
// defaults.
type AssemblerConfig struct {
	// MaxInFlight is how many events may be incomplete at once (default
	// 1024). When a record opens one more, the event with the lowest serial
	// is finished early as if flushed.
	MaxInFlight int
	// MaxAge is how long an incomplete event may wait for its EOE record
	// (default 2s; the kernel sends an event's records back to back).
	MaxAge time.Duration
	// MaxArgBytes caps the argv an Exec keeps: the bytes of its arguments
	// plus 16 per argument (default DefaultMaxArgBytes). argv can reach
	// several MiB with a large stack rlimit, and the sensor keeps the argv
	// of every cached process: the cap bounds that memory in bytes. Longer
	// argvs are kept as a prefix and flagged (Exec.ArgsTruncated).
	MaxArgBytes int
}

// DefaultMaxArgBytes is the default AssemblerConfig.MaxArgBytes: room for a
// hook's whole command line, and 4 KiB times the process cache's 32,768
// entries at most (128 MiB) for a host exec'ing huge argvs.
const DefaultMaxArgBytes = 4096

// AssemblerStats counts what the Assembler did with the records it was
// given, so that nothing is dropped silently.
type AssemblerStats struct {
	Records   uint64 // records pushed
	Malformed uint64 // records whose text could not be parsed
	Completed uint64 // events ended by their EOE record
	Execs     uint64 // Exec values emitted
	Connects  uint64 // Connect values emitted
	Files     uint64 // File values emitted
	// ArgcMismatch counts Execs whose arguments are not the argc the kernel
	// announced (records lost or out of order), ArgsTruncated those whose
	// argv was cut at MaxArgBytes.
	ArgcMismatch  uint64
	ArgsTruncated uint64
	// OtherSyscalls counts events of syscalls that are not exec or connect,
	// failed execs, and connects to non-inet addresses: nothing to emit.
	OtherSyscalls uint64
	// NoSyscall counts events that ended without a SYSCALL record.
	NoSyscall uint64
	// Flushed counts incomplete events ended by Flush after MaxAge, Evicted
	// those ended early because MaxInFlight was reached; either may still
	// have emitted an event if it had all it needed.
	Flushed uint64
	Evicted uint64
	// LateEOE counts EOE records whose event was no longer in flight.
	LateEOE uint64
	// PassedOver counts, by record type, records that are not part of a
	// syscall event (types outside 1300-1399, CONFIG_CHANGE, REPLACE).
	PassedOver map[uint16]uint64
}

// Assembler groups audit records by event serial and turns complete
// syscall events into Exec and Connect values. It is not safe for
// concurrent use: one goroutine reads the audit socket and pushes.
type Assembler struct {
	cfg      AssemblerConfig
	inFlight map[uint64]*pending
	free     []*pending
	stats    AssemblerStats
}

// NewAssembler returns an Assembler with cfg's bounds.
func NewAssembler(cfg AssemblerConfig) *Assembler {
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 1024
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 2 * time.Second
	}
	if cfg.MaxArgBytes <= 0 {
		cfg.MaxArgBytes = DefaultMaxArgBytes
	}
	return &Assembler{
		cfg:      cfg,
		inFlight: make(map[uint64]*pending, cfg.MaxInFlight),
		stats:    AssemblerStats{PassedOver: make(map[uint16]uint64)},
	}
}

// Push adds one record. When the record completes an event, emit is called
// with the Exec or Connect it makes (if any) before Push returns. Push does
// not keep r.Data: the caller may reuse the buffer once Push returns.
//
// The error reports a malformed record or an Exec whose arguments do not
// match argc; it is informational: the Assembler stays usable, and an Exec
// with incomplete arguments is still emitted.
func (a *Assembler) Push(r Record, emit func(Event)) error {
	a.stats.Records++
	if !isSyscallEventType(r.Type) {
		a.stats.PassedOver[r.Type]++
		return nil
	}
	h, fields, err := parseHeader(trimRecordEnd(r.Data))
	if err != nil {
		a.stats.Malformed++
		return fmt.Errorf("audit: record type %d: %w", r.Type, err)
	}
	p := a.inFlight[h.Serial]
	if p == nil {
		if r.Type == TypeEOE {
			a.stats.LateEOE++
			return nil
		}
		p = a.open(h, emit)
	}
	if r.Type == TypeEOE {
		a.stats.Completed++
		return a.finish(p, emit)
	}
	if p.broken || !p.wants(r.Type) {
		return nil
	}
	switch r.Type {
	case TypeSyscall:
		err = p.decodeSyscall(fields)
	case TypeExecve:
		p.haveExecve = true
		err = p.argv.add(fields)
	case TypeCwd:
		err = p.decodeCwd(fields)
	case TypeSockaddr:
		err = p.decodeSockaddr(fields)
	case TypeURingOp:
		err = p.decodeURingOp(fields)
	case TypePath:
		err = p.decodePath(fields)
	}
	if err != nil {
		a.stats.Malformed++
		if r.Type != TypeExecve {
			// Without a sound SYSCALL, CWD or SOCKADDR the event would be
			// wrong; EXECVE errors keep the arguments read so far.
			p.broken = true
		}
		return fmt.Errorf("audit: record type %d serial %d: %w", r.Type, h.Serial, err)
	}
	return nil
}

// open starts a new in-flight event, making room if the table is full.
func (a *Assembler) open(h header, emit func(Event)) *pending {
	if len(a.inFlight) >= a.cfg.MaxInFlight {
		// Serials grow by one per event, so the lowest is the oldest.
		var oldest *pending
		for _, q := range a.inFlight {
			if oldest == nil || q.serial < oldest.serial {
				oldest = q
			}
		}
		a.stats.Evicted++
		// The evicted event's own error is counted in stats; Push reports
		// on the record being pushed.
		_ = a.finish(oldest, emit)
	}
	var p *pending
	if n := len(a.free); n > 0 {
		p, a.free = a.free[n-1], a.free[:n-1]
	} else {
		p = new(pending)
	}
	p.reset(h, a.cfg.MaxArgBytes)
	a.inFlight[h.Serial] = p
	return p
}

// finish removes p from the table and emits what it makes.
func (a *Assembler) finish(p *pending, emit func(Event)) error {
	delete(a.inFlight, p.serial)
	defer a.recycle(p)
	switch {
	case p.broken:
		return nil
	case !p.haveSyscall && p.uringConnect:
		p.kind = kindURingEnter // an SQPOLL thread's event: no SYSCALL record
	case !p.haveSyscall:
		a.stats.NoSyscall++
		return nil
	}
	switch p.kind {
	case kindExec:
		e, err := p.buildExec()
		if e == nil {
			a.stats.OtherSyscalls++
			return nil
		}
		a.stats.Execs++
		if e.Argc != p.argv.count {
			a.stats.ArgcMismatch++
		}
		if p.argv.truncated {
			a.stats.ArgsTruncated++
		}
		emit(e)
		if err != nil {
			return fmt.Errorf("audit: exec serial %d: %w", p.serial, err)
		}
	case kindConnect:
		c := p.buildConnect()
		if c == nil {
			a.stats.OtherSyscalls++
			return nil
		}
		a.stats.Connects++
		emit(c)
	case kindFile:
		f := p.buildFile()
		if f == nil {
			a.stats.OtherSyscalls++
			return nil
		}
		a.stats.Files++
		emit(f)
	case kindURingEnter:
		c := p.buildURingConnect()
		if c == nil {
			a.stats.OtherSyscalls++
			return nil
		}
		a.stats.Connects++
		emit(c)
	default:
		a.stats.OtherSyscalls++
	}
	return nil
}

// recycle keeps p's buffers for the next event, unless they grew large.
func (a *Assembler) recycle(p *pending) {
	const keepBytes = 64 << 10
	if cap(p.argv.buf) > keepBytes || cap(p.text) > keepBytes || cap(p.argv.ends) > keepBytes/8 {
		return
	}
	if len(a.free) < 64 {
		a.free = append(a.free, p)
	}
}

// Flush ends incomplete events older than MaxAge, emitting those that have
// all an Exec or Connect needs (a kernel that sends no EOE, or a lost EOE).
// Call it periodically. Age is measured from the first Flush that saw the
// event, so an event is ended between MaxAge and MaxAge plus one Flush
// interval after it arrived; this keeps clock reads off the per-record path.
func (a *Assembler) Flush(now time.Time, emit func(Event)) {
	for _, p := range a.inFlight {
		if p.born.IsZero() {
			p.born = now
			continue
		}
		if now.Sub(p.born) >= a.cfg.MaxAge {
			a.stats.Flushed++
			_ = a.finish(p, emit) // counted in stats; Flush has no one to report to
		}
	}
}

// InFlight returns how many events are waiting for more records.
func (a *Assembler) InFlight() int { return len(a.inFlight) }

// Stats returns a copy of the counters.
func (a *Assembler) Stats() AssemblerStats {
	s := a.stats
	s.PassedOver = maps.Clone(a.stats.PassedOver)
	return s
}

// trimRecordEnd drops NUL and newline bytes at the end of a payload. Current
// kernels send none (audit_log_vformat puts only what vsnprintf wrote), but
// a reader that passes a NUL-terminated buffer must not turn every record
// into a malformed one.
func trimRecordEnd(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == 0 || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}
