// Package sdnotify speaks systemd's service notification protocol
// (sd_notify(3)): datagrams such as "READY=1" or "WATCHDOG=1" sent to the
// AF_UNIX socket named by $NOTIFY_SOCKET. It is written here rather than
// linked from libsystemd so the static binary runs on jessie's systemd 215,
// which speaks the same protocol.
package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// Notifier sends states to the service manager.
type Notifier struct {
	conn *net.UnixConn
	addr string
	// Watchdog is the interval systemd expects WATCHDOG=1 within
	// ($WATCHDOG_USEC), 0 when the watchdog is off for this process.
	Watchdog time.Duration
}

// FromEnv returns the Notifier $NOTIFY_SOCKET names, or nil when it is
// unset (not run by systemd, or Type=simple without NotifyAccess). It
// unsets NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID, as
// sd_notify(unset_environment=1) does, so the sensor's children (the
// readiness probe) cannot speak for it.
func FromEnv() (*Notifier, error) {
	addr := os.Getenv("NOTIFY_SOCKET")
	usec, pid := os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID")
	for _, v := range []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"} {
		os.Unsetenv(v)
	}
	if addr == "" {
		return nil, nil
	}
	n, err := Dial(addr)
	if err != nil {
		return nil, err
	}
	w, err := watchdogInterval(usec, pid, os.Getpid())
	if err != nil {
		n.Close()
		return nil, err
	}
	n.Watchdog = w
	return n, nil
}

// watchdogInterval reads $WATCHDOG_USEC; $WATCHDOG_PID, when set, must be
// this process (sd_watchdog_enabled(3)).
func watchdogInterval(usec, pid string, self int) (time.Duration, error) {
	if usec == "" {
		return 0, nil
	}
	if pid != "" {
		p, err := strconv.Atoi(pid)
		if err != nil {
			return 0, fmt.Errorf("sd_notify: WATCHDOG_PID %q is not a pid", pid)
		}
		if p != self {
			return 0, nil // meant for another process
		}
	}
	us, err := strconv.ParseUint(usec, 10, 63)
	if err != nil || us == 0 || us > uint64(1<<63-1)/1000 {
		return 0, fmt.Errorf("sd_notify: WATCHDOG_USEC %q is not a positive number of microseconds", usec)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// Dial opens a Notifier on the socket at addr; "@name" is an abstract
// socket (unix(7)), as systemd may hand out.
func Dial(addr string) (*Notifier, error) {
	if addr == "" || (addr[0] != '/' && addr[0] != '@') {
		return nil, fmt.Errorf("sd_notify: NOTIFY_SOCKET %q is neither a path nor an abstract socket", addr)
	}
	ua := &net.UnixAddr{Name: addr, Net: "unixgram"}
	if addr[0] == '@' {
		ua.Name = "\x00" + addr[1:]
	}
	c, err := net.DialUnix("unixgram", nil, ua)
	if err != nil {
		return nil, fmt.Errorf("sd_notify: %w", err)
	}
	return &Notifier{conn: c, addr: addr}, nil
}

// Notify sends one state ("READY=1", "WATCHDOG=1", "STOPPING=1"). A
// datagram socket does not block the sender for long; a manager that
// does not read makes it fail, which the caller logs.
func (n *Notifier) Notify(state string) error {
	if n == nil {
		return errors.New("sd_notify: no notify socket")
	}
	n.conn.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := n.conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %s to %s: %w", state, n.addr, err)
	}
	return nil
}

// Close closes the socket.
func (n *Notifier) Close() error { return n.conn.Close() }
