package sdnotify

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// listen binds a datagram socket as systemd does for NOTIFY_SOCKET.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func recv(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	b := make([]byte, 4096)
	n, err := c.Read(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(b[:n])
}

func TestFromEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	srv := listen(t, path)
	t.Setenv("NOTIFY_SOCKET", path)
	t.Setenv("WATCHDOG_USEC", "30000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	n, err := FromEnv()
	if err != nil || n == nil {
		t.Fatalf("FromEnv: %v, %v", n, err)
	}
	defer n.Close()
	if n.Watchdog != 30*time.Second {
		t.Errorf("watchdog %s, want 30s", n.Watchdog)
	}
	for _, v := range []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"} {
		if _, set := os.LookupEnv(v); set {
			t.Errorf("%s still set: children would inherit it", v)
		}
	}
	for _, state := range []string{"READY=1", "WATCHDOG=1"} {
		if err := n.Notify(state); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, srv); got != state {
			t.Errorf("got %q, want %q", got, state)
		}
	}
}

func TestAbstractSocket(t *testing.T) {
	name := "aptsentinel-sdnotify-test-" + strconv.Itoa(os.Getpid())
	srv := listen(t, "@"+name) // Go maps a leading @ to the abstract namespace
	n, err := Dial("@" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.Notify("WATCHDOG=1"); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, srv); got != "WATCHDOG=1" {
		t.Errorf("got %q", got)
	}
}

func TestFromEnvUnset(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if n, err := FromEnv(); n != nil || err != nil {
		t.Errorf("without NOTIFY_SOCKET: %v, %v; want nil, nil", n, err)
	}
	if _, err := Dial("relative/sock"); err == nil {
		t.Error("a relative NOTIFY_SOCKET was accepted")
	}
}

func TestWatchdogInterval(t *testing.T) {
	cases := []struct {
		usec, pid string
		want      time.Duration
		err       bool
	}{
		{"", "", 0, false},
		{"30000000", "", 30 * time.Second, false},
		{"30000000", "7", 30 * time.Second, false},
		{"30000000", "8", 0, false}, // another process's watchdog
		{"30000000", "x", 0, true},
		{"0", "", 0, true},
		{"-5", "", 0, true},
		{"soon", "", 0, true},
		{"99999999999999999999", "", 0, true},
	}
	for _, c := range cases {
		got, err := watchdogInterval(c.usec, c.pid, 7)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("usec %q pid %q: %s, %v; want %s (error %v)", c.usec, c.pid, got, err, c.want, c.err)
		}
	}
}
