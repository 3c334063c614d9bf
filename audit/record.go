package audit

import (
	"errors"
	"fmt"
	"time"
)

// Record is one audit message from the kernel: the netlink message type and
// its payload, for example Type 1300 and Data
// "audit(1795659700.760:1461): arch=c000003e syscall=59 ...".
//
// The kernel writes the payload as text without a trailing NUL and never
// puts a raw newline in it: values that could hold one are quoted only when
// they are printable, otherwise hex-encoded (kernel/audit.c,
// audit_log_n_untrustedstring).
type Record struct {
	Type uint16
	Data []byte
}

// Record types of a syscall event, from include/uapi/linux/audit.h. Types
// 1000-1099 are control messages and belong to the netlink side.
const (
	TypeSyscall    uint16 = 1300 // AUDIT_SYSCALL: syscall number, arch, result, task identity
	TypePath       uint16 = 1302 // AUDIT_PATH: one inode the syscall touched
	TypeIPC        uint16 = 1303 // AUDIT_IPC
	TypeSocketcall uint16 = 1304 // AUDIT_SOCKETCALL: the arguments of socketcall(2)
	TypeConfig     uint16 = 1305 // AUDIT_CONFIG_CHANGE: audit configuration changed
	TypeSockaddr   uint16 = 1306 // AUDIT_SOCKADDR: the struct sockaddr passed in, hex
	TypeCwd        uint16 = 1307 // AUDIT_CWD: working directory of the task
	TypeExecve     uint16 = 1309 // AUDIT_EXECVE: argc and argv, possibly over several records
	TypeEOE        uint16 = 1320 // AUDIT_EOE: end of a multi-record syscall event
	TypeBprmFcaps  uint16 = 1321 // AUDIT_BPRM_FCAPS: file capabilities applied by exec
	TypeProctitle  uint16 = 1327 // AUDIT_PROCTITLE: the task's command line, hex
	TypeReplace    uint16 = 1329 // AUDIT_REPLACE: binary payload (audit PID replaced), not text
	TypeURingOp    uint16 = 1336 // AUDIT_URINGOP: an io_uring operation (Linux 5.16)
)

// isSyscallEventType reports whether records of type t belong to a syscall
// event: the kernel reserves 1300-1399 for "audit event messages"
// (include/uapi/linux/audit.h). CONFIG_CHANGE sits in that range but is
// logged on its own, outside any syscall's record set.
func isSyscallEventType(t uint16) bool {
	return t >= 1300 && t <= 1399 && t != TypeConfig && t != TypeReplace
}

// ErrMalformed is wrapped by every error about a record whose text does not
// have the form the kernel writes.
var ErrMalformed = errors.New("malformed audit record")

// header is the "audit(SEC.MSEC:SERIAL): " prefix of every record.
type header struct {
	Time   time.Time
	Serial uint64
}

// parseHeader parses the prefix the kernel writes in audit_log_start
// (kernel/audit.c: "audit(%llu.%03lu:%u): ") and returns it with the rest of
// the payload, the space-separated fields.
func parseHeader(b []byte) (header, []byte, error) {
	const prefix = "audit("
	if len(b) < len(prefix) || string(b[:len(prefix)]) != prefix {
		return header{}, nil, fmt.Errorf("%w: header does not start with %q", ErrMalformed, prefix)
	}
	i := len(prefix)
	sec, i, ok := scanUint(b, i)
	if !ok || i >= len(b) || b[i] != '.' {
		return header{}, nil, fmt.Errorf("%w: header seconds are not a number followed by '.'", ErrMalformed)
	}
	msecStart := i + 1
	msec, i, ok := scanUint(b, msecStart)
	if !ok || i-msecStart != 3 || i >= len(b) || b[i] != ':' {
		return header{}, nil, fmt.Errorf("%w: header milliseconds are not 3 digits followed by ':'", ErrMalformed)
	}
	serial, i, ok := scanUint(b, i+1)
	if !ok || i+1 >= len(b) || b[i] != ')' || b[i+1] != ':' {
		return header{}, nil, fmt.Errorf("%w: header serial is not a number followed by \"):\"", ErrMalformed)
	}
	if sec > 1<<62 {
		return header{}, nil, fmt.Errorf("%w: header seconds %d out of range", ErrMalformed, sec)
	}
	t := time.Unix(int64(sec), int64(msec)*int64(time.Millisecond))
	return header{Time: t, Serial: serial}, b[i+2:], nil
}

// scanUint reads decimal digits at b[i:] and returns the value and the index
// after the last digit; ok is false when there is no digit or the value
// overflows uint64.
func scanUint(b []byte, i int) (v uint64, end int, ok bool) {
	start := i
	for ; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			break
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, i, false
		}
		v = v*10 + d
	}
	return v, i, i > start
}
