// Package journaltest gives tests a real systemd-journald: the running one
// when there is one (under systemd, or started by .ci/start-journald), else
// one it starts and later stops, by the PID it started. Outside CI a
// machine without systemd-journald skips the test; under CI=true it fails
// it.
package journaltest

import (
	"github.com/aptsentinel/aptsentinel/internal/proctest"
	"github.com/aptsentinel/aptsentinel/internal/testenv"

	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Binary is systemd-journald's path on Debian (jessie to trixie).
const Binary = "/lib/systemd/systemd-journald"

// SystemSocket is the system journald's native socket.
const SystemSocket = "/run/systemd/journal/socket"

// auditDropIn keeps a journald started here from touching the kernel audit
// enabled flag. journald 252 started standalone sets enabled=0 at start
// ("Audit=" defaults to off, journald.conf(5)); that would blind a sensor
// another test binary is running at the same time. An empty "Audit=" means
// "leave the flag as it is" (measured on this Debian 12: with the drop-in a
// sensor's enabled=1 survives a journald start, without it it does not).
const auditDropIn = "# written by aptsentinel's journaltest: leave kernel audit's enabled flag alone\n[Journal]\nAudit=\n"

// Journald is a journald tests write to and read from.
type Journald struct {
	// Socket is the native protocol socket.
	Socket string
	// Namespace is the journal namespace ("" for the system journal).
	Namespace string
	cmd       *exec.Cmd
	done      chan struct{}
	out       bytes.Buffer
	dropIn    string
}

var namespaceSeq atomic.Int32

// Start returns the system journald: the running one (left running) or one
// started now and stopped by PID at the end of the test.
func Start(t testing.TB) *Journald {
	t.Helper()
	j := &Journald{Socket: SystemSocket}
	if alive(j.Socket) {
		return j
	}
	require(t)
	j.start(t)
	t.Cleanup(func() { j.Stop(t) })
	return j
}

// StartPrivate starts a journald of its own in a new journal namespace
// (systemd-journald NAMESPACE: socket /run/systemd/journal.NAMESPACE/socket),
// which the test may stop and restart; it is stopped and its files removed at
// the end of the test.
func StartPrivate(t testing.TB) *Journald {
	t.Helper()
	require(t)
	ns := fmt.Sprintf("aptsentinel-test-%d-%d", os.Getpid(), namespaceSeq.Add(1))
	j := &Journald{Namespace: ns, Socket: "/run/systemd/journal." + ns + "/socket"}
	j.start(t)
	t.Cleanup(func() {
		j.Stop(t)
		id := machineID()
		for _, p := range []string{"/run/systemd/journal." + ns, "/run/log/journal/" + id + "." + ns, "/var/log/journal/" + id + "." + ns} {
			os.RemoveAll(p)
		}
	})
	return j
}

func require(t testing.TB) {
	t.Helper()
	var missing string
	if os.Geteuid() != 0 {
		missing = "root"
	} else if _, err := os.Stat(Binary); err != nil {
		missing = Binary
	} else if _, err := exec.LookPath("journalctl"); err != nil {
		missing = "journalctl"
	}
	if missing == "" {
		return
	}
	testenv.Require(t, "a real journald", errors.New(missing+" is missing"))
}

func (j *Journald) configName() string {
	if j.Namespace == "" {
		return "journald"
	}
	return "journald@" + j.Namespace
}

// start starts journald and waits until its socket takes datagrams.
func (j *Journald) start(t testing.TB) {
	t.Helper()
	dir := filepath.Join("/run/systemd", j.configName()+".conf.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	j.dropIn = filepath.Join(dir, "zz-aptsentinel-test.conf")
	if err := os.WriteFile(j.dropIn, []byte(auditDropIn), 0o644); err != nil {
		t.Fatal(err)
	}
	var args []string
	if j.Namespace != "" {
		args = append(args, j.Namespace)
	}
	j.out.Reset()
	j.cmd = exec.Command(Binary, args...)
	j.cmd.Stdout, j.cmd.Stderr = &j.out, &j.out
	if err := j.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", Binary, err)
	}
	j.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(j.cmd, j.done)
	deadline := time.Now().Add(10 * time.Second)
	for !alive(j.Socket) {
		select {
		case <-j.done:
			t.Fatalf("%s exited at start: %s", Binary, j.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no socket at %s after 10s: %s", Binary, j.Socket, j.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// PID returns the PID of the journald this package started, or 0.
func (j *Journald) PID() int {
	if j.cmd == nil || j.cmd.Process == nil {
		return 0
	}
	return j.cmd.Process.Pid
}

// Stop stops the journald this package started (SIGTERM to its PID, then
// SIGKILL after 10s). A journald it did not start is left alone.
func (j *Journald) Stop(t testing.TB) {
	t.Helper()
	if j.cmd == nil {
		return
	}
	if !proctest.Stop(j.cmd.Process, j.done, 10*time.Second) {
		t.Errorf("journald %d ignored SIGTERM for 10s", j.cmd.Process.Pid)
	}
	j.cmd = nil
	if j.dropIn != "" {
		os.Remove(j.dropIn)
		os.Remove(filepath.Dir(j.dropIn)) // only if empty
		j.dropIn = ""
	}
}

// Restart starts the journald again after Stop (StartPrivate ones only).
func (j *Journald) Restart(t testing.TB) {
	t.Helper()
	if j.Namespace == "" {
		t.Fatal("journaltest: Restart is for StartPrivate journalds")
	}
	j.start(t)
}

// Query runs journalctl -o json on this journal with the given matches
// (FIELD=value, "+" for OR; see journalctl(1)) and returns the entries.
func (j *Journald) Query(t testing.TB, matches ...string) []map[string]any {
	t.Helper()
	args := []string{"-o", "json", "--no-pager", "--all"}
	if j.Namespace != "" {
		args = append(args, "--namespace="+j.Namespace)
	}
	out, err := exec.Command("journalctl", append(args, matches...)...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("journalctl %v: %v: %s", matches, err, stderr)
	}
	var entries []map[string]any
	for _, line := range bytes.Split(out, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e map[string]any
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("journalctl -o json: %v: %q", err, line)
		}
		entries = append(entries, e)
	}
	return entries
}

// Since is a Query argument that keeps only entries written at t or later
// (journalctl --since, second resolution). Pair it with a _PID= match: pids
// are reused, and the journal keeps the entries of an older process that
// had the same pid (a failure seen in CI).
func Since(t time.Time) string { return "--since=@" + strconv.FormatInt(t.Unix(), 10) }

// WaitFor polls Query until it returns at least n entries or timeout
// passes, and returns what it found last.
func (j *Journald) WaitFor(t testing.TB, n int, timeout time.Duration, matches ...string) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := j.Query(t, matches...)
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Field returns an entry's field as a string. journalctl -o json writes a
// value that is not valid UTF-8 or holds control characters as an array of
// byte values, and a field set more than once as an array of values; both
// come back as their bytes ("\x00" separated for multiple values).
func Field(e map[string]any, name string) string {
	switch v := e[name].(type) {
	case string:
		return v
	case []any:
		if len(v) > 0 {
			if _, ok := v[0].(float64); ok {
				b := make([]byte, 0, len(v))
				for _, x := range v {
					f, _ := x.(float64)
					b = append(b, byte(f))
				}
				return string(b)
			}
		}
		parts := make([]string, 0, len(v))
		for _, x := range v {
			parts = append(parts, Field(map[string]any{"x": x}, "x"))
		}
		return strings.Join(parts, "\x00")
	default:
		return ""
	}
}

// alive reports whether a process is bound to the datagram socket at path
// (connect(2) on an AF_UNIX datagram socket fails with ECONNREFUSED when
// the socket file is left from a dead journald).
func alive(path string) bool {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return unix.Connect(fd, &unix.SockaddrUnix{Name: path}) == nil
}

func machineID() string {
	b, _ := os.ReadFile("/etc/machine-id")
	return strings.TrimSpace(string(b))
}

// Unique returns a value unique to this test run, to find one's own entries
// in a journal shared with other tests.
func Unique(t testing.TB) string {
	t.Helper()
	return strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
}
