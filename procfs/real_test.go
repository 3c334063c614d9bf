package procfs

import (
	"bytes"
	"errors"
	iofs "io/fs"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

func realFS(t testing.TB) FS {
	t.Helper()
	fs, err := DefaultFS()
	if err != nil {
		testenv.Require(t, "/proc", err)
	}
	return fs
}

// TestRealSelf reads the test process itself and checks every field against
// what the Go runtime and ps(1) say about it.
func TestRealSelf(t *testing.T) {
	fs := realFS(t)
	p, err := fs.Snapshot(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if p.PID != os.Getpid() || p.PPID != os.Getppid() || p.UID != uint32(os.Getuid()) {
		t.Errorf("pid/ppid/uid = %d/%d/%d, want %d/%d/%d", p.PID, p.PPID, p.UID, os.Getpid(), os.Getppid(), os.Getuid())
	}
	if p.Exe != exe || p.ExeDeleted || p.Cwd != wd || p.KernelThread {
		t.Errorf("exe %q deleted %v cwd %q kthread %v, want exe %q cwd %q", p.Exe, p.ExeDeleted, p.Cwd, p.KernelThread, exe, wd)
	}
	if !slices.Equal(p.Args, os.Args) {
		t.Errorf("args = %q, want os.Args %q", p.Args, os.Args)
	}
	if comm, _ := fs.Proc(os.Getpid()).Comm(); p.Comm != comm || comm == "" {
		t.Errorf("stat comm %q, comm file %q", p.Comm, comm)
	}
	if p.StartTime == 0 {
		t.Fatal("StartTime is 0")
	}

	// ps computes lstart as btime (/proc/stat) + starttime/USER_HZ and prints
	// it at one-second resolution: ours must land on the same second.
	out, err := exec.Command("ps", "-o", "lstart=", "-p", strconv.Itoa(os.Getpid())).Output()
	if err != nil {
		testenv.Require(t, "ps (procps)", err)
	}
	psStart, err := time.ParseInLocation("Mon Jan _2 15:04:05 2006", strings.TrimSpace(string(out)), time.Local)
	if err != nil {
		t.Fatalf("parse ps lstart %q: %v", out, err)
	}
	btime := bootTimeFromProcStat(t)
	ours := time.Unix(btime, 0).Add(TicksToDuration(p.StartTime)).Truncate(time.Second)
	if !ours.Equal(psStart) {
		t.Errorf("start = %v (btime %d + %d ticks), ps lstart = %v", ours, btime, p.StartTime, psStart)
	}
}

func bootTimeFromProcStat(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no btime in /proc/stat")
	return 0
}

// TestRealChildWithParenComm runs a program named "a b) (c" and reads it.
func TestRealChildWithParenComm(t *testing.T) {
	fs := realFS(t)
	dir := t.TempDir()
	name := dir + "/a b) (c"
	sleep, err := os.ReadFile("/bin/sleep")
	if err != nil {
		testenv.Require(t, "/bin/sleep", err)
	}
	if err := os.WriteFile(name, sleep, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, "30", "0") // sleep sums its arguments
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// Wait for the exec to have finished: comm changes early in exec
	// (begin_new_exec), the argument area is set up after it
	// (create_elf_tables), so an empty cmdline can be read in between.
	var p Snapshot
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if p, err = fs.Snapshot(cmd.Process.Pid); err == nil && p.Comm == "a b) (c" && len(p.Args) > 0 {
			break
		}
	}
	want := Snapshot{PID: cmd.Process.Pid, PPID: os.Getpid(), StartTime: p.StartTime, Comm: "a b) (c",
		Exe: name, Args: []string{name, "30", "0"}, Cwd: dir, UID: uint32(os.Getuid())}
	assertProcess(t, p, want)

	// Deleting the running file marks the exe deleted.
	if err := os.Remove(name); err != nil {
		t.Fatal(err)
	}
	exe, err := fs.Proc(cmd.Process.Pid).Exe()
	if err != nil {
		t.Fatal(err)
	}
	if exe != (Exe{Path: name, Deleted: true}) {
		t.Errorf("exe after delete = %+v, want %q deleted", exe, name)
	}
}

// TestRealExeNamedDeleted checks a file really named "x (deleted)" is not
// taken for a deleted file.
func TestRealExeNamedDeleted(t *testing.T) {
	fs := realFS(t)
	sleep, err := os.ReadFile("/bin/sleep")
	if err != nil {
		testenv.Require(t, "/bin/sleep", err)
	}
	name := t.TempDir() + "/x" + deletedSuffix
	if err := os.WriteFile(name, sleep, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var exe Exe
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if exe, err = fs.Proc(cmd.Process.Pid).Exe(); err == nil && exe.Path == name {
			break
		}
	}
	if exe != (Exe{Path: name}) {
		t.Errorf("exe = %+v, want %q not deleted", exe, name)
	}
}

func TestRealScan(t *testing.T) {
	fs := realFS(t)
	procs, err := fs.Scan()
	if err != nil && !errors.Is(err, iofs.ErrPermission) {
		t.Fatal(err)
	}
	// Where some links are refused (on this sandbox, pid 1 holds capabilities
	// root lacks), the error must name exactly the Incomplete processes.
	var incomplete int
	for _, p := range procs {
		if p.Incomplete {
			incomplete++
			if err == nil || !strings.Contains(err.Error(), "pid "+strconv.Itoa(p.PID)+":") {
				t.Errorf("pid %d incomplete but the error does not name it: %v", p.PID, err)
			}
		}
	}
	if (incomplete > 0) != (err != nil) {
		t.Errorf("%d incomplete processes, error %v", incomplete, err)
	}
	t.Logf("%d processes, %d incomplete", len(procs), incomplete)
	var self, kthreadd bool
	for _, p := range procs {
		switch p.PID {
		case os.Getpid():
			self = p.PPID == os.Getppid() && slices.Equal(p.Args, os.Args)
		case 2:
			kthreadd = p.KernelThread && p.Comm == "kthreadd" && p.Exe == "" && p.Args == nil
		}
	}
	if !self {
		t.Error("scan lacks the test process (or got its ppid/args wrong)")
	}
	if !kthreadd {
		t.Error("scan lacks kthreadd (pid 2) as a kernel thread without exe/args")
	}
}

func TestRealBootID(t *testing.T) {
	id, err := realFS(t).BootID()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Fatal(err)
	}
	if id != strings.TrimSpace(string(b)) {
		t.Errorf("boot id %q, file says %q", id, b)
	}
}

func TestRealProcessGone(t *testing.T) {
	fs := realFS(t)
	// A pid can be reused between the child's end and the read: try again,
	// a few times at most (reuse needs pid_max forks in between).
	var cmd *exec.Cmd
	var err error
	for try := 0; try < 5 && err == nil; try++ {
		cmd = exec.Command("/bin/true")
		if runErr := cmd.Run(); runErr != nil {
			testenv.Require(t, "/bin/true", runErr)
		}
		_, err = fs.Snapshot(cmd.Process.Pid)
	}
	if err == nil {
		t.Fatalf("pid %d of an exited child still readable after 5 tries", cmd.Process.Pid)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("error %q does not name the pid", err)
	}
	if !isGoneErr(err) {
		t.Errorf("error %v is not ENOENT/ESRCH", err)
	}
}
