package alert

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/journal"
	"github.com/aptsentinel/aptsentinel/internal/journaltest"
)

// journalFields builds the alert's entry and parses it back, as journald
// would; a field sent twice would show as two values, so it fails here.
func journalFields(t testing.TB, a *Alert) map[string]string {
	t.Helper()
	line, err := a.MarshalLine()
	if err != nil {
		t.Fatal(err)
	}
	var e journal.Entry
	AppendJournalFields(&e, a, line)
	b, err := e.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	fields, err := journal.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range fields {
		if _, dup := out[f.Name]; dup {
			t.Errorf("field %s sent twice", f.Name)
		}
		out[f.Name] = f.Value
	}
	return out
}

func TestJournalFields(t *testing.T) {
	a := New(testMatch(), Host{ID: "h1", Name: "vm"}, time.Now())
	got := journalFields(t, &a)
	line, _ := a.MarshalLine()
	want := map[string]string{
		"MESSAGE":                          string(line),
		"MESSAGE_ID":                       "eaef8a3512e04ac0bc1481c72b6bd27c",
		"PRIORITY":                         "4",
		"SYSLOG_IDENTIFIER":                "aptsentinel",
		"APTSENTINEL_KIND":                 "alert",
		"APTSENTINEL_RULE_ID":              "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c",
		"APTSENTINEL_RULE_VERSION":         "10",
		"APTSENTINEL_SEVERITY":             "medium",
		"APTSENTINEL_RISK_SCORE":           "47",
		"APTSENTINEL_HOST_ID":              "h1",
		"APTSENTINEL_PROCESS_PID":          "3119",
		"APTSENTINEL_PROCESS_ENTITY_ID":    "shell-id",
		"APTSENTINEL_PROCESS_NAME":         "sh",
		"APTSENTINEL_PROCESS_EXECUTABLE":   "/usr/bin/dash",
		"APTSENTINEL_PROCESS_COMMAND_LINE": `sh -c bash -c "exec 3<>/dev/tcp/1.1.1.1/80"; true`,
		"APTSENTINEL_PROCESS_PARENT_PID":   "3118",
		"APTSENTINEL_PROCESS_PARENT_NAME":  "apt",
		"APTSENTINEL_CHILD_PID":            "3120",
		"APTSENTINEL_CHILD_EXECUTABLE":     "/usr/bin/bash",
		"APTSENTINEL_DESTINATION_IP":       "1.1.1.1",
		"APTSENTINEL_DESTINATION_PORT":     "80",
		"APTSENTINEL_NETWORK_TYPE":         "ipv4",
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %q, want %q", name, got[name], v)
		}
	}
}

func TestJournalPriorityFromSeverity(t *testing.T) {
	for sev, want := range map[string]string{"low": "5", "medium": "4", "high": "3", "critical": "2", "bogus": "4", "": "4"} {
		a := New(testMatch(), Host{ID: "h1"}, time.Now())
		a.Rule.Severity = sev
		if got := journalFields(t, &a)["PRIORITY"]; got != want {
			t.Errorf("severity %q: PRIORITY %s, want %s", sev, got, want)
		}
	}
}

func TestJournalHostileStrings(t *testing.T) {
	m := testMatch()
	evil := "x\nMESSAGE_ID=00000000000000000000000000000000\nPRIORITY=0\n_PID=1\x00\xff"
	m.Events[0].Process.Args = append(m.Events[0].Process.Args, evil)
	m.Events[0].Process.Name = "sh\nPRIORITY=0"
	m.Events[1].Process.Executable = "/tmp/\xff\nAPTSENTINEL_KIND=log"
	a := New(m, Host{ID: "h1"}, time.Now())
	got := journalFields(t, &a)
	if got["PRIORITY"] != "4" || got["MESSAGE_ID"] != "eaef8a3512e04ac0bc1481c72b6bd27c" || got["APTSENTINEL_KIND"] != "alert" {
		t.Errorf("fields forged: PRIORITY %q MESSAGE_ID %q KIND %q", got["PRIORITY"], got["MESSAGE_ID"], got["APTSENTINEL_KIND"])
	}
	if _, ok := got["_PID"]; ok {
		t.Error("a trusted field was forged")
	}
	if !strings.HasSuffix(got["APTSENTINEL_PROCESS_COMMAND_LINE"], " "+evil) {
		t.Errorf("command line not kept byte for byte: %q", got["APTSENTINEL_PROCESS_COMMAND_LINE"])
	}
	if got["APTSENTINEL_PROCESS_NAME"] != "sh\nPRIORITY=0" || got["APTSENTINEL_CHILD_EXECUTABLE"] != m.Events[1].Process.Executable {
		t.Errorf("name/executable not kept: %q %q", got["APTSENTINEL_PROCESS_NAME"], got["APTSENTINEL_CHILD_EXECUTABLE"])
	}
}

