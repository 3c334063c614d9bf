package sensor

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/procfs"
)

// hookShellRecords returns the audit records of `sh -c HOOK` exec'd by pid
// ppid as pid, HOOK being n bytes long, in the kernel's format for long
// arguments (kernel/auditsc.c audit_log_execve_info: aN_len= then aN[k]=
// hex chunks, continued over records).
func hookShellRecords(serial uint64, pid, ppid, n int) string {
	hdr := fmt.Sprintf("msg=audit(1795659700.756:%d): ", serial)
	var b strings.Builder
	fmt.Fprintf(&b, "type=1300 %sarch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=8 items=2 ppid=%d pid=%d auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm=\"sh\" exe=\"/usr/bin/dash\" key=\"aptsentinel\"\n", hdr, ppid, pid)
	arg := hex.EncodeToString([]byte(strings.Repeat("echo x; ", n/8+1)[:n]))
	fmt.Fprintf(&b, "type=1309 %sargc=3 a0=\"sh\" a1=\"-c\" a2_len=%d", hdr, len(arg))
	const chunk = 7500
	for k := 0; len(arg) > 0; k++ {
		c := arg[:min(chunk, len(arg))]
		arg = arg[len(c):]
		if k > 0 {
			fmt.Fprintf(&b, "\ntype=1309 %s", hdr)
		} else {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "a2[%d]=%s", k, c)
	}
	fmt.Fprintf(&b, "\ntype=1307 %scwd=\"/\"\ntype=1320 %s\n", hdr, hdr)
	return b.String()
}

// Issue 9: the stored argv is capped in bytes, and a hook shell with a huge
// command still matches `process.args == "-c"`: the cap keeps the leading
// arguments and cuts the last.
func TestHugeHookArgumentStillMatches(t *testing.T) {
	s := benchSensor(t)
	exec, conn := hookChain(s, testTime, 1002)
	_ = exec
	s.applyProcEvent(procfs.Fork{ParentPID: 1001, ChildPID: 1002, Child: procfs.Stat{PID: 1002, Comm: "apt", StartTime: 102}})
	recs, err := audit.ParseRecordLines([]byte(hookShellRecords(7, 1002, 1001, 1<<20)))
	if err != nil {
		t.Fatal(err)
	}
	var got *audit.Exec
	for _, r := range recs {
		if err := s.asm.Push(r, func(ev audit.Event) { got, _ = ev.(*audit.Exec); s.handleAudit(ev) }); err != nil {
			t.Fatalf("push: %v", err)
		}
	}
	if got == nil {
		t.Fatal("no exec assembled")
	}
	total := 0
	for _, a := range got.Args {
		total += len(a) + 16
	}
	if !got.ArgsTruncated || got.Argc != 3 || len(got.Args) != 3 || got.Args[1] != "-c" || total > audit.DefaultMaxArgBytes {
		t.Fatalf("exec: argc %d, %d args (%d bytes), truncated %v", got.Argc, len(got.Args), total, got.ArgsTruncated)
	}
	if st := s.asm.Stats(); st.ArgsTruncated != 1 || st.ArgcMismatch != 0 {
		t.Errorf("assembler stats %+v, want one truncated and no mismatch", st)
	}
	shell := s.mustGet(t, 1002)
	if !shell.ArgsTruncated || shell.Argc != 3 {
		t.Errorf("shell entity: truncated %v argc %d", shell.ArgsTruncated, shell.Argc)
	}
	s.applyProcEvent(procfs.Fork{ParentPID: 1002, ChildPID: 1003, Child: procfs.Stat{PID: 1003, Comm: "sh", StartTime: 103}})
	conn.Time = got.Time.Add(100 * 1e6)
	s.handleAudit(conn)
	if s.counts.Alerts != 1 {
		t.Errorf("%d alerts, want 1 for the hook shell with a 1 MiB command", s.counts.Alerts)
	}
}
