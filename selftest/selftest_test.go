package selftest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/rules"
)

func TestParseTriggerReport(t *testing.T) {
	ok := "shell 120\nconnect 121 1764125000123456789 [2001:db8::1]:9 EADDRNOTAVAIL\n"
	rep, err := parseTriggerReport([]byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	want := triggerReport{shellPID: 120, connectPID: 121, connectAt: time.Unix(0, 1764125000123456789),
		dest: netip.MustParseAddrPort("[2001:db8::1]:9"), errno: "EADDRNOTAVAIL"}
	if rep != want {
		t.Errorf("got %+v, want %+v", rep, want)
	}

	bad := []struct{ name, in, want string }{
		{"empty", "", "did not report its shell"},
		{"no connect", "shell 5\n", "did not report its connect"},
		{"no shell", "connect 6 1 1.1.1.1:9 ENETUNREACH\n", "did not report its shell"},
		{"stray line", "shell 5\nhello\n", "unexpected report line"},
		{"pid zero", "shell 0\n", "bad pid"},
		{"pid huge", "shell 99999999\n", "bad pid"},
		{"pid negative", "shell -3\n", "bad pid"},
		{"bad time", "shell 5\nconnect 6 soon 1.1.1.1:9 E\n", "bad time"},
		{"bad dest", "shell 5\nconnect 6 1 1.1.1.1 E\n", "1.1.1.1"},
		{"short connect", "shell 5\nconnect 6 1 1.1.1.1:9\n", "unexpected report line"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseTriggerReport([]byte(c.in))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("parseTriggerReport(%q) = %v, want an error naming %q", c.in, err, c.want)
			}
		})
	}
}

func FuzzParseTriggerReport(f *testing.F) {
	f.Add([]byte("shell 120\nconnect 121 1764125000123456789 [2001:db8::1]:9 EADDRNOTAVAIL\n"))
	f.Add([]byte("connect 1 1 1.1.1.1:9 none\nshell 2"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := parseTriggerReport(b)
		if err == nil && (rep.shellPID <= 0 || rep.connectPID <= 0 || !rep.dest.IsValid()) {
			t.Errorf("accepted an incomplete report %+v from %q", rep, b)
		}
	})
}

// TestShellQuote runs the real /bin/sh on each quoted string: what the
// shell hands to printf must be the string itself.
func TestShellQuote(t *testing.T) {
	for _, s := range []string{
		"/usr/sbin/aptsentinel", "", "with space", "it's", "''", `a\b`, "$(id)", "`id`", "a;b", "*", "\"q\"", "new\nline",
	} {
		out, err := exec.Command("/bin/sh", "-c", "printf %s "+shellQuote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("sh got %q (err %v) for %q quoted as %s", out, err, s, shellQuote(s))
		}
	}
}

// testAlertLine is an alert line as the sensor writes it, trimmed to the
// fields the self-test reads.
func testAlertLine(shell, apt, conn int, ip string, port int) string {
	return fmt.Sprintf(`{"rule":{"id":%q},"process":{"pid":%d,"name":"sh","parent":{"pid":%d,"name":"apt"}},`+
		`"destination":{"ip":%q,"port":%d},"events":[{"process":{"pid":%d}},{"process":{"pid":%d}}]}`,
		ruleID, shell, apt, ip, port, shell, conn)
}

func TestAlertDocMatches(t *testing.T) {
	rep := triggerReport{aptPID: 10, shellPID: 11, connectPID: 12, dest: netip.MustParseAddrPort("[2001:db8::1]:9")}
	cases := []struct {
		name string
		line string
		want bool
	}{
		{"the trigger's", testAlertLine(11, 10, 12, "2001:db8::1", 9), true},
		{"ip written longhand", testAlertLine(11, 10, 12, "2001:0db8:0:0:0:0:0:1", 9), true},
		{"other shell", testAlertLine(99, 10, 12, "2001:db8::1", 9), false},
		{"other apt", testAlertLine(11, 99, 12, "2001:db8::1", 9), false},
		{"other connector", testAlertLine(11, 10, 99, "2001:db8::1", 9), false},
		{"other ip", testAlertLine(11, 10, 12, "1.1.1.1", 9), false},
		{"other port", testAlertLine(11, 10, 12, "2001:db8::1", 80), false},
		{"bad ip", testAlertLine(11, 10, 12, "nope", 9), false},
		{"no destination", strings.Replace(testAlertLine(11, 10, 12, "x", 9), `"destination":{"ip":"x","port":9},`, "", 1), false},
		{"no events", strings.Replace(testAlertLine(11, 10, 12, "2001:db8::1", 9), `"events":[{"process":{"pid":11}},{"process":{"pid":12}}]`, `"events":[]`, 1), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, ok := parseAlertDoc([]byte(c.line))
			if !ok {
				t.Fatalf("parseAlertDoc refused %s", c.line)
			}
			if got := doc.matches(rep); got != c.want {
				t.Errorf("matches = %v, want %v for %s", got, c.want, c.line)
			}
		})
	}
	for _, notAlert := range []string{"", "{", "[]", `{"rule":{"id":"other"}}`, `{"rule":{"id":5}}`} {
		if _, ok := parseAlertDoc([]byte(notAlert)); ok {
			t.Errorf("parseAlertDoc accepted %q", notAlert)
		}
	}
}

