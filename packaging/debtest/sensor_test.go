package debtest

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/journaltest"
	"github.com/aptsentinel/aptsentinel/internal/proctest"
)

// messageID is the journal MESSAGE_ID of the rule's alerts: its rule_id
// without dashes.
const messageID = "eaef8a3512e04ac0bc1481c72b6bd27c"

// installedSensor is the installed binary started as the unit starts it.
// With the shipped config (--output auto) and a journald running, its
// alerts and logs are journal entries from its own PID.
type installedSensor struct {
	cmd            *exec.Cmd
	pid            string
	started        time.Time // for journaltest.Since: pids are reused
	j              *journaltest.Journald
	stdout, stderr proctest.Buffer
	done           chan struct{}
	err            error // the exit status, once done is closed
}

// startAsUnit starts ExecStart of the installed unit under the unit's
// capability bounding set and no_new_privs (setpriv execs the sensor, so
// the sensor keeps setpriv's PID), minus the capability drop ("" for none,
// else e.g. "audit_control"). At the end of the test it is stopped with
// SIGTERM if still running.
func startAsUnit(t *testing.T, j *journaltest.Journald, drop string) *installedSensor {
	t.Helper()
	u := readUnit(t, "/lib/systemd/system/aptsentinel.service")
	args := append(u.setprivArgs(t, drop), strings.Fields(u.one(t, "ExecStart"))...)
	s := &installedSensor{cmd: exec.Command("setpriv", args...), j: j, done: make(chan struct{})}
	s.cmd.Stdout, s.cmd.Stderr = &s.stdout, &s.stderr
	s.started = time.Now()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.pid = strconv.Itoa(s.cmd.Process.Pid)
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// readyRecords returns the sensor's "ready" records in the journal.
func (s *installedSensor) readyRecords(t *testing.T) []map[string]any {
	t.Helper()
	return s.j.Query(t, "_PID="+s.pid, journaltest.Since(s.started), "SYSLOG_IDENTIFIER=aptsentinel", "MESSAGE=ready")
}

// waitReady waits for the sensor's ready record in the journal; the test
// fails if the sensor exits first or 30 s pass.
func (s *installedSensor) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(s.readyRecords(t)) == 0 {
		select {
		case <-s.done:
			t.Fatalf("sensor exited before ready: %v\n%s", s.err, s.logs(t))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no MESSAGE=ready from sensor pid %s in the journal after 30s\n%s", s.pid, s.logs(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// exited waits up to timeout for the sensor to exit on its own.
func (s *installedSensor) exited(timeout time.Duration) bool {
	select {
	case <-s.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// logs returns what the sensor said, for failure messages: its journal
// entries and its stderr.
func (s *installedSensor) logs(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("journal (_PID=" + s.pid + "):\n")
	for _, e := range s.j.Query(t, "_PID="+s.pid, journaltest.Since(s.started)) {
		b.WriteString("  " + journaltest.Field(e, "MESSAGE"))
		if err := journaltest.Field(e, "APTSENTINEL_ERR"); err != "" {
			b.WriteString(": " + err)
		}
		b.WriteString("\n")
	}
	b.WriteString("stderr:\n" + s.stderr.String())
	return b.String()
}

// stop sends SIGTERM (systemd's stop) and requires exit 0 within 10 s. A
// sensor that has exited already is left as it is.
func (s *installedSensor) stop(t *testing.T) {
	t.Helper()
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if !s.exited(10 * time.Second) {
		s.cmd.Process.Kill()
		<-s.done
		t.Errorf("sensor ignored SIGTERM for 10s\n%s", s.logs(t))
		return
	}
	if s.err != nil {
		t.Errorf("sensor exit after SIGTERM: %v\n%s", s.err, s.logs(t))
	}
}

// kill sends SIGKILL (an OOM kill, or systemd's last resort) and waits for
// the exit: the sensor gets no chance to remove its rules.
func (s *installedSensor) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.done
}

// alerts waits up to timeout for n alerts of the rule from this sensor in
// the journal and returns those found.
func (s *installedSensor) alerts(t *testing.T, n int, timeout time.Duration) []map[string]any {
	t.Helper()
	return s.j.WaitFor(t, n, timeout, "MESSAGE_ID="+messageID, "_PID="+s.pid, journaltest.Since(s.started))
}
