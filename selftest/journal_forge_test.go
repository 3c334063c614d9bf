package selftest

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/journal"
	"github.com/aptsentinel/aptsentinel/internal/journaltest"
	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

// entryText is a journal entry in the export format `logger --journald`
// reads (one FIELD=value per line): the alert line of rep, the fields the
// sensor sets, and attempts at the trusted fields, which journald must
// drop from a client.
func entryText(alertLine, marker string) string {
	return strings.Join([]string{
		"MESSAGE=" + alertLine,
		"MESSAGE_ID=" + alertMessageID,
		"SYSLOG_IDENTIFIER=aptsentinel",
		"PRIORITY=4",
		"APTSENTINEL_KIND=alert",
		"APTSENTINEL_TEST_MARKER=" + marker,
		"_UID=0",
		"_PID=" + fmt.Sprint(os.Getpid()),
		"_SYSTEMD_UNIT=aptsentinel.service",
	}, "\n") + "\n"
}

// logAs writes an entry with util-linux logger, as uid (65534: nobody).
func logAs(t *testing.T, uid int, entry string) {
	t.Helper()
	args := []string{"--journald"}
	name := "logger"
	if uid != 0 {
		name = "setpriv"
		args = append([]string{fmt.Sprintf("--reuid=%d", uid), fmt.Sprintf("--regid=%d", uid), "--clear-groups", "logger"}, args...)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(entry)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %q: %v: %s", name, args, err, out)
	}
}

// TestForgedAlertNotTaken writes, to the real journald, the very alert
// entry the self-test waits for: first as nobody (with
// SYSLOG_IDENTIFIER=aptsentinel, the rule's MESSAGE_ID and attempts at
// _UID, _PID and _SYSTEMD_UNIT), then as root from a process that is not
// the sensor, then from the "sensor" (this process, as the audit PID
// holder). Only the last may pass.
func TestForgedAlertNotTaken(t *testing.T) {
	for _, tool := range []string{"logger", "setpriv"} { // util-linux
		testenv.RequireTool(t, tool)
	}
	j := journaltest.Start(t)
	if j.Socket != journaltest.SystemSocket {
		t.Fatalf("journald at %s; logger writes to the system journal only", j.Socket)
	}
	marker := journaltest.Unique(t)
	rep := triggerReport{aptPID: 4000001, shellPID: 4000002, connectPID: 4000003,
		dest: netip.MustParseAddrPort("[2001:db8::1]:9"), connectAt: time.Now()}
	line := testAlertLine(rep.shellPID, rep.aptPID, rep.connectPID, "2001:db8::1", 9)
	if d, ok := parseAlertDoc([]byte(line)); !ok || !d.matches(rep) {
		t.Fatalf("test alert line does not match its report: %s", line)
	}
	var stderr bytes.Buffer
	st := &selftest{Config: Config{Timeout: 20 * time.Second, Stderr: &lockedWriter{w: &stderr}}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fol, err := followJournal(ctx, time.Now().Add(-2*time.Second), []string{"APTSENTINEL_TEST_MARKER=" + marker})
	if err != nil {
		t.Fatal(err)
	}
	defer fol.stop()

	logAs(t, 65534, entryText(line, marker))
	logAs(t, 0, entryText(line, marker))
	// The forgery landed, with the fields a naive reader would trust.
	forged := j.WaitFor(t, 1, 10*time.Second, "APTSENTINEL_TEST_MARKER="+marker, "_UID=65534")
	if len(forged) != 1 {
		t.Fatalf("the entry written as nobody is not in the journal (%d found)", len(forged))
	}
	for name, want := range map[string]string{"SYSLOG_IDENTIFIER": "aptsentinel", "MESSAGE_ID": alertMessageID, "_UID": "65534"} {
		if got := journaltest.Field(forged[0], name); got != want {
			t.Errorf("forged entry: %s = %q, want %q", name, got, want)
		}
	}
	if got := journaltest.Field(forged[0], "_SYSTEMD_UNIT"); got == "aptsentinel.service" {
		t.Errorf("journald kept a client's _SYSTEMD_UNIT")
	}
	if len(j.WaitFor(t, 2, 10*time.Second, "APTSENTINEL_TEST_MARKER="+marker)) != 2 {
		t.Fatal("the entry written by root's logger is not in the journal")
	}

	// The genuine one, a second later, from the process named as the
	// sensor: the self-test must take this one and no other.
	time.Sleep(time.Second)
	c, err := journal.Dial(j.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var e journal.Entry
	for _, f := range strings.Split(strings.TrimSpace(entryText(line, marker)), "\n") {
		name, value, _ := strings.Cut(f, "=")
		if !strings.HasPrefix(name, "_") {
			e.Add(name, value)
		}
	}
	sentAt := time.Now()
	if err := c.Send(&e); err != nil {
		t.Fatal(err)
	}
	at, err := st.waitJournalAlert(ctx, fol, rep, sensorWriter{pid: uint32(os.Getpid()), unit: "aptsentinel.service"})
	if err != nil {
		t.Fatalf("the sensor's own entry was not taken: %v\nstderr: %s", err, stderr.String())
	}
	if at.Before(sentAt.Add(-time.Millisecond)) {
		t.Errorf("took an entry received at %s, before the genuine one was sent (%s): a forgery", at, sentAt)
	}
	// journalctl's _UID=0 match keeps nobody's entry out; root's logger
	// entry gets through it and wrote() turns it away, saying so.
	if n := strings.Count(stderr.String(), "ignored an alert entry the sensor did not write (_UID=0"); n != 1 {
		t.Errorf("%d reports of an ignored root entry, want 1:\n%s", n, stderr.String())
	}
	if strings.Contains(stderr.String(), "_UID=65534") {
		t.Errorf("nobody's entry reached the self-test past journalctl's _UID=0 match:\n%s", stderr.String())
	}
}

// TestSensorWriter: which trusted fields make an entry the sensor's.
func TestSensorWriter(t *testing.T) {
	w := sensorWriter{pid: 42, unit: "aptsentinel.service"}
	cases := []struct {
		uid, pid, unit string
		want           bool
	}{
		{"0", "42", "", true},
		{"0", "43", "aptsentinel.service", true},
		{"0", "43", "other.service", false},
		{"65534", "42", "aptsentinel.service", false},
		{"", "42", "aptsentinel.service", false},
		{"0", "", "", false},
		{"0", "042", "", false},
	}
	for _, c := range cases {
		if got := w.wrote(journalEntry{uid: c.uid, pid: c.pid, unit: c.unit}); got != c.want {
			t.Errorf("_UID=%q _PID=%q _SYSTEMD_UNIT=%q: %v, want %v", c.uid, c.pid, c.unit, got, c.want)
		}
	}
}
