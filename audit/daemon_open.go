package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// WatchOpens calls onOpen each time one of the daemon's executables is
// opened, which execve(2) does (fs/exec.c reports the open to fsnotify), until
// ctx is done. It is the earliest sign that auditd is starting, ahead of
// the proc connector's exec event, which a reader may take up to a batch
// window later: auditd asks for the audit PID within milliseconds, and
// the kernel refuses it while the sensor holds it. A plain read of the file
// (a backup, a checksum) calls onOpen too: it must be cheap and harmless.
//
// The files are watched by inotify, and their directories for a file of
// the same name created or moved in, so that a package install or upgrade
// (dpkg unpacks a new file and renames it over the old) is followed.
func (w *DaemonWatch) WatchOpens(ctx context.Context, onOpen func()) error {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("audit: watch the audit daemon's executable: inotify_init1: %w", err)
	}
	f := os.NewFile(uintptr(fd), "inotify") // non-blocking: the runtime's poller waits on it
	closeFile := func() {
		w.inoMu.Lock()
		defer w.inoMu.Unlock()
		if w.inotify == fd {
			w.inotify = -1
		}
		f.Close()
	}
	defer closeFile()
	stop := context.AfterFunc(ctx, closeFile)
	defer stop()

	dirs := map[int]string{} // watch descriptor -> directory, for creations
	watchFile := func(path string) {
		unix.InotifyAddWatch(fd, path, unix.IN_OPEN|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_ATTRIB)
	}
	for _, p := range w.paths {
		dir := filepath.Dir(p)
		wd, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_ONLYDIR)
		if err == nil {
			dirs[wd] = dir
		}
		watchFile(p) // absent until installed: the directory watch adds it
	}

	// From here on Is checks an exec only around an open of the file.
	w.inoMu.Lock()
	w.inotify = fd
	w.inoMu.Unlock()
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("audit: watch the audit daemon's executable: %w", err)
	}
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := w.readEvents(rc, buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return fmt.Errorf("audit: watch the audit daemon's executable: %w", err)
		}
		opened := false
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			switch {
			case ev.Mask&unix.IN_OPEN != 0:
				opened = true
			case ev.Mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0:
				// A file created in a watched directory: watch it when it
				// is one of the daemon's paths (again, after an upgrade).
				p := filepath.Join(dirs[int(ev.Wd)], unix.ByteSliceToString(name))
				for _, want := range w.paths {
					if p == want {
						watchFile(p)
					}
				}
			}
			// IN_IGNORED (the file gone or replaced) needs nothing: the
			// directory's watch sees the new one come.
		}
		if opened {
			w.openedAt.Store(time.Now().UnixNano())
			onOpen()
		}
	}
}

// readEvents waits in the runtime's poller for inotify events and reads
// them into buf. Just before it takes them off the descriptor it marks an
// open (openedAt): from then on the queue looks empty to Is, which must
// still look at /proc for the exec whose open is being read. Any event
// marks one (a create, a rename: rare, and the mark only costs a stat).
func (w *DaemonWatch) readEvents(rc syscall.RawConn, buf []byte) (n int, err error) {
	var readErr error
	err = rc.Read(func(fd uintptr) bool {
		if queuedBytes(int(fd)) == 0 {
			return false // nothing queued: wait
		}
		w.openedAt.Store(time.Now().UnixNano())
		n, readErr = unix.Read(int(fd), buf)
		return readErr != unix.EAGAIN
	})
	if err == nil {
		err = readErr
	}
	return n, err
}

// queuedBytes is what an inotify descriptor holds unread (FIONREAD, x/sys
// TIOCINQ); -1 when it cannot be asked.
func queuedBytes(fd int) int {
	var queued int32
	if _, _, errno := unix.RawSyscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCINQ, uintptr(unsafe.Pointer(&queued))); errno != 0 {
		return -1
	}
	return int(queued)
}
