package procfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// DefaultMountPoint is where Linux mounts procfs.
const DefaultMountPoint = "/proc"

// ErrGone marks an error caused by a process that exited (or was reaped)
// while it was being read. Vanishing processes are normal on a live system:
// callers skip them. Test with errors.Is(err, ErrGone).
var ErrGone = errors.New("process gone")

// FS is a procfs tree rooted at a directory: the real /proc, or a fixture
// tree in tests. The zero value is not usable; call NewFS.
type FS struct {
	root string
}

// NewFS returns an FS rooted at root after checking that root is a
// directory.
func NewFS(root string) (FS, error) {
	info, err := os.Stat(root)
	if err != nil {
		return FS{}, fmt.Errorf("procfs: open root %q: %w", root, err)
	}
	if !info.IsDir() {
		return FS{}, fmt.Errorf("procfs: root %q is not a directory", root)
	}
	return FS{root: root}, nil
}

// DefaultFS returns the FS for the real /proc.
func DefaultFS() (FS, error) {
	return NewFS(DefaultMountPoint)
}

// Root returns the directory the FS reads from.
func (f FS) Root() string {
	return f.root
}

// path joins elements under the root.
func (f FS) path(elem ...string) string {
	return filepath.Join(append([]string{f.root}, elem...)...)
}

// Proc returns a handle on one process. It does not touch the file system:
// a missing process shows up as an ErrGone error from the first read.
func (f FS) Proc(pid int) Proc {
	return Proc{PID: pid, dir: f.path(strconv.Itoa(pid))}
}

// Proc is one /proc/<pid> directory. Each method reads and parses one file.
type Proc struct {
	PID int
	dir string
}

// readFile reads one file of the process directory.
func (p Proc) readFile(name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(p.dir, name))
	if err != nil {
		return nil, p.wrap("read "+name, err)
	}
	return b, nil
}

// readlink reads one symlink of the process directory.
func (p Proc) readlink(name string) (string, error) {
	s, err := os.Readlink(filepath.Join(p.dir, name))
	if err != nil {
		return "", p.wrap("readlink "+name, err)
	}
	return s, nil
}

// wrap adds context to err and marks it ErrGone when the kernel said the
// process does not exist: ENOENT once /proc/<pid> is removed, ESRCH when the
// task is reaped between open and read (fs/proc/base.c returns -ESRCH from
// get_proc_task failures).
func (p Proc) wrap(op string, err error) error {
	if isGoneErr(err) {
		return fmt.Errorf("procfs: pid %d: %s: %w: %w", p.PID, op, ErrGone, err)
	}
	return fmt.Errorf("procfs: pid %d: %s: %w", p.PID, op, err)
}

func isGoneErr(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}
