package audit

import (
	"github.com/aptsentinel/aptsentinel/internal/audittest"
	"github.com/aptsentinel/aptsentinel/internal/conntest"
	"github.com/aptsentinel/aptsentinel/internal/proctest"
	"github.com/aptsentinel/aptsentinel/internal/testenv"

	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Tests in this file use the real kernel audit subsystem. They need root,
// must run one at a time (go test -p 1) and put back what they change.

const testKey = "aptsentinel_test"

// requireAudit skips the test unless it runs as root with kernel audit.
func requireAudit(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t)
	_, err := GetStatus()
	requireAuditSocket(t, err)
}

// requireAuditSocket ends the test when err, from opening or asking the
// audit netlink socket, is not nil: a kernel without CONFIG_AUDIT has no
// NETLINK_AUDIT protocol (EPROTONOSUPPORT), anything else is a machine
// that should work and does not.
func requireAuditSocket(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, syscall.EPROTONOSUPPORT) {
		testenv.SkipKernelFeature(tb, "kernel audit (CONFIG_AUDIT)", "socket(AF_NETLINK, NETLINK_AUDIT)", err)
	}
	testenv.Require(tb, "the kernel audit subsystem (root, audit not locked)", err)
}

// restoreKernel records the audit state now and puts it back when the test
// ends, also when it fails: rules with testKey deleted, our audit PID
// released, enabled flag and backlog settings as before.
func restoreKernel(t *testing.T) Status {
	t.Helper()
	before, err := GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := DeleteRulesByKey(testKey); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		c, err := dialClient()
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer c.close()
		now, err := c.status()
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		if now.PID == uint32(os.Getpid()) {
			if err := c.set(Status{Mask: statusPID}, "pid 0"); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		if now.Enabled != before.Enabled && now.Enabled != enabledLocked {
			if err := c.set(Status{Mask: statusEnabled, Enabled: before.Enabled}, "enabled"); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		if now.BacklogLimit != before.BacklogLimit {
			if err := c.set(Status{Mask: statusBacklogLimit, BacklogLimit: before.BacklogLimit}, "backlog"); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		if before.HasBacklogWaitTime() && now.BacklogWaitTime != before.BacklogWaitTime {
			if err := c.set(Status{Mask: statusBacklogWaitTime, BacklogWaitTime: before.BacklogWaitTime}, "wait"); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return before
}

func openTestSession(t *testing.T, f *Features) (*Session, *proctest.Buffer) {
	t.Helper()
	return openTestSessionConfig(t, Config{Features: f})
}

// openTestSessionConfig opens a session with cfg, its key and logger set
// by the test.
func openTestSessionConfig(t *testing.T, cfg Config) (*Session, *proctest.Buffer) {
	t.Helper()
	logs := &proctest.Buffer{}
	cfg.Key, cfg.Logger = testKey, slog.New(slog.NewTextHandler(logs, nil))
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, logs
}

// rulesWithKey lists the kernel's rules that carry key.
func rulesWithKey(t *testing.T, key string) []KernelRule {
	t.Helper()
	all, err := ListRules()
	if err != nil {
		t.Fatal(err)
	}
	var out []KernelRule
	for _, r := range all {
		if r.Key() == key {
			out = append(out, r)
		}
	}
	return out
}

// Arch values (include/uapi/linux/audit.h AUDIT_ARCH_*) and the field ids
// the tests look at.
const (
	archX86_64 = 0xc000003e
	archI386   = 0x40000003
	fieldArch  = 11 // AUDIT_ARCH
	fieldPID   = 0  // AUDIT_PID
	fieldArg0  = 200
)

type wantRule struct {
	arch     uint32 // 0: no arch field
	syscalls []int
	action   uint32
	dir      string // the AUDIT_WATCH path of a watch, "" for none
}

func checkRules(t *testing.T, got []KernelRule, want []wantRule) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d rules with key %q, want %d", len(got), testKey, len(want))
	}
	for i, w := range want {
		r := got[i]
		if r.Action != w.action {
			t.Errorf("rule %d: action %d, want %d", i, r.Action, w.action)
		}
		arch, ok := r.Field(fieldArch)
		if w.arch != 0 && (!ok || arch.Value != w.arch) {
			t.Errorf("rule %d: arch %#x, want %#x", i, arch.Value, w.arch)
		}
		if d, ok := r.Field(fieldWatch); w.dir != "" && (!ok || d.Str != w.dir) {
			t.Errorf("rule %d: dir %+v, want %q", i, d, w.dir)
		}
		for _, nr := range w.syscalls {
			if !r.HasSyscall(nr) {
				t.Errorf("rule %d: syscall %d missing", i, nr)
			}
		}
	}
}

func TestSessionInstallsRulesAndRestores(t *testing.T) {
	requireAudit(t)
	before := restoreKernel(t)

	// A foreign rule that must survive our Close.
	const foreignKey = "aptsentinel_foreign_test"
	addOtherRule(t, "-a always,exit -F arch=b64 -S getpid", foreignKey)

	s, logs := openTestSession(t, nil)
	if f, _ := DetectFeatures(); f.Compat32 && !strings.Contains(logs.String(), `msg="32-bit audit rules installed" why="the kernel accepted all 5`) {
		t.Errorf("no log line says the kernel took the b32 rules:\n%s", logs)
	}
	st, err := s.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.PID != uint32(os.Getpid()) || st.Enabled != enabledOn || st.BacklogLimit < DefaultBacklogLimit {
		t.Errorf("status after Open: pid %d enabled %d backlog %d; want pid %d enabled 1 backlog >= %d",
			st.PID, st.Enabled, st.BacklogLimit, os.Getpid(), DefaultBacklogLimit)
	}
	if want := backlogWaitJiffies(0); st.HasBacklogWaitTime() && st.BacklogWaitTime != want {
		t.Errorf("backlog_wait_time %d after Open, want %d (DefaultBacklogWait)", st.BacklogWaitTime, want)
	}

	all, err := ListRules()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 || all[0].Key() != testKey || all[0].Action != 0 {
		t.Fatalf("first rule in the kernel is not our never rule: %+v", all[0].Fields)
	}
	if pid, ok := all[0].Field(fieldPID); !ok || pid.Value != uint32(os.Getpid()) {
		t.Errorf("never rule pid field %+v, want %d", pid, os.Getpid())
	}
	f, _ := DetectFeatures()
	want := []wantRule{
		{action: 0},
		{arch: archX86_64, syscalls: []int{59, 322}, action: 2},
		{arch: archX86_64, syscalls: []int{42}, action: 2},
		{arch: archX86_64, syscalls: []int{44, 307}, action: 2},
		{arch: archX86_64, syscalls: []int{46}, action: 2},
		{action: 2, dir: WatchedDir}, // the watch on apt's configuration directory
	}
	if f.Compat32 {
		want = append(want,
			wantRule{arch: archI386, syscalls: []int{11, 358}, action: 2},
			wantRule{arch: archI386, syscalls: []int{362}, action: 2},
			wantRule{arch: archI386, syscalls: []int{369, 345}, action: 2},
			wantRule{arch: archI386, syscalls: []int{370}, action: 2},
			wantRule{arch: archI386, syscalls: []int{102}, action: 2},
		)
	}
	// The kernel lists rules list by list: io_uring's (7) after exit's (4).
	want = append(want, wantRule{syscalls: []int{16}, action: 2}) // IORING_OP_CONNECT
	got := rulesWithKey(t, testKey)
	checkRules(t, got, want)
	// TCP Fast Open sends only: the flags argument masked with MSG_FASTOPEN.
	for i, arg := range map[int]uint32{3: 203, 4: 202} { // AUDIT_ARG3, AUDIT_ARG2
		if fl, ok := got[i].Field(arg); !ok || fl.Op != 0x08000000 || fl.Value != MsgFastOpen {
			t.Errorf("rule %d: flags filter %+v, want a%d&0x20000000 (AUDIT_BIT_MASK)", i, fl, arg-200)
		}
	}
	if f.Compat32 {
		a0, ok := got[len(got)-2].Field(fieldArg0)
		if last := got[len(got)-1]; last.Flags != filterURingExit {
			t.Errorf("last rule on list %#x, want the io_uring list %#x", last.Flags, filterURingExit)
		}
		if !ok || a0.Value != 3 {
			t.Errorf("socketcall rule a0 filter %+v, want a0=3", a0)
		}
	}

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err2 := s.Close(); err2 != nil {
		t.Errorf("second Close: %v", err2)
	}
	if n := len(rulesWithKey(t, testKey)); n != 0 {
		t.Errorf("%d rules with our key after Close", n)
	}
	if n := len(rulesWithKey(t, foreignKey)); n != 1 {
		t.Errorf("foreign rule count %d after Close, want 1", n)
	}
	after, err := GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	if after.PID == uint32(os.Getpid()) {
		t.Error("audit PID still ours after Close")
	}
	if after.Enabled != before.Enabled || after.BacklogLimit != before.BacklogLimit ||
		after.BacklogWaitTime != before.BacklogWaitTime {
		t.Errorf("after Close: enabled %d backlog %d wait %d; before: %d %d %d",
			after.Enabled, after.BacklogLimit, after.BacklogWaitTime,
			before.Enabled, before.BacklogLimit, before.BacklogWaitTime)
	}
}

func TestSessionOldKernelSkipsRules(t *testing.T) {
	requireAudit(t)
	restoreKernel(t)
	old := &Features{} // 3.16 without IA32 emulation: no execveat, no b32
	s, logs := openTestSession(t, old)
	got := rulesWithKey(t, testKey)
	checkRules(t, got, []wantRule{
		{action: 0},
		{arch: archX86_64, syscalls: []int{59}, action: 2},
		{arch: archX86_64, syscalls: []int{42}, action: 2},
		{arch: archX86_64, syscalls: []int{44, 307}, action: 2},
		{arch: archX86_64, syscalls: []int{46}, action: 2},
		{action: 2, dir: WatchedDir},
		{syscalls: []int{16}, action: 2},
	})
	if got[1].HasSyscall(322) {
		t.Error("execveat installed although the features say the kernel lacks it")
	}
	if n := strings.Count(logs.String(), "audit rule skipped"); n != 2 {
		t.Errorf("%d skip log lines, want 2 (execveat, b32):\n%s", n, logs)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// IA32 emulation but a 4.2 kernel: b32 via socketcall only.
	restoreKernel(t)
	s, logs = openTestSession(t, &Features{Execveat: true, Compat32: true})
	got = rulesWithKey(t, testKey)
	checkRules(t, got, []wantRule{
		{action: 0},
		{arch: archX86_64, syscalls: []int{59, 322}, action: 2},
		{arch: archX86_64, syscalls: []int{42}, action: 2},
		{arch: archX86_64, syscalls: []int{44, 307}, action: 2},
		{arch: archX86_64, syscalls: []int{46}, action: 2},
		{action: 2, dir: WatchedDir},
		{arch: archI386, syscalls: []int{11, 358}, action: 2},
		{arch: archI386, syscalls: []int{102}, action: 2},
		{syscalls: []int{16}, action: 2},
	})
	if n := strings.Count(logs.String(), "audit rule skipped"); n != 1 {
		t.Errorf("%d skip log lines, want 1 (b32 connect):\n%s", n, logs)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// collector keeps copies of records from Run.
type collector struct {
	mu      sync.Mutex
	records []Record
}

func (c *collector) add(r Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.records = append(c.records, Record{Type: r.Type, Data: bytes.Clone(r.Data)})
}

// waitFor polls until match is true for some record, for 5 s at most.
func (c *collector) waitFor(t *testing.T, what string, match func(Record) bool) Record {
	t.Helper()
	r, ok := c.find(5*time.Second, match)
	if !ok {
		t.Fatalf("no record: %s", what)
	}
	return r
}

// seen reports whether match is true for some record within wait.
func (c *collector) seen(wait time.Duration, match func(Record) bool) bool {
	_, ok := c.find(wait, match)
	return ok
}

func (c *collector) find(wait time.Duration, match func(Record) bool) (Record, bool) {
	deadline := time.Now().Add(wait)
	for {
		c.mu.Lock()
		for _, r := range c.records {
			if match(r) {
				c.mu.Unlock()
				return r, true
			}
		}
		c.mu.Unlock()
		if time.Now().After(deadline) {
			return Record{}, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSessionDeliversRecords(t *testing.T) {
	requireAudit(t)
	restoreKernel(t)
	s, _ := openTestSession(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	col := &collector{}
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(ctx, col.add) }()

	marker := fmt.Sprintf("aptsentinel-marker-%d", time.Now().UnixNano())
	if err := exec.Command("/bin/true", marker).Run(); err != nil {
		t.Fatal(err)
	}
	execve := col.waitFor(t, "EXECVE with the marker", func(r Record) bool {
		return r.Type == TypeExecve && bytes.Contains(r.Data, []byte(marker))
	})
	// The SYSCALL record of the same event carries the same audit(...) stamp.
	stamp, _, _ := bytes.Cut(execve.Data, []byte(" "))
	col.waitFor(t, "SYSCALL 59 of the exec", func(r Record) bool {
		return r.Type == TypeSyscall && bytes.HasPrefix(r.Data, stamp) && bytes.Contains(r.Data, []byte(" syscall=59 "))
	})

	// A connect in a fresh network namespace fails with ENETUNREACH and
	// sends nothing, but is audited.
	cmd := exec.Command("unshare", "-n", "bash", "-c", "exec 3<>/dev/tcp/8.8.8.8/53")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("connect inside unshare -n succeeded: %s", out)
	}
	// sockaddr: family 2 (AF_INET), port 53, 8.8.8.8.
	col.waitFor(t, "SOCKADDR of 8.8.8.8:53", func(r Record) bool {
		return r.Type == TypeSockaddr && bytes.Contains(r.Data, []byte("saddr=0200003508080808"))
	})

	cancel()
	select {
	case err := <-runErr:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop after cancel")
	}
	if st := s.Stats(); st.Messages == 0 || st.Bytes == 0 {
		t.Errorf("stats %+v count nothing", st)
	}
	if _, err := s.Lost(); err != nil {
		t.Errorf("Lost: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCloseStopsRun(t *testing.T) {
	requireAudit(t)
	restoreKernel(t)
	s, _ := openTestSession(t, nil)
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(context.Background(), func(Record) {}) }()
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-runErr:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Run after Close: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop after Close")
	}
	if err := s.Run(context.Background(), func(Record) {}); !errors.Is(err, ErrClosed) {
		t.Errorf("Run on a closed session: %v, want ErrClosed", err)
	}
}

// helperEnv makes the test binary, run as a child, act as a helper instead
// of running tests (see TestMain).
const helperEnv = "APTSENTINEL_AUDIT_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "holder":
		// Become the audit PID, say so, and hold it until killed.
		s, err := openStream(1<<16, 0)
		if err == nil {
			err = s.becomePID(uint32(os.Getpid()))
		}
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	case "connect":
		// One connection without connect(2): the tests of fastopen_test.go
		// and uring_test.go.
		mode, addr, _ := strings.Cut(os.Getenv("APTSENTINEL_CONNECT"), " ")
		err := conntest.Connect(mode, netip.MustParseAddrPort(addr))
		fmt.Printf("%s %s: %v\n", mode, addr, err)
		os.Exit(0)
	case "open":
		_, err := Open(Config{Key: testKey, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		fmt.Println(err)
		if errors.Is(err, ErrPermission) {
			os.Exit(3)
		}
		os.Exit(1)
	}
	audittest.Main(m.Run)
}

func TestOpenFailsWhileAnotherProcessHoldsPID(t *testing.T) {
	requireAudit(t)
	restoreKernel(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(self)
	child.Env = append(os.Environ(), helperEnv+"=holder")
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	kill := func() {
		if !killed {
			killed = true
			stdin.Close()
			child.Process.Kill() // by PID: the child we started
			child.Wait()
		}
	}
	t.Cleanup(kill)
	line := make([]byte, 64)
	n, _ := stdout.Read(line)
	if !strings.HasPrefix(string(line[:n]), "ready") {
		t.Fatalf("holder child: %q", line[:n])
	}

	s, err := Open(Config{Key: testKey, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded while another process holds the audit PID")
	}
	var holder *HolderError
	if !errors.As(err, &holder) || holder.PID != uint32(child.Process.Pid) {
		t.Fatalf("Open: %v; want HolderError naming pid %d", err, child.Process.Pid)
	}
	if !strings.Contains(err.Error(), "systemctl stop auditd") || holder.Comm == "" {
		t.Errorf("error does not say what to do or who: %v", err)
	}
	if n := len(rulesWithKey(t, testKey)); n != 0 {
		t.Errorf("failed Open left %d rules", n)
	}

	// Once the holder is dead its PID is stale and must not block us.
	kill()
	st, err := GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("audit pid after the holder died: %d (stale if %d)", st.PID, child.Process.Pid)
	s, err = Open(Config{Key: testKey, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("Open with a stale audit PID: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOpenAsUnprivilegedUser runs Open in a child process as uid 65534:
// the kernel refuses AUDIT_GET with EPERM, and Open must say to run as root.
func TestOpenAsUnprivilegedUser(t *testing.T) {
	requireAudit(t)
	before := restoreKernel(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary sits in a 0700 build directory: copy it where nobody
	// can run it.
	dir, err := os.MkdirTemp("", "aptsentinel-audit-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "audit.test")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), helperEnv+"=open")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("child as uid 65534: %v, output %q; want exit 3 (ErrPermission)", err, out)
	}
	if !strings.Contains(string(out), "run as root") || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
		t.Errorf("error is not one clear line: %q", out)
	}
	after, err := GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	if after.Enabled != before.Enabled || len(rulesWithKey(t, testKey)) != 0 {
		t.Error("unprivileged Open changed the kernel")
	}
}
