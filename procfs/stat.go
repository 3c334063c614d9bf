package procfs

import (
	"bytes"
	"errors"
	"fmt"
)

// Stat is the part of /proc/<pid>/stat the sensor uses. Field numbers are
// those of proc(5), "/proc/pid/stat"; the kernel writes the file in
// do_task_stat (fs/proc/array.c).
type Stat struct {
	PID int // field 1
	// Comm is field 2 without its parentheses: the task's comm, which may
	// itself contain spaces and parentheses.
	Comm  string
	State byte // field 3: R, S, D, Z, T, t, X, I, ...
	PPID  int  // field 4
	// Flags is field 9, the kernel's PF_* task flags (include/linux/sched.h).
	Flags uint32
	// StartTime is field 22: when the process started, in clock ticks
	// (USER_HZ) since boot, counting time spent suspended (CLOCK_BOOTTIME).
	StartTime uint64
}

// pfKthread is PF_KTHREAD from include/linux/sched.h: "I am a kernel
// thread". It is part of the kernel ABI as far as /proc goes: ps(1) uses the
// same bit to show kernel threads in brackets.
const pfKthread = 0x00200000

// KernelThread reports whether the task is a kernel thread, which has no
// executable and no command line.
func (s Stat) KernelThread() bool {
	return s.Flags&pfKthread != 0
}

// Field indexes counted from field 3 (the first field after the comm).
const (
	statIdxState     = 0  // field 3
	statIdxPPID      = 1  // field 4
	statIdxFlags     = 6  // field 9
	statIdxStartTime = 19 // field 22
)

// ParseStat parses the content of /proc/<pid>/stat.
//
// The comm is the text between the first '(' and the last ')': a process
// can name itself "a) (b" (prctl PR_SET_NAME), so neither a space split nor
// the first ')' is safe. Every field after the comm is numeric except the
// state letter, so the last ')' always closes the comm.
func ParseStat(b []byte) (Stat, error) {
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return Stat{}, fmt.Errorf("procfs: stat: no (comm) in %q", truncate(b))
	}
	var s Stat
	pid64, err := parseUint(bytes.TrimSpace(b[:open]), 31)
	if err != nil || pid64 == 0 {
		return Stat{}, fmt.Errorf("procfs: stat: bad pid %q", truncate(b[:open]))
	}
	pid := int(pid64)
	s.PID = pid
	s.Comm = string(b[open+1 : closing])

	rest := b[closing+1:]
	if len(rest) == 0 || rest[0] != ' ' {
		return Stat{}, fmt.Errorf("procfs: stat: no space after comm in %q", truncate(b))
	}
	rest = rest[1:]
	for i := 0; i <= statIdxStartTime; i++ {
		var field []byte
		end := bytes.IndexByte(rest, ' ')
		if end < 0 {
			field, rest = bytes.TrimRight(rest, "\n"), nil
		} else {
			field, rest = rest[:end], rest[end+1:]
		}
		if len(field) == 0 {
			return Stat{}, fmt.Errorf("procfs: stat: pid %d: field %d missing", pid, i+3)
		}
		switch i {
		case statIdxState:
			if len(field) != 1 {
				return Stat{}, fmt.Errorf("procfs: stat: pid %d: bad state %q", pid, field)
			}
			s.State = field[0]
		case statIdxPPID:
			v, err := parseUint(field, 31)
			if err != nil {
				return Stat{}, fmt.Errorf("procfs: stat: pid %d: bad ppid: %w", pid, err)
			}
			s.PPID = int(v)
		case statIdxFlags:
			v, err := parseUint(field, 32)
			if err != nil {
				return Stat{}, fmt.Errorf("procfs: stat: pid %d: bad flags: %w", pid, err)
			}
			s.Flags = uint32(v)
		case statIdxStartTime:
			v, err := parseUint(field, 64)
			if err != nil {
				return Stat{}, fmt.Errorf("procfs: stat: pid %d: bad starttime: %w", pid, err)
			}
			s.StartTime = v
		}
	}
	return s, nil
}

// Stat reads and parses /proc/<pid>/stat.
func (p Proc) Stat() (Stat, error) {
	buf := statBufs.Get().(*[maxStatLen]byte)
	defer statBufs.Put(buf)
	b, err := p.readStatFile(buf)
	if err != nil {
		return Stat{}, err
	}
	s, err := ParseStat(b)
	if err != nil {
		return Stat{}, fmt.Errorf("procfs: pid %d: %w", p.PID, err)
	}
	return s, nil
}

// parseUint parses an unsigned decimal number that fits in bits, without
// allocating when it succeeds.
func parseUint(b []byte, bits int) (uint64, error) {
	if len(b) == 0 {
		return 0, errors.New("empty number")
	}
	max := uint64(1)<<uint(bits) - 1
	if bits == 64 {
		max = ^uint64(0)
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("not a decimal number: %q", truncate(b))
		}
		d := uint64(c - '0')
		if v > (max-d)/10 {
			return 0, fmt.Errorf("number out of range: %q", truncate(b))
		}
		v = v*10 + d
	}
	return v, nil
}

// truncate bounds what an error message quotes from untrusted input.
func truncate(b []byte) []byte {
	const max = 64
	if len(b) > max {
		return b[:max]
	}
	return b
}
