package audit

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"time"
)

// span is a decoded string inside pending.text.
type span struct{ start, end int }

// syscallInfo is what the assembler reads from a SYSCALL record
// (kernel/auditsc.c, audit_log_exit: arch= syscall= success= exit= a0=...
// ppid= pid= auid= uid= ... comm= exe= key=).
type syscallInfo struct {
	arch        uint32
	nr          uint64
	args        args // a0, a2, a3: what classify looks at
	haveResult  bool // success= and exit= are absent when the syscall had not returned
	success     bool
	exit        int64
	pid, ppid   uint64
	uid, auid   uint32
	comm, exe   span
	havePID     bool
	havePPID    bool
	haveArch    bool
	haveSyscall bool
}

// pending is one in-flight event: the records of one serial seen so far.
type pending struct {
	serial uint64
	time   time.Time
	born   time.Time // set by the first Flush that sees the event

	haveSyscall bool
	kind        syscallKind
	sys         syscallInfo
	text        []byte // decoded comm, exe and cwd, back to back

	haveCwd bool
	cwd     span

	haveExecve bool
	argv       argvBuilder

	uringConnect bool // a URINGOP record of IORING_OP_CONNECT

	haveSockaddr bool
	family       uint16
	dest         netip.AddrPort

	parentItem    pathItem // the last PARENT record
	created       pathItem // the CREATE record (kindFile)
	createdParent pathItem // the PARENT before it

	broken bool // a record the event needs was malformed: emit nothing
}

func (p *pending) reset(h header, maxArgBytes int) {
	argv := p.argv
	text := p.text[:0]
	*p = pending{serial: h.Serial, time: h.Time, text: text, argv: argv}
	p.argv.reset(maxArgBytes)
}

// wants reports whether a record of type t can change what the event emits.
// Once the SYSCALL record says the syscall is neither an exec nor a connect,
// the event's other records are not parsed at all.
func (p *pending) wants(t uint16) bool {
	if !p.haveSyscall {
		return true
	}
	switch t {
	case TypeExecve:
		return p.kind == kindExec
	case TypeCwd:
		return p.kind == kindExec || p.kind == kindFile
	case TypePath:
		return p.kind == kindFile
	case TypeSockaddr:
		return p.kind == kindConnect || p.kind == kindURingEnter
	case TypeURingOp:
		return p.kind == kindURingEnter
	}
	return false
}

// decodeSyscall reads a SYSCALL record. It stops after a0= when the syscall
// is not one the sensor turns into an event: the rest is not needed.
func (p *pending) decodeSyscall(fields []byte) error {
	s := newFieldScanner(fields)
	si := &p.sys
	for s.next() {
		f := s.f
		var err error
		switch string(f.Key) {
		case "arch":
			var v uint64
			v, err = parseHexUint(f)
			if err == nil && v > 0xffffffff {
				err = fmt.Errorf("%w: arch=%x is wider than 32 bits", ErrMalformed, v)
			}
			si.arch, si.haveArch = uint32(v), true
		case "syscall":
			si.nr, err = parseDec(f)
			si.haveSyscall = true
		case "success":
			si.success, si.haveResult = string(f.Val) == "yes", true
		case "exit":
			si.exit, err = parseSignedDec(f)
		case "a0", "a2", "a3":
			// The kind is known after a0=, or for a send after its flags
			// argument: stop there when the event is not wanted.
			var v uint64
			v, err = parseHexUint(f)
			at := f.Key[1] - '0'
			switch at {
			case 0:
				si.args.a0 = v
			case 2:
				si.args.a2 = v
			case 3:
				si.args.a3 = v
			}
			if err == nil && si.haveArch && si.haveSyscall && int(at) == decidingArg(si.arch, si.nr) &&
				classify(si.arch, si.nr, si.args) == kindOther {
				p.haveSyscall, p.kind = true, kindOther
				return nil
			}
		case "pid":
			si.pid, err = parseDec(f)
			si.havePID = true
		case "ppid":
			si.ppid, err = parseDec(f)
			si.havePPID = true
		case "uid":
			si.uid, err = parseID(f)
		case "auid":
			si.auid, err = parseID(f)
		case "comm":
			si.comm, err = p.appendText(f)
		case "exe":
			si.exe, err = p.appendText(f)
		}
		if err != nil {
			return fmt.Errorf("SYSCALL: %w", err)
		}
	}
	if s.err != nil {
		return fmt.Errorf("SYSCALL: %w", s.err)
	}
	if !si.haveArch || !si.haveSyscall || !si.havePID || !si.havePPID {
		return fmt.Errorf("%w: SYSCALL record lacks arch=, syscall=, pid= or ppid=", ErrMalformed)
	}
	p.haveSyscall = true
	p.kind = classify(si.arch, si.nr, si.args)
	return nil
}

