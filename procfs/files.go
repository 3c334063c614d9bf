package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Comm reads /proc/<pid>/comm: the task's comm without the trailing newline.
func (p Proc) Comm() (string, error) {
	b, err := p.readFile("comm")
	if err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(b, []byte("\n"))), nil
}

// Cmdline reads /proc/<pid>/cmdline, the process's argv. It is empty for
// kernel threads and zombies. See ParseCmdline.
func (p Proc) Cmdline() ([]string, error) {
	b, err := p.readFile("cmdline")
	if err != nil {
		return nil, err
	}
	return ParseCmdline(b), nil
}

// ParseCmdline splits the content of /proc/<pid>/cmdline into argv.
//
// The kernel (get_mm_cmdline in fs/proc/base.c) returns the argv area as the
// process left it: each argument followed by a NUL. Exactly one trailing NUL
// is the terminator of the last argument and is dropped; any others are empty
// arguments (argv ["sh", "-c", ""] reads "sh\0-c\0\0"). A process that
// rewrote its argv area (setproctitle, perl's $0) may leave one string with
// spaces and no NUL, or a title padded with NULs; both are returned as the
// kernel shows them, since the raw argv is what the detection rule matches.
func ParseCmdline(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	b = bytes.TrimSuffix(b, []byte{0})
	return strings.Split(string(b), "\x00")
}

// Exe is the target of /proc/<pid>/exe.
type Exe struct {
	// Path is the executable's path, without the " (deleted)" marker.
	Path string
	// Deleted is true when the file was unlinked (or replaced, as a package
	// upgrade does) after the process exec'd it.
	Deleted bool
}

// deletedSuffix is what d_path (fs/d_path.c) appends to an unlinked file's
// path.
const deletedSuffix = " (deleted)"

// Exe reads the /proc/<pid>/exe link. Kernel threads and zombies have none:
// that gives Exe{} and no error while the process still exists.
func (p Proc) Exe() (Exe, error) {
	target, err := p.optionalLink("exe")
	if err != nil || target == "" {
		return Exe{}, err
	}
	trimmed, found := strings.CutSuffix(target, deletedSuffix)
	if !found {
		return Exe{Path: target}, nil
	}
	// A file can really be named "x (deleted)". It is that file when the
	// literal path exists and is the very inode the link points to.
	if sameFile(p.dir+"/exe", target) {
		return Exe{Path: target}, nil
	}
	return Exe{Path: trimmed, Deleted: true}, nil
}

// Cwd reads the /proc/<pid>/cwd link ("" for a zombie).
func (p Proc) Cwd() (string, error) {
	return p.optionalLink("cwd")
}

// optionalLink reads a link that a live process may lack (exe of a kernel
// thread, exe and cwd of a zombie). Readlink fails with ENOENT both then and
// when the process is gone; the process directory tells which.
func (p Proc) optionalLink(name string) (string, error) {
	target, err := p.readlink(name)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return target, err
	}
	if _, statErr := os.Stat(p.dir); statErr != nil {
		return "", err
	}
	return "", nil
}

// sameFile reports whether a and b name the same existing inode.
func sameFile(a, b string) bool {
	ia, err := os.Stat(a)
	if err != nil {
		return false
	}
	ib, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(ia, ib)
}

// Status is the part of /proc/<pid>/status the sensor uses (proc(5),
// "/proc/pid/status"; written by proc_pid_status in fs/proc/array.c).
type Status struct {
	Name string // the comm, with escapes as the kernel writes them
	TGID int
	PPID int
	UID  uint32 // real user id (first number of the Uid line)
	EUID uint32 // effective user id (second number)
}

// Status reads and parses /proc/<pid>/status.
func (p Proc) Status() (Status, error) {
	b, err := p.readFile("status")
	if err != nil {
		return Status{}, err
	}
	s, err := ParseStatus(b)
	if err != nil {
		return Status{}, fmt.Errorf("procfs: pid %d: %w", p.PID, err)
	}
	return s, nil
}

// ParseStatus parses the content of /proc/<pid>/status. The Uid line is
// required; Name, Tgid and PPid are taken when present.
func ParseStatus(b []byte) (Status, error) {
	var s Status
	var haveUID bool
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		key, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch string(key) {
		case "Name":
			s.Name = string(value)
		case "Tgid":
			v, err := parseUint(value, 31)
			if err != nil {
				return Status{}, fmt.Errorf("procfs: status: bad Tgid: %w", err)
			}
			s.TGID = int(v)
		case "PPid":
			v, err := parseUint(value, 31)
			if err != nil {
				return Status{}, fmt.Errorf("procfs: status: bad PPid: %w", err)
			}
			s.PPID = int(v)
		case "Uid":
			ids := bytes.Fields(value)
			if len(ids) != 4 {
				return Status{}, fmt.Errorf("procfs: status: Uid line has %d ids, want 4", len(ids))
			}
			uid, err := parseUint(ids[0], 32)
			if err != nil {
				return Status{}, fmt.Errorf("procfs: status: bad real uid: %w", err)
			}
			euid, err := parseUint(ids[1], 32)
			if err != nil {
				return Status{}, fmt.Errorf("procfs: status: bad effective uid: %w", err)
			}
			s.UID, s.EUID = uint32(uid), uint32(euid)
			haveUID = true
		}
	}
	if !haveUID {
		return Status{}, errors.New("procfs: status: no Uid line")
	}
	return s, nil
}
