package journal

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// DefaultSocket is journald's native protocol socket.
const DefaultSocket = "/run/systemd/journal/socket"

// Available reports whether a journald socket exists at path: the test
// `--output auto` uses. A socket left behind by a dead journald counts:
// sending then fails, and the Spool retries until journald is back.
func Available(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode()&os.ModeSocket != 0
}

// Client sends entries to journald. It is safe for concurrent use.
type Client struct {
	fd   int
	addr *unix.SockaddrUnix
	mu   sync.Mutex // serializes sends: one entry's datagram and fd at a time

	// noMemfd is set when memfd_create(2) is missing (ENOSYS: kernels
	// before 3.17, jessie's 3.16) or, in tests, to exercise the fallback.
	noMemfd atomic.Bool
	shmDir  string

	datagrams, memfds, tmpFiles atomic.Uint64
}

// ClientStats counts entries sent, by the path they took.
type ClientStats struct {
	Datagrams uint64 // in one datagram
	Memfds    uint64 // in a sealed memfd
	TmpFiles  uint64 // in an unlinked file in /dev/shm
}

// Dial returns a Client for the journald socket at path. It does not
// connect: each send names the path, so a journald restarted with a new
// socket is reached without reopening anything (as sd_journal_sendv does).
func Dial(path string) (*Client, error) {
	if len(path) >= 108 { // sizeof(sun_path), unix(7)
		return nil, fmt.Errorf("journal: socket path %q too long", path)
	}
	// Non-blocking: a stopped journald with a full receive queue must make
	// Send fail at once (EAGAIN, retried by the Spool), never block the
	// sensor.
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("journal: socket: %w", err)
	}
	return &Client{fd: fd, addr: &unix.SockaddrUnix{Name: path}, shmDir: "/dev/shm"}, nil
}

// Close closes the socket.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return nil
	}
	err := unix.Close(c.fd)
	c.fd = -1
	return err
}

// Stats returns how many entries were sent by each path.
func (c *Client) Stats() ClientStats {
	return ClientStats{Datagrams: c.datagrams.Load(), Memfds: c.memfds.Load(), TmpFiles: c.tmpFiles.Load()}
}

// Send sends one entry.
func (c *Client) Send(e *Entry) error {
	b, err := e.Bytes()
	if err != nil {
		return err
	}
	return c.SendBytes(b)
}

// SendBytes sends one encoded entry (Entry.Bytes). An entry too large for a
// datagram goes in a file, passed with SCM_RIGHTS. Errors wrap the
// errno: ENOENT or ECONNREFUSED (journald gone), EAGAIN (its queue full).
func (c *Client) SendBytes(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return fmt.Errorf("journal: send: %w", os.ErrClosed)
	}
	err := unix.Sendmsg(c.fd, b, nil, c.addr, 0)
	if err == nil {
		c.datagrams.Add(1)
		return nil
	}
	// A datagram larger than the socket's send buffer fails with EMSGSIZE
	// (unix_dgram_sendmsg in net/unix/af_unix.c); sd_journal_sendv also
	// falls back on ENOBUFS.
	if !errors.Is(err, unix.EMSGSIZE) && !errors.Is(err, unix.ENOBUFS) {
		return fmt.Errorf("journal: send to %s: %w", c.addr.Name, err)
	}
	return c.sendFile(b)
}

// sendFile writes b to a file and passes its descriptor with an empty
// datagram: journald then reads the entry from the file
// (server_process_native_file in journald-native.c).
func (c *Client) sendFile(b []byte) error {
	fd, viaMemfd, err := c.entryFile(b)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Sendmsg(c.fd, nil, unix.UnixRights(fd), c.addr, 0); err != nil {
		return fmt.Errorf("journal: send entry file to %s: %w", c.addr.Name, err)
	}
	if viaMemfd {
		c.memfds.Add(1)
	} else {
		c.tmpFiles.Add(1)
	}
	return nil
}
