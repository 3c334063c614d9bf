package journal

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// entryFile returns a read-only-for-everyone-else file descriptor holding
// b: a memfd sealed against any change (journald maps a sealed memfd
// instead of copying it, and needs the seals to trust it: memfd_get_sealed
// in systemd's src/basic/memfd-util.c), or where memfd_create(2) does not
// exist (added in Linux 3.17; jessie runs 3.16) an unlinked regular file in
// /dev/shm, which journald 215 reads with pread (journald-native.c).
func (c *Client) entryFile(b []byte) (fd int, viaMemfd bool, err error) {
	if !c.noMemfd.Load() {
		fd, err := sealedMemfd(b)
		if err == nil {
			return fd, true, nil
		}
		if !errors.Is(err, unix.ENOSYS) {
			return -1, false, err
		}
		c.noMemfd.Store(true)
	}
	fd, err = unlinkedShmFile(c.shmDir, b)
	return fd, false, err
}

func sealedMemfd(b []byte) (int, error) {
	fd, err := unix.MemfdCreate("aptsentinel-journal-entry", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, fmt.Errorf("journal: memfd_create: %w", err)
	}
	if err := writeAll(fd, b); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("journal: write memfd: %w", err)
	}
	const seals = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE | unix.F_SEAL_SEAL
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("journal: seal memfd: %w", err)
	}
	return fd, nil
}

// unlinkedShmFile writes b to a new file in dir (tmpfs), unlinks it and
// returns a descriptor on it. The file is 0600 and gone from the directory
// before the descriptor is passed, so no one else can open or change it.
func unlinkedShmFile(dir string, b []byte) (int, error) {
	f, err := os.CreateTemp(dir, "aptsentinel-journal-*")
	if err != nil {
		return -1, fmt.Errorf("journal: entry file: %w", err)
	}
	os.Remove(f.Name())
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		return -1, fmt.Errorf("journal: write entry file: %w", err)
	}
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return -1, fmt.Errorf("journal: dup entry file: %w", err)
	}
	unix.CloseOnExec(fd)
	return fd, nil
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return err
		}
		b = b[n:]
	}
	return nil
}