func TestParseJournalEntry(t *testing.T) {
	alert := testAlertLine(11, 10, 12, "1.1.1.1", 9)
	bytesOf := func(s string) string {
		parts := make([]string, len(s))
		for i := range len(s) {
			parts[i] = fmt.Sprint(s[i])
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	quoted := func(s string) string { return fmt.Sprintf("%q", s) }
	cases := []struct {
		name, line string
		ok         bool
	}{
		{"alert in MESSAGE", `{"__REALTIME_TIMESTAMP":"1764125000123456","MESSAGE":` + quoted(alert) + `}`, true},
		{"MESSAGE as bytes", `{"__REALTIME_TIMESTAMP":"1764125000123456","MESSAGE":` + bytesOf(alert) + `}`, true},
		{"alert in another field", `{"__REALTIME_TIMESTAMP":"1764125000123456","MESSAGE":"text","ALERT":` + quoted(alert) + `}`, true},
		{"alert only in a trusted field", `{"__REALTIME_TIMESTAMP":"1764125000123456","MESSAGE":"text","_X":` + quoted(alert) + `}`, false},
		{"no timestamp", `{"MESSAGE":` + quoted(alert) + `}`, false},
		{"bad timestamp", `{"__REALTIME_TIMESTAMP":"soon","MESSAGE":` + quoted(alert) + `}`, false},
		{"byte out of range", `{"__REALTIME_TIMESTAMP":"1","MESSAGE":[123,300]}`, false},
		{"not an alert", `{"__REALTIME_TIMESTAMP":"1","MESSAGE":"ready"}`, false},
		{"not json", `-- No entries --`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, ok := parseJournalEntry([]byte(c.line))
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v", ok, c.ok)
			}
			if ok && (!e.at.Equal(time.UnixMicro(1764125000123456)) || e.doc.Process.PID != 11) {
				t.Errorf("entry %+v: want time 1764125000.123456 and shell pid 11", e)
			}
		})
	}
}

