package journal

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/journaltest"
)

// These tests write to a real journald and read back with journalctl -o json.

func dialT(t *testing.T, j *journaltest.Journald) *Client {
	t.Helper()
	c, err := Dial(j.Socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRealEntryFields(t *testing.T) {
	j := journaltest.Start(t)
	c := dialT(t, j)
	mark := journaltest.Unique(t)
	var e Entry
	e.Add("MESSAGE", "hello from the test")
	e.Add("PRIORITY", PriNotice.String())
	e.Add("SYSLOG_IDENTIFIER", "aptsentinel-test")
	e.Add("APTSENTINEL_TEST_MARK", mark)
	if err := c.Send(&e); err != nil {
		t.Fatal(err)
	}
	got := j.WaitFor(t, 1, 5*time.Second, "APTSENTINEL_TEST_MARK="+mark)
	if len(got) != 1 {
		t.Fatalf("found %d entries, want 1", len(got))
	}
	for name, want := range map[string]string{
		"MESSAGE": "hello from the test", "PRIORITY": "5", "SYSLOG_IDENTIFIER": "aptsentinel-test",
		"_TRANSPORT": "journal", "_PID": strconv.Itoa(os.Getpid()),
	} {
		if v := journaltest.Field(got[0], name); v != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
	if st := c.Stats(); st.Datagrams != 1 || st.Memfds+st.TmpFiles != 0 {
		t.Errorf("stats %+v: want one datagram", st)
	}
}

// TestRealForgery sends attacker-shaped values (as argv, paths and comm can
// be) and checks journald stored each as one field, byte for byte, with
// nothing forged.
func TestRealForgery(t *testing.T) {
	j := journaltest.Start(t)
	c := dialT(t, j)
	mark := journaltest.Unique(t)
	values := map[string]string{
		"APTSENTINEL_ARG_PRIORITY":   "x\nPRIORITY=0",
		"APTSENTINEL_ARG_MESSAGE_ID": "y\nMESSAGE_ID=00000000000000000000000000000000\nSYSLOG_IDENTIFIER=sshd",
		"APTSENTINEL_ARG_TRUSTED":    "z\n_PID=1\n_UID=0",
		"APTSENTINEL_ARG_BINARY":     "bin\x00\xff\xfe\x1b[31mred",
		"APTSENTINEL_ARG_CR":         "a\rb",
		"APTSENTINEL_ARG_LENGTH":     "\n\x08\x00\x00\x00\x00\x00\x00\x00PRIORITY",
	}
	var e Entry
	e.Add("MESSAGE", "forgery test\nPRIORITY=0")
	e.Add("PRIORITY", "4")
	e.Add("MESSAGE_ID", "eaef8a3512e04ac0bc1481c72b6bd27c")
	e.Add("APTSENTINEL_TEST_MARK", mark)
	for name, v := range values {
		e.Add(name, v)
	}
	if err := c.Send(&e); err != nil {
		t.Fatal(err)
	}
	got := j.WaitFor(t, 1, 5*time.Second, "APTSENTINEL_TEST_MARK="+mark)
	if len(got) != 1 {
		t.Fatalf("found %d entries, want exactly 1", len(got))
	}
	g := got[0]
	for name, v := range values {
		if gv := journaltest.Field(g, name); gv != v {
			t.Errorf("%s = %q, want %q", name, gv, v)
		}
	}
	checks := map[string]string{
		"PRIORITY":          "4",
		"MESSAGE_ID":        "eaef8a3512e04ac0bc1481c72b6bd27c",
		"MESSAGE":           "forgery test\nPRIORITY=0",
		"_PID":              strconv.Itoa(os.Getpid()),
		"SYSLOG_IDENTIFIER": "",
	}
	for name, want := range checks {
		if gv := journaltest.Field(g, name); gv != want {
			t.Errorf("%s = %q, want %q (forged?)", name, gv, want)
		}
	}
	if forged := j.Query(t, "MESSAGE_ID=00000000000000000000000000000000", "_PID="+strconv.Itoa(os.Getpid())); len(forged) != 0 {
		t.Errorf("a forged MESSAGE_ID reached the journal: %v", forged)
	}
}

// TestRealLargeEntry sends entries too large for a datagram, through a
// sealed memfd and through the /dev/shm file used on kernels without
// memfd_create, and finds them whole in the journal.
func TestRealLargeEntry(t *testing.T) {
	j := journaltest.Start(t)
	for _, tt := range []struct {
		name    string
		noMemfd bool
	}{{"memfd", false}, {"dev-shm file", true}} {
		t.Run(tt.name, func(t *testing.T) {
			c := dialT(t, j)
			c.noMemfd.Store(tt.noMemfd)
			mark := journaltest.Unique(t)
			// 1 MiB: over the default socket send buffer (net.core.wmem_default,
			// 208 KiB), so the datagram fails with EMSGSIZE.
			big := strings.Repeat("0123456789abcdef", 1<<16)
			var e Entry
			e.Add("MESSAGE", big)
			e.Add("APTSENTINEL_TEST_MARK", mark)
			if err := c.Send(&e); err != nil {
				t.Fatal(err)
			}
			st := c.Stats()
			if tt.noMemfd && st.TmpFiles != 1 || !tt.noMemfd && st.Memfds != 1 || st.Datagrams != 0 {
				t.Fatalf("stats %+v: the entry did not take the %s path", st, tt.name)
			}
			got := j.WaitFor(t, 1, 5*time.Second, "APTSENTINEL_TEST_MARK="+mark)
			if len(got) != 1 {
				t.Fatalf("found %d entries, want 1", len(got))
			}
			if m := journaltest.Field(got[0], "MESSAGE"); m != big {
				t.Errorf("MESSAGE has %d bytes, want %d", len(m), len(big))
			}
			left, _ := filepath.Glob("/dev/shm/aptsentinel-journal-*")
			if len(left) > 0 {
				t.Errorf("entry files left in /dev/shm: %v", left)
			}
		})
	}
}

// TestRealRestart stops journald (a private one, by its PID), writes
// entries while it is gone, starts it again and finds every entry, in order.
func TestRealRestart(t *testing.T) {
	j := journaltest.StartPrivate(t)
	c := dialT(t, j)
	sp := NewSpool(c, SpoolConfig{Name: "test", RetryMax: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sp.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	mark := journaltest.Unique(t)
	send := func(i int) {
		var e Entry
		e.Add("MESSAGE", "entry "+strconv.Itoa(i))
		e.Add("APTSENTINEL_TEST_MARK", mark)
		e.AddInt("APTSENTINEL_SEQ", int64(i))
		b, err := e.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		sp.Enqueue(b)
	}
	send(0)
	if got := j.WaitFor(t, 1, 5*time.Second, "APTSENTINEL_TEST_MARK="+mark); len(got) != 1 {
		t.Fatalf("before the stop: found %d entries, want 1", len(got))
	}
	j.Stop(t)
	const n = 50
	for i := 1; i <= n; i++ {
		send(i)
	}
	time.Sleep(300 * time.Millisecond)
	st := sp.Stats()
	if st.Failures == 0 || st.Queued == 0 {
		t.Fatalf("journald is stopped but the spool saw no failure: %+v", st)
	}
	j.Restart(t)
	got := j.WaitFor(t, n+1, 10*time.Second, "APTSENTINEL_TEST_MARK="+mark)
	if len(got) != n+1 {
		t.Fatalf("after the restart: found %d entries, want %d; spool %+v", len(got), n+1, sp.Stats())
	}
	for i, e := range got {
		if s := journaltest.Field(e, "APTSENTINEL_SEQ"); s != strconv.Itoa(i) {
			t.Errorf("entry %d has APTSENTINEL_SEQ %s: out of order", i, s)
		}
	}
	if st := sp.Stats(); st.Dropped != 0 || st.Queued != 0 || st.Delivered != n+1 {
		t.Errorf("spool stats %+v: want %d delivered, none dropped or queued", st, n+1)
	}
}