// decidingArg is the argument after which classify has all it needs: a
// send's flags argument, else a0.
func decidingArg(arch uint32, nr uint64) int {
	return sendFlagsArg(arch, nr) // 0 (a0) for everything but sends
}

// parseID parses a uid/auid; the kernel prints them as unsigned 32-bit
// numbers, 4294967295 meaning unset.
func parseID(f field) (uint32, error) {
	v, err := parseDec(f)
	if err == nil && v > 0xffffffff {
		err = fmt.Errorf("%w: %q=%d is wider than 32 bits", ErrMalformed, clip(f.Key), v)
	}
	return uint32(v), err
}

func (p *pending) appendText(f field) (span, error) {
	start := len(p.text)
	var err error
	p.text, err = appendUntrusted(p.text, f)
	if err != nil {
		p.text = p.text[:start]
		return span{}, fmt.Errorf("%q: %w", clip(f.Key), err)
	}
	return span{start, len(p.text)}, nil
}

// decodeCwd reads a CWD record: cwd="/tmp" (or hex).
func (p *pending) decodeCwd(fields []byte) error {
	s := newFieldScanner(fields)
	for s.next() {
		if string(s.f.Key) == "cwd" {
			sp, err := p.appendText(s.f)
			if err != nil {
				return fmt.Errorf("CWD: %w", err)
			}
			p.cwd, p.haveCwd = sp, true
			return nil
		}
	}
	if s.err != nil {
		return fmt.Errorf("CWD: %w", s.err)
	}
	return fmt.Errorf("%w: CWD record has no cwd=", ErrMalformed)
}

// decodeSockaddr reads a SOCKADDR record: saddr=<hex of struct sockaddr>.
func (p *pending) decodeSockaddr(fields []byte) error {
	s := newFieldScanner(fields)
	for s.next() {
		if string(s.f.Key) == "saddr" {
			var buf [maxSockaddrLen]byte
			family, dest, err := decodeSaddrField(&buf, s.f)
			p.family, p.haveSockaddr = family, true
			if err == nil {
				p.dest = dest
				return nil
			}
			if errors.Is(err, ErrNotInet) {
				return nil // a unix or netlink socket: no Connect, not an error
			}
			p.haveSockaddr = false
			return fmt.Errorf("SOCKADDR: %w", err)
		}
	}
	if s.err != nil {
		return fmt.Errorf("SOCKADDR: %w", s.err)
	}
	return fmt.Errorf("%w: SOCKADDR record has no saddr=", ErrMalformed)
}

// process builds the Process from the SYSCALL record, with strings cut from
// text (one allocation for comm, exe and cwd together).
func (p *pending) process(text string) Subject {
	si := &p.sys
	return Subject{
		PID:  int(si.pid),
		PPID: int(si.ppid),
		UID:  si.uid,
		AUID: si.auid,
		Comm: text[si.comm.start:si.comm.end],
		Exe:  text[si.exe.start:si.exe.end],
	}
}

// buildExec returns the Exec of a successful execve/execveat event, or nil.
// err reports arguments that do not match argc (the Exec is still
// returned); it is nil when the argv error was already reported by add.
func (p *pending) buildExec() (*Exec, error) {
	if !p.sys.haveResult || !p.sys.success {
		return nil, nil
	}
	var argErr error
	argc := -1
	if !p.haveExecve {
		argErr = fmt.Errorf("%w: no EXECVE record", ErrArgcMismatch)
	} else {
		argc = p.argv.argc
		if p.argv.err == nil {
			argErr = p.argv.finish()
		}
	}
	text := string(p.text)
	e := &Exec{
		Time:          p.time,
		Serial:        p.serial,
		Subject:       p.process(text),
		Args:          p.argv.args(),
		Argc:          argc,
		ArgsTruncated: p.argv.truncated,
	}
	if p.haveCwd {
		e.Cwd = text[p.cwd.start:p.cwd.end]
	}
	return e, argErr
}

// buildConnect returns the Connect of a connect() to an AF_INET or AF_INET6
// address, or nil.
func (p *pending) buildConnect() *Connect {
	if !p.haveSockaddr || (p.family != FamilyInet && p.family != FamilyInet6) {
		return nil
	}
	c := &Connect{
		Time:    p.time,
		Serial:  p.serial,
		Subject: p.process(string(p.text)),
		Dest:    p.dest,
		Success: p.sys.haveResult && p.sys.success,
	}
	// exit= is -errno on failure (kernel/auditsc.c, audit_log_exit).
	if !c.Success && p.sys.exit < 0 && p.sys.exit >= -4095 {
		c.Errno = syscall.Errno(-p.sys.exit)
	}
	return c
}