func FuzzParseJournalEntry(f *testing.F) {
	f.Add([]byte(`{"__REALTIME_TIMESTAMP":"1764125000123456","MESSAGE":` + fmt.Sprintf("%q", testAlertLine(1, 2, 3, "1.1.1.1", 9)) + `}`))
	f.Add([]byte(`{"__REALTIME_TIMESTAMP":"1","MESSAGE":[1,2,3]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if e, ok := parseJournalEntry(b); ok && (e.doc.Rule.ID != ruleID || e.at.UnixMicro() <= 0) {
			t.Errorf("accepted %q as %+v", b, e)
		}
	})
}

// TestSelftestDestinationsRaiseTheAlert feeds the rule engine the chain the
// self-test stages: both destinations must pass the rule's exclusions.
func TestSelftestDestinationsRaiseTheAlert(t *testing.T) {
	for _, dest := range []netip.AddrPort{selftestDest, selftestDestIPv4} {
		e, err := rules.NewEngine([]*rules.Rule{rules.AptNetcon()}, rules.EngineConfig{})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		shell := rules.Event{Time: now, Action: rules.ActionExec, HostID: "h", Process: rules.Process{
			PID: 11, EntityID: "shell", Name: "sh", Executable: "/usr/bin/dash",
			Args:   []string{"/bin/sh", "-c", "'/usr/sbin/aptsentinel' selftest internal-connect 1; true"},
			Parent: rules.Parent{PID: 10, EntityID: "apt", Name: "apt"},
		}}
		conn := rules.Event{Time: now.Add(time.Millisecond), Action: rules.ActionConnectionAttempt, HostID: "h",
			Destination: dest, Outcome: "failure", Errno: "ENETUNREACH", Process: rules.Process{
				PID: 12, EntityID: "conn", Name: "aptsentinel", Executable: "/usr/sbin/aptsentinel",
				Parent: rules.Parent{PID: 11, EntityID: "shell", Name: "sh"},
			}}
		e.Process(&shell)
		if m := e.Process(&conn); len(m) != 1 {
			t.Errorf("destination %s: %d matches, want 1", dest, len(m))
		}
	}
}

func TestRoundLatency(t *testing.T) {
	cases := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{999 * time.Nanosecond, "999ns"},
		{4213 * time.Nanosecond, "4.21µs"},
		{421357 * time.Nanosecond, "421µs"},
		{4213579 * time.Nanosecond, "4.21ms"},
		{12149 * time.Microsecond, "12.1ms"},
		{1024 * time.Millisecond, "1.02s"},
		{123456 * time.Millisecond, "2m3.46s"},
	}
	for _, c := range cases {
		if got := RoundLatency(c.in).String(); got != c.want {
			t.Errorf("RoundLatency(%v) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestHiddenStepsRefuseBadArguments: the steps are reachable from the
// command line, so they check what they are given.
func TestHiddenStepsRefuseBadArguments(t *testing.T) {
	cases := [][]string{
		{stepApt},
		{stepApt, "relative/bin", "1"},
		{stepApt, "/bin/true", "x"},
		{stepConnect},
		{stepConnect, "x"},
	}
	for _, args := range cases {
		var stderr bytes.Buffer
		if code, ok := RunStep(args, io.Discard, &stderr); !ok || code == 0 || stderr.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q; want a refusal", args, code, stderr.String())
		}
	}
}

// TestConnectorRefusesHostNetns: given this process's own namespace as the
// host's, the connector must not connect.
func TestConnectorRefusesHostNetns(t *testing.T) {
	own, err := netnsInode("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := runConnector([]string{fmt.Sprint(own)}, &stdout, &stderr)
	if code != 1 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "refusing") {
		t.Errorf("exit %d, stdout %q, stderr %q; want a refusal and no connect", code, stdout.String(), stderr.String())
	}
}

func TestFindHolder(t *testing.T) {
	root := t.TempDir()
	conf := filepath.Join(root, "aptsentinel.conf")
	if err := os.WriteFile(conf, []byte("output = journald\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	proc := fakeProcs(t, root)
	proc(100, "auditd", "/usr/sbin/auditd", "/sbin/auditd")
	proc(200, "aptsentinel", "/usr/sbin/aptsentinel (deleted)", "/usr/sbin/aptsentinel", "run", "--config", conf)
	proc(300, "aptsentinel", "/tmp/x/aptsentinel", "/tmp/x/aptsentinel", "run", "--output", "stdout", "--config", conf)
	proc(400, "aptsentinel", "/usr/sbin/aptsentinel", "aptsentinel", "run", "--config", filepath.Join(root, "missing"))
	proc(500, "aptsentinel", "/usr/sbin/aptsentinel", "aptsentinel", "selftest")
	proc(600, "aptsentinel", "/usr/sbin/aptsentinel", "aptsentinel", "run")
	// The binary tells the output from run's arguments (cmd/aptsentinel's
	// sensorOutput, tested there); here a stand-in that echoes them.
	sensorOutput := func(args []string) (string, error) {
		if len(args) > 1 && strings.HasSuffix(args[len(args)-1], "missing") {
			return "", errors.New("no config")
		}
		if len(args) > 1 && args[0] == "--output" {
			return args[1], nil
		}
		return "journald", nil
	}

	cases := []struct {
		pid                    uint32
		isSensor               bool
		comm, output, firstArg string
		outputErr              bool
	}{
		{0, false, "", "", "", false},
		{999, false, "", "", "", false}, // stale: no such process
		{100, false, "auditd", "", "", false},
		{200, true, "aptsentinel", "journald", "run", false},
		{300, true, "aptsentinel", "stdout", "run", false},
		{400, true, "aptsentinel", "", "run", true},
		{500, true, "aptsentinel", "", "selftest", false},
		{600, true, "aptsentinel", "journald", "run", false},
	}
	for _, c := range cases {
		h, err := findHolder(root, c.pid, sensorOutput)
		if err != nil {
			t.Fatalf("pid %d: %v", c.pid, err)
		}
		first := ""
		if len(h.args) > 0 {
			first = h.args[0]
		}
		if h.isSensor != c.isSensor || (c.comm != "" && h.comm != c.comm) || h.output != c.output ||
			first != c.firstArg || (h.outputErr != nil) != c.outputErr {
			t.Errorf("pid %d: got %+v", c.pid, h)
		}
		if c.pid == 999 && h.pid != 0 {
			t.Errorf("a dead holder's pid counts as none, got %+v", h)
		}
	}
}

func BenchmarkParseJournalEntry(b *testing.B) {
	line := []byte(`{"__REALTIME_TIMESTAMP":"1764125000123456","SYSLOG_IDENTIFIER":"aptsentinel","MESSAGE":` +
		fmt.Sprintf("%q", testAlertLine(11, 10, 12, "2001:db8::1", 9)) + `}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := parseJournalEntry(line); !ok {
			b.Fatal("refused")
		}
	}
}
