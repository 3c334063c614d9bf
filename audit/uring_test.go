package audit

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
)

// TestAssembleURingConnect: the records a 6.18 kernel wrote for an inline
// IORING_OP_CONNECT (captured with TestURingConnectRealKernel's helper)
// make one Connect of the submitting process, outcome unknown.
func TestAssembleURingConnect(t *testing.T) {
	for file, dest := range map[string]string{
		"uring-connect-loopback.txt":    "127.0.0.1:45701",
		"uring-connect-enetunreach.txt": "1.1.1.1:53",
	} {
		events, errs, a := assembleAll(t, loadRecords(t, file))
		if len(errs) != 0 || len(events) != 1 {
			t.Fatalf("%s: %d events, errors %v", file, len(events), errs)
		}
		c, ok := events[0].(*Connect)
		if !ok || c.Dest != netip.MustParseAddrPort(dest) || !c.ResultUnknown || c.Success || c.Errno != 0 ||
			c.Subject.Comm != "audit.test" || c.Subject.PPID != 9907 {
			t.Errorf("%s: got %s, want a Connect to %s with an unknown result", file, describe(events[0]), dest)
		}
		if st := a.Stats(); st.Connects != 1 {
			t.Errorf("%s: stats %+v", file, st)
		}
	}
	// The SQPOLL thread's event: URINGOP and SOCKADDR, no SYSCALL. The
	// process is URINGOP's pid (the tgid) and ppid, without comm.
	events, errs, a := assembleAll(t, loadRecords(t, "uring-connect-sqpoll.txt"))
	if len(errs) != 0 || len(events) != 1 {
		t.Fatalf("sqpoll: %d events, errors %v", len(events), errs)
	}
	if c, ok := events[0].(*Connect); !ok || c.Dest != netip.MustParseAddrPort("127.0.0.1:42101") || !c.ResultUnknown ||
		c.Subject.PID != 28629 || c.Subject.PPID != 3224 || c.Subject.Comm != "" || c.Subject.AUID != unsetID {
		t.Errorf("sqpoll: got %s", describe(events[0]))
	}
	if st := a.Stats(); st.Connects != 1 || st.NoSyscall != 0 {
		t.Errorf("sqpoll: stats %+v", st)
	}
	// An io-wq worker's events: URINGOP alone, no address, no Connect.
	if events, _, _ := assembleAll(t, loadRecords(t, "uring-connect-async.txt")); len(events) != 0 {
		t.Errorf("io-wq: %s", describeAll(events))
	}
	// io_uring_enter without a URINGOP record of IORING_OP_CONNECT (a read,
	// a timeout) is no Connect, with or without a SOCKADDR.
	recs := loadRecords(t, "uring-connect-enetunreach.txt")
	events, _, _ = assembleAll(t, recs[1:])
	if len(events) != 0 {
		t.Errorf("io_uring_enter without URINGOP: %s", describeAll(events))
	}
	other := Record{Type: TypeURingOp, Data: bytes.Replace(recs[0].Data, []byte("uring_op=16 "), []byte("uring_op=22 "), 1)}
	events, _, _ = assembleAll(t, append([]Record{other}, recs[1:]...))
	if len(events) != 0 {
		t.Errorf("io_uring_enter with URINGOP 22 (read): %s", describeAll(events))
	}
}

func TestBuildURingRule(t *testing.T) {
	w, err := BuildRule(RuleSpec{Text: "-a always,io_uring -U connect -k aptsentinel"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseKernelRule(w)
	if err != nil {
		t.Fatal(err)
	}
	if r.Flags != filterURingExit || r.Action != auditAlways || !r.HasSyscall(uringOpConnect) || r.Key() != "aptsentinel" || len(r.Fields) != 1 {
		t.Errorf("rule %+v", r)
	}
	for i := range r.Mask {
		if want := uint32(0); i == 0 {
			want = 1 << uringOpConnect
			if r.Mask[i] != want {
				t.Errorf("mask[0] %#x, want %#x", r.Mask[i], want)
			}
		} else if r.Mask[i] != 0 {
			t.Errorf("mask[%d] %#x, want 0", i, r.Mask[i])
		}
	}
	for _, bad := range []string{
		"-a always,io_uring -U connect",
		"-a always,io_uring -U accept -k k",
		"-a always,io_uring -U connect -k bad\"key",
		"-a always,io_uring -U connect -F pid=1 -k k",
	} {
		if _, err := BuildRule(RuleSpec{Text: bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestURingConnectRealKernel: IORING_OP_CONNECT from a real io_uring
// (loopback, and a public address offline inside unshare -n) is a Connect
// event of the submitting process, through the sensor's io_uring rule.
func TestURingConnectRealKernel(t *testing.T) {
	requireAudit(t)
	restoreKernel(t)
	addr := acceptLoopback(t)
	s, logs := openTestSession(t, nil)
	if strings.Contains(logs.String(), "io_uring") {
		// The one way the rule is missing: a kernel older than 5.16.
		t.Fatalf("the kernel refused the io_uring rule:\n%s", logs)
	}
	w := watchConnects(t, s)
	asyncPID := 0
	for _, tc := range []struct {
		mode, addr string
		prefix     []string
	}{
		{"uring-async", addr, nil}, // an io-wq worker: no address in audit, no event
		{"uring", addr, nil},
		{"uring", "1.1.1.1:53", []string{"unshare", "-n"}},
		{"uring-sqpoll", addr, nil},
	} {
		pid := connectChild(t, tc.mode, tc.addr, tc.prefix...)
		if tc.mode == "uring-async" {
			asyncPID = pid
			continue
		}
		got := w.wait(t, tc.mode, pid, tc.addr)
		if !got.ResultUnknown || (got.Subject.Comm == "") != (tc.mode == "uring-sqpoll") {
			t.Errorf("io_uring connect event (%s) %+v", tc.mode, got)
		}
	}
	for _, c := range w.all() {
		if c.Subject.PID == asyncPID {
			t.Errorf("an io-wq connect became an event, with an address audit does not have: %+v", c)
		}
	}
	w.close(t)
}
