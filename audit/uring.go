package audit

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// io_uring: a program can connect without the connect syscall, by
// submitting IORING_OP_CONNECT to an io_uring; -S rules never see it.
// Since Linux 5.16 audit has a filter list for io_uring operations
// (AUDIT_FILTER_URING_EXIT, kernel/auditsc.c audit_filter_uring) whose
// rules use the syscall mask for the operation number. go-libaudit
// v2.6.2 cannot build such rules, so uringRule builds the wire form here.
// Older kernels refuse the list (EINVAL): the rule is Optional, and there
// io_uring connects go unseen.
const (
	filterURingExit = 0x07 // AUDIT_FILTER_URING_EXIT (include/uapi/linux/audit.h, 5.16)
	uringOpConnect  = 16   // IORING_OP_CONNECT (include/uapi/linux/io_uring.h)
	auditAlways     = 2    // AUDIT_ALWAYS
	auditEqual      = 0x40000000
)

// uringRulePrefix starts the text of an io_uring rule, in auditctl's
// syntax (auditctl 3.0.7+: -a always,io_uring -U OP).
const uringRulePrefix = "-a always,io_uring -U "

// uringOps are the operations uringRule knows by name.
var uringOps = map[string]int{"connect": uringOpConnect}

// buildURingRule builds "-a always,io_uring -U connect[,...] -k KEY" into
// audit_rule_data: the exit-style list 7, AUDIT_ALWAYS, the operations as
// mask bits, and the key as the one field.
func buildURingRule(text string) ([]byte, error) {
	f := strings.Fields(strings.TrimPrefix(text, uringRulePrefix))
	if !strings.HasPrefix(text, uringRulePrefix) || len(f) != 3 || f[1] != "-k" {
		return nil, fmt.Errorf("audit: io_uring rule %q: want %q OPS -k KEY", text, uringRulePrefix)
	}
	key := f[2]
	if err := checkKey(key); err != nil {
		return nil, err
	}
	b := make([]byte, ruleHeaderLen+len(key))
	put := func(off int, v uint32) { binary.NativeEndian.PutUint32(b[off:], v) }
	put(0, filterURingExit)
	put(4, auditAlways)
	put(8, 1) // field_count
	for _, name := range strings.Split(f[0], ",") {
		op, ok := uringOps[name]
		if !ok {
			return nil, fmt.Errorf("audit: io_uring rule %q: unknown operation %q", text, name)
		}
		put(ruleOffMask+4*(op/32), binary.NativeEndian.Uint32(b[ruleOffMask+4*(op/32):])|1<<(op%32))
	}
	put(ruleOffFields, fieldFilterKey)
	put(ruleOffValues, uint32(len(key)))
	put(ruleOffFlags, auditEqual)
	put(ruleOffBufLen, uint32(len(key)))
	copy(b[ruleHeaderLen:], key)
	return b, nil
}

// decodeURingOp reads a URINGOP record: uring_op=N is the operation
// (kernel/auditsc.c audit_log_uring). Its success= and exit= are the
// issue's return value (-EAGAIN, then 0 once queued or done), not the
// connect's result, so they are not kept. Its pid= (the tgid), ppid= and
// uid= name the process when no SYSCALL record comes: an operation that
// the SQPOLL thread ran has an event of its own, URINGOP and SOCKADDR only.
// A SYSCALL record, where there is one, overwrites them.
func (p *pending) decodeURingOp(fields []byte) error {
	s := newFieldScanner(fields)
	si := &p.sys
	haveOp := false
	for s.next() {
		f := s.f
		var err error
		switch string(f.Key) {
		case "uring_op":
			var op uint64
			op, err = parseDec(f)
			haveOp = true
			if op == uringOpConnect {
				p.uringConnect = true
			}
		case "pid":
			if !p.haveSyscall {
				si.pid, err = parseDec(f)
				si.havePID = true
			}
		case "ppid":
			if !p.haveSyscall {
				si.ppid, err = parseDec(f)
				si.havePPID = true
			}
		case "uid":
			if !p.haveSyscall {
				si.uid, err = parseID(f)
				si.auid = unsetID // URINGOP has no auid=
			}
		}
		if err != nil {
			return fmt.Errorf("URINGOP: %w", err)
		}
	}
	if s.err != nil {
		return fmt.Errorf("URINGOP: %w", s.err)
	}
	if !haveOp {
		return fmt.Errorf("%w: URINGOP record lacks uring_op=", ErrMalformed)
	}
	return nil
}

// buildURingConnect returns the Connect of an IORING_OP_CONNECT, or nil.
// Run inline, the kernel writes the operation's records into the
// io_uring_enter syscall's event: URINGOP uring_op=16, the SYSCALL record
// of io_uring_enter (syscall=426) and the SOCKADDR that io_connect_prep
// copied in (io_uring/net.c, move_addr_to_kernel). Run by the SQPOLL
// thread, the event is URINGOP and SOCKADDR: the process is URINGOP's,
// without comm and exe. Run by an io-wq worker (IOSQE_ASYNC, or a connect
// that had to wait), the event is URINGOP alone: the address went into the
// io_uring_enter call that submitted it, which is not audited, so there is
// no destination and no Connect.
func (p *pending) buildURingConnect() *Connect {
	if !p.uringConnect || !p.sys.havePID || !p.sys.havePPID {
		return nil
	}
	c := p.buildConnect()
	if c == nil {
		return nil
	}
	c.Success, c.Errno, c.ResultUnknown = false, 0, true
	return c
}