func TestMessageID(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"eaef8a35-12e0-4ac0-bc14-81c72b6bd27c", "eaef8a3512e04ac0bc1481c72b6bd27c", true},
		{"EAEF8A35-12E0-4AC0-BC14-81C72B6BD27C", "eaef8a3512e04ac0bc1481c72b6bd27c", true},
		{"eaef8a35-12e0-4ac0-bc14-81c72b6bd27", "", false},
		{"zaef8a35-12e0-4ac0-bc14-81c72b6bd27c", "", false},
		{"+aef8a35-12e0-4ac0-bc14-81c72b6bd27c", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := MessageID(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("MessageID(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestJournalWriterReal writes a hostile alert through the spool to a real
// journald and reads it back with journalctl -o json.
func TestJournalWriterReal(t *testing.T) {
	j := journaltest.Start(t)
	c, err := journal.Dial(j.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sp := journal.NewSpool(c, journal.SpoolConfig{Name: "alerts"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sp.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	m := testMatch()
	mark := journaltest.Unique(t)
	evil := "x\nMESSAGE_ID=00000000000000000000000000000000\nPRIORITY=0\n\xff"
	m.Events[0].Process.Args = append(m.Events[0].Process.Args, evil)
	m.Events[0].Process.EntityID = mark // to find this test's alert
	a := New(m, Host{ID: "h1"}, time.Now())
	line, _ := a.MarshalLine()
	if err := NewJournalWriter(sp).WriteAlert(&a, line); err != nil {
		t.Fatal(err)
	}
	got := j.WaitFor(t, 1, 5*time.Second, "APTSENTINEL_PROCESS_ENTITY_ID="+mark)
	if len(got) != 1 {
		t.Fatalf("found %d entries, want 1", len(got))
	}
	for name, want := range map[string]string{
		"MESSAGE": string(line), "MESSAGE_ID": "eaef8a3512e04ac0bc1481c72b6bd27c", "PRIORITY": "4",
		"SYSLOG_IDENTIFIER": "aptsentinel", "APTSENTINEL_KIND": "alert", "APTSENTINEL_DESTINATION_PORT": "80",
		"APTSENTINEL_PROCESS_COMMAND_LINE": a.Process.CommandLine,
	} {
		if v := journaltest.Field(got[0], name); v != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
}

func BenchmarkJournalEntry(b *testing.B) {
	a := New(testMatch(), Host{ID: "h1", Name: "vm"}, time.Now())
	line, _ := a.MarshalLine()
	var e journal.Entry
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		e.Reset()
		AppendJournalFields(&e, &a, line)
		if _, err := e.Bytes(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestJournalWriterSurvivesRestart stops a private journald (by the PID the
// test started), raises alerts while it is gone, starts it again and finds
// every alert.
func TestJournalWriterSurvivesRestart(t *testing.T) {
	j := journaltest.StartPrivate(t)
	c, err := journal.Dial(j.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sp := journal.NewSpool(c, journal.SpoolConfig{Name: "alerts", RetryMax: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sp.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	w := NewJournalWriter(sp)

	j.Stop(t)
	const n = 20
	for i := 0; i < n; i++ {
		m := testMatch()
		m.Events[1].Destination = netipPort(uint16(5000 + i))
		a := New(m, Host{ID: "h1"}, time.Now())
		line, _ := a.MarshalLine()
		if err := w.WriteAlert(&a, line); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if st := sp.Stats(); st.Delivered != 0 || st.Queued != n {
		t.Fatalf("journald is stopped: spool %+v, want %d queued", st, n)
	}
	j.Restart(t)
	got := j.WaitFor(t, n, 10*time.Second, "MESSAGE_ID=eaef8a3512e04ac0bc1481c72b6bd27c")
	if len(got) != n {
		t.Fatalf("found %d alerts after the restart, want %d; spool %+v", len(got), n, sp.Stats())
	}
	for i, e := range got {
		if p := journaltest.Field(e, "APTSENTINEL_DESTINATION_PORT"); p != strconv.Itoa(5000+i) {
			t.Errorf("alert %d has port %s: lost or out of order", i, p)
		}
	}
}

func netipPort(port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("1.1.1.1"), port)
}
