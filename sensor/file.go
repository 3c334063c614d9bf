package sensor

import (
	"fmt"
	"os"
	"path"
	"syscall"

	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/rules"
	"golang.org/x/sys/unix"
)

// watchedDir is a directory the sensor's audit watch covers, with the
// device and inode the kernel's PATH records name it by.
type watchedDir struct {
	path  string
	dev   string // "fe:00", as kernel/audit.c audit_log_name prints dev=
	inode uint64
}

// statWatchedDir reads the identity of dir; ok is false when it is absent.
func statWatchedDir(dir string) (watchedDir, bool) {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return watchedDir{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return watchedDir{}, false
	}
	dev := uint64(st.Dev)
	return watchedDir{
		path:  dir,
		dev:   fmt.Sprintf("%02x:%02x", unix.Major(dev), unix.Minor(dev)),
		inode: st.Ino,
	}, true
}

// filePath is the absolute path of the name a File made. The kernel logs
// the name as the syscall got it: a name relative to a directory fd
// (openat(dirfd, "99x")) comes with the cwd's name in its PARENT record,
// but with the directory's own inode, so for a watched directory the path
// is known exactly.
func filePath(e *audit.File, w watchedDir) string {
	if e.Relative && w.inode != 0 && e.ParentInode == w.inode && e.ParentDev == w.dev {
		return path.Join(w.path, path.Base(e.Name))
	}
	return e.Path
}

// fileEvent is the ECS file event of e, made by process p. The process
// fields come from the tree (parent at fork, argv); the audit record names
// the writing task as it was at the syscall.
func (s *sensor) fileEvent(p *Entity, e *audit.File) rules.Event {
	if p.Name == "" {
		p.Name, p.Executable = e.Subject.Comm, e.Subject.Exe
	}
	action := rules.ActionCreation
	if e.Op == audit.FileRename {
		action = rules.ActionRename
	}
	re := rules.Event{
		Time:    e.Time,
		Action:  action,
		HostID:  s.host.ID,
		Process: ecsProcessOf(p),
		File:    rules.File{Path: filePath(e, s.watched)},
		Outcome: "success",
	}
	if e.Subject.Comm != "" {
		re.Process.Name, re.Process.Executable = e.Subject.Comm, e.Subject.Exe
	}
	re.Process.UID = e.Subject.UID
	return re
}
