package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/journal"
	"github.com/aptsentinel/aptsentinel/internal/journaltest"
	"github.com/aptsentinel/aptsentinel/internal/proctest"
)

const messageID = "eaef8a3512e04ac0bc1481c72b6bd27c"

// journalSensor is a running `aptsentinel run --output journald`.
type journalSensor struct {
	cmd            *exec.Cmd
	pid            string
	started        time.Time // for journaltest.Since: pids are reused
	stdout, stderr proctest.Buffer
	done           chan struct{}
	status         error
}

// startJournalSensor starts the sensor writing to journald j and waits for
// its ready record in the journal (MESSAGE=ready from its PID).
func startJournalSensor(t *testing.T, j *journaltest.Journald) *journalSensor {
	t.Helper()
	s := &journalSensor{done: make(chan struct{})}
	s.cmd = exec.Command(sensorBin, "run", "--output", "journald")
	s.cmd.Stdout, s.cmd.Stderr = &s.stdout, &s.stderr
	s.started = time.Now()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.pid = strconv.Itoa(s.cmd.Process.Pid)
	go func() { s.status = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.stop(t) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if got := j.Query(t, "_PID="+s.pid, journaltest.Since(s.started), "MESSAGE=ready"); len(got) > 0 {
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("sensor exited before ready: %v\nstderr:\n%s", s.status, s.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no MESSAGE=ready from sensor %s in the journal after 30s; stderr:\n%s", s.pid, s.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM and checks the sensor exits 0 within 10s.
func (s *journalSensor) stop(t *testing.T) {
	t.Helper()
	if !proctest.Stop(s.cmd.Process, s.done, 10*time.Second) {
		t.Errorf("sensor did not stop within 10s of SIGTERM")
		return
	}
	if s.status != nil {
		t.Errorf("sensor exit: %v; stderr:\n%s", s.status, s.stderr.String())
	}
}

func wantFields(t *testing.T, what string, e map[string]any, want map[string]string) {
	t.Helper()
	for name, v := range want {
		if got := journaltest.Field(e, name); got != v {
			t.Errorf("%s: %s = %q, want %q", what, name, got, v)
		}
	}
}

func TestE2EJournalAlert(t *testing.T) {
	requireE2E(t)
	j := journaltest.Start(t)
	s := startJournalSensor(t, j)

	ready := j.Query(t, "_PID="+s.pid, journaltest.Since(s.started), "MESSAGE=ready")
	wantFields(t, "ready record", ready[0], map[string]string{
		"SYSLOG_IDENTIFIER": "aptsentinel", "APTSENTINEL_KIND": "log", "PRIORITY": "6", "MESSAGE_ID": "",
	})

	// The hook's text is the shell's argv: newlines and would-be fields in
	// it are attacker-controlled strings on their way to the journal.
	hook := connectHook("1.1.1.1", 4242) + "; : '\nMESSAGE_ID=00000000000000000000000000000000\nPRIORITY=0\n'"
	aptRun(t, "apt", "-o", preInvoke(hook))
	got := j.WaitFor(t, 1, 10*time.Second, "MESSAGE_ID="+messageID, "_PID="+s.pid, journaltest.Since(s.started))
	if len(got) != 1 {
		t.Fatalf("found %d alerts from sensor %s, want 1; stderr:\n%s", len(got), s.pid, s.stderr.String())
	}
	e := got[0]
	machineID, _ := os.ReadFile("/etc/machine-id")
	wantFields(t, "alert", e, map[string]string{
		"PRIORITY":                         "4",
		"SYSLOG_IDENTIFIER":                "aptsentinel",
		"APTSENTINEL_KIND":                 "alert",
		"APTSENTINEL_RULE_ID":              ruleID,
		"APTSENTINEL_SEVERITY":             "medium",
		"APTSENTINEL_HOST_ID":              strings.TrimSpace(string(machineID)),
		"APTSENTINEL_PROCESS_NAME":         "sh",
		"APTSENTINEL_PROCESS_EXECUTABLE":   "/usr/bin/dash",
		"APTSENTINEL_PROCESS_PARENT_NAME":  "apt",
		"APTSENTINEL_PROCESS_COMMAND_LINE": "sh -c " + hook,
		"APTSENTINEL_CHILD_EXECUTABLE":     "/usr/bin/bash",
		"APTSENTINEL_DESTINATION_IP":       "1.1.1.1",
		"APTSENTINEL_DESTINATION_PORT":     "4242",
		"APTSENTINEL_NETWORK_TYPE":         "ipv4",
	})
	// MESSAGE is the alert line --output stdout prints; check it the same way.
	raw := journaltest.Field(e, "MESSAGE")
	a := alertLine{raw: raw}
	if err := json.Unmarshal([]byte(raw), &a.doc); err != nil {
		t.Fatalf("MESSAGE is not the JSON alert line: %v: %q", err, raw)
	}
	checkAlert(t, a, "1.1.1.1", 4242, "ENETUNREACH")
	if pid := journaltest.Field(e, "APTSENTINEL_PROCESS_PID"); pid != fmt.Sprint(field(a.doc, "process.pid")) {
		t.Errorf("APTSENTINEL_PROCESS_PID %s, alert process.pid %v", pid, field(a.doc, "process.pid"))
	}
	if forged := j.Query(t, "_PID="+s.pid, journaltest.Since(s.started), "MESSAGE_ID=00000000000000000000000000000000"); len(forged) > 0 {
		t.Errorf("the hook's text forged a MESSAGE_ID: %v", forged[0])
	}
	if forged := j.Query(t, "_PID="+s.pid, journaltest.Since(s.started), "PRIORITY=0"); len(forged) > 0 {
		t.Errorf("the hook's text forged PRIORITY=0: %v", forged[0])
	}

	s.stop(t)
	if out := s.stdout.String(); out != "" {
		t.Errorf("--output journald wrote to stdout: %q", out)
	}
	if strings.Contains(s.stderr.String(), `"msg":"ready"`) {
		t.Errorf("--output journald logged to stderr too: %s", s.stderr.String())
	}
	if stopped := j.WaitFor(t, 1, 5*time.Second, "_PID="+s.pid, journaltest.Since(s.started), "APTSENTINEL_KIND=log", "MESSAGE=stopped: audit rules removed, audit PID released"); len(stopped) != 1 {
		t.Errorf("the stop record is not in the journal (logs are flushed at exit)")
	}
}

// TestE2EJournalAuditCopyWarning checks the choice README.md documents:
// where journald reads the kernel audit multicast group (it copies every
// audit record into the journal) the sensor says so at start, with the
// measured cost and how to stop it; where it does not, nothing is said.
func TestE2EJournalAuditCopyWarning(t *testing.T) {
	requireE2E(t)
	j := journaltest.Start(t)
	readers, err := journal.AuditMulticastReaders("/proc")
	if err != nil {
		t.Fatal(err)
	}
	journaldReads := false
	for _, r := range readers {
		journaldReads = journaldReads || r.IsJournald()
	}
	s := startJournalSensor(t, j)
	got := j.Query(t, "_PID="+s.pid, journaltest.Since(s.started), "APTSENTINEL_KIND=log", "PRIORITY=4")
	var warn map[string]any
	for _, e := range got {
		if strings.HasPrefix(journaltest.Field(e, "MESSAGE"), "systemd-journald copies every kernel audit record") {
			warn = e
		}
	}
	switch {
	case journaldReads && warn == nil:
		t.Fatalf("journald reads audit records but the sensor did not warn; its warnings: %v", got)
	case !journaldReads && warn != nil:
		t.Fatalf("journald does not read audit records but the sensor warned: %v", warn)
	case warn != nil:
		if stop := journaltest.Field(warn, "APTSENTINEL_TO_STOP_IT"); !strings.Contains(stop, "systemctl mask --now systemd-journald-audit.socket") {
			t.Errorf("the warning does not say how to stop it: %q", stop)
		}
		if n := journaltest.Field(warn, "APTSENTINEL_JOURNAL_ENTRIES_PER_1000_EXECS"); n != strconv.Itoa(auditCopyEntriesPer1000Execs) {
			t.Errorf("the warning's measured figure = %q", n)
		}
	}
}

func TestRunOutputFlag(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--output", "syslog"}, 2, `--output "syslog": want one of [auto journald stdout]`},
		{[]string{"--output", ""}, 2, `--output "": want one of`},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := realMain(append([]string{"run"}, tt.args...), &stdout, &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("run %v: exit %d, stderr %q; want exit %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
		}
	}
	var help bytes.Buffer
	runFlags().usage(&help)
	if !strings.Contains(help.String(), `--output (default "auto")`) {
		t.Errorf("--output's default is not auto:\n%s", help.String())
	}
}
