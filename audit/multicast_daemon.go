package audit

import (
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultDaemonPaths are where Debian's auditd package installs the daemon
// (dpkg -L auditd: /sbin/auditd; /sbin is a link to /usr/sbin on merged-/usr
// systems, so both names are the same file there).
var DefaultDaemonPaths = []string{"/sbin/auditd", "/usr/sbin/auditd"}

// daemonRefresh is how often the daemon's file identity is read again: a
// package upgrade replaces the file (new inode), an install adds it.
const daemonRefresh = 10 * time.Second

// DaemonWatch recognises an audit daemon starting by its executable: the
// file /proc/PID/exe points to must be the installed daemon (same device
// and inode). The comm is no proof: any program can be called auditd, and
// the kernel's own kauditd thread is.
type DaemonWatch struct {
	procRoot string
	paths    []string

	mu        sync.Mutex
	files     []daemonFile
	refreshed time.Time

	// While WatchOpens runs, inotify is its descriptor (else -1) and
	// openedAt (unix nanoseconds) when it last saw the daemon's file
	// opened; inoMu keeps the descriptor from closing under a check.
	inoMu    sync.RWMutex
	inotify  int
	openedAt atomic.Int64
}

type daemonFile struct {
	path string
	fi   os.FileInfo
}

// NewDaemonWatch watches for the executables at paths (DefaultDaemonPaths
// when none), looking processes up under procRoot ("/proc").
func NewDaemonWatch(procRoot string, paths ...string) *DaemonWatch {
	if len(paths) == 0 {
		paths = DefaultDaemonPaths
	}
	return &DaemonWatch{procRoot: procRoot, paths: paths, inotify: -1}
}

// openedRecently is how long after an open of the daemon's file an exec
// is checked (Is): far more than from execve's open of the file to its
// exec event's reaching the sensor.
const openedRecently = 2 * time.Second

// Is reports whether process pid runs the daemon, and which path it
// matched. One stat of /proc/PID/exe when the daemon is installed; none
// when it is not, nor while WatchOpens runs and the file was not opened
// lately (execve opens it first).
func (w *DaemonWatch) Is(pid int) (string, bool) {
	if w.unopened() {
		return "", false
	}
	w.mu.Lock()
	if time.Since(w.refreshed) > daemonRefresh {
		w.files = nil
		for _, p := range w.paths {
			if fi, err := os.Stat(p); err == nil {
				w.files = append(w.files, daemonFile{p, fi})
			}
		}
		w.refreshed = time.Now()
	}
	files := w.files
	w.mu.Unlock()
	if len(files) == 0 {
		return "", false
	}
	exe, ok := statRaw(w.procRoot + "/" + strconv.Itoa(pid) + "/exe")
	if !ok {
		return "", false
	}
	for _, f := range files {
		if st, ok := f.fi.Sys().(*syscall.Stat_t); ok && st.Dev == exe.Dev && st.Ino == exe.Ino {
			return f.path, true
		}
	}
	return "", false
}

// unopened reports whether WatchOpens runs and has seen no open of the
// daemon's file within openedRecently, with none waiting to be read (an
// exec's open may not be read yet). Then no process can have just exec'd
// the daemon. The queue is asked first: WatchOpens marks an open before
// it takes events off, so an open read between the two is still seen.
func (w *DaemonWatch) unopened() bool {
	w.inoMu.RLock()
	defer w.inoMu.RUnlock()
	if w.inotify < 0 || queuedBytes(w.inotify) != 0 {
		return false
	}
	return time.Since(time.Unix(0, w.openedAt.Load())) >= openedRecently
}
