package procfs

import (
	"errors"
	"slices"
	"testing"
)

// The fixture tree testdata/proc was captured from a live 6.18 machine by
// testdata/capture.sh. Each pid is one case worth keeping:
//
//	2     kthreadd: a kernel thread (no exe, empty cmdline)
//	6699  a copy of sleep named "a b) (c": a comm with spaces and parens
//	6702  a copy of sleep deleted while running: exe ends in " (deleted)"
//	6706  perl after `$0 = "rewritten: perl title"`: a rewritten argv
//	6710  sh that forked "sleep 0" then exec'd sleep 300 without reaping it
//	6712  sh -c 'sleep 300; true' x '': an empty last argument, cwd /usr/share
//	6714  the unreaped "sleep 0": a zombie (no exe, no cwd, empty cmdline)
//	6993  sleep run as uid 65534
func fixtureFS(t testing.TB) FS {
	t.Helper()
	fs, err := NewFS("testdata/proc")
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestFixtureProcess(t *testing.T) {
	fs := fixtureFS(t)
	tests := []struct {
		want Snapshot
	}{
		{Snapshot{PID: 2, PPID: 0, StartTime: 24, Comm: "kthreadd", KernelThread: true}},
		{Snapshot{PID: 6699, PPID: 1, StartTime: 48201, Comm: "a b) (c", Exe: "/tmp/a b) (c",
			Args: []string{"/tmp/a b) (c", "300"}, Cwd: "/tmp"}},
		{Snapshot{PID: 6702, PPID: 1, StartTime: 48201, Comm: "deleted-sleep", Exe: "/tmp/deleted-sleep",
			ExeDeleted: true, Args: []string{"/tmp/deleted-sleep", "300"}, Cwd: "/tmp"}},
		{Snapshot{PID: 6706, PPID: 1, StartTime: 48222, Comm: "rewritten: perl", Exe: "/usr/bin/perl",
			Args: []string{"rewritten: perl title"}, Cwd: "/tmp"}},
		{Snapshot{PID: 6712, PPID: 6708, StartTime: 48223, Comm: "sh", Exe: "/usr/bin/dash",
			Args: []string{"sh", "-c", "sleep 300; true", "x", ""}, Cwd: "/usr/share"}},
		{Snapshot{PID: 6714, PPID: 6710, StartTime: 48223, Comm: "sleep"}},
		{Snapshot{PID: 6993, PPID: 1, StartTime: 49201, Comm: "sleep", Exe: "/usr/bin/sleep",
			Args: []string{"sleep", "300"}, Cwd: "/tmp", UID: 65534}},
	}
	for _, tt := range tests {
		t.Run(tt.want.Comm, func(t *testing.T) {
			got, err := fs.Snapshot(tt.want.PID)
			if err != nil {
				t.Fatal(err)
			}
			assertProcess(t, got, tt.want)
		})
	}
}

func assertProcess(t *testing.T, got, want Snapshot) {
	t.Helper()
	if got.PID != want.PID || got.PPID != want.PPID || got.StartTime != want.StartTime ||
		got.Comm != want.Comm || got.Exe != want.Exe || got.ExeDeleted != want.ExeDeleted ||
		got.Cwd != want.Cwd || got.UID != want.UID || got.KernelThread != want.KernelThread ||
		!slices.Equal(got.Args, want.Args) {
		t.Errorf("process:\n got %+v\nwant %+v", got, want)
	}
}

func TestFixtureStatus(t *testing.T) {
	st, err := fixtureFS(t).Proc(6712).Status()
	if err != nil {
		t.Fatal(err)
	}
	want := Status{Name: "sh", TGID: 6712, PPID: 6708, UID: 0, EUID: 0}
	if st != want {
		t.Errorf("status = %+v, want %+v", st, want)
	}
}

func TestFixtureZombieStat(t *testing.T) {
	st, err := fixtureFS(t).Proc(6714).Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.State != 'Z' || st.KernelThread() {
		t.Errorf("zombie stat = %+v: want state Z, not a kernel thread", st)
	}
}

func TestFixtureScan(t *testing.T) {
	procs, err := fixtureFS(t).Scan()
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, p := range procs {
		pids = append(pids, p.PID)
	}
	// "self" and "cpuinfo" in the tree are not pids and must be skipped.
	want := []int{2, 6699, 6702, 6706, 6710, 6712, 6714, 6993}
	if !slices.Equal(pids, want) {
		t.Errorf("scan pids = %v, want %v", pids, want)
	}
}

func TestFixtureMissingProcessIsGone(t *testing.T) {
	_, err := fixtureFS(t).Snapshot(424242)
	if !errors.Is(err, ErrGone) {
		t.Errorf("Process(424242) error = %v, want ErrGone", err)
	}
}

func TestFixtureBootID(t *testing.T) {
	id, err := fixtureFS(t).BootID()
	if err != nil {
		t.Fatal(err)
	}
	if want := "c88c098d-c458-4e61-a9b6-31c65a1a25ae"; id != want {
		t.Errorf("boot id = %q, want %q", id, want)
	}
}

func TestNewFSRefusesMissingAndNonDirectory(t *testing.T) {
	for _, root := range []string{"testdata/no-such-dir", "testdata/capture.sh"} {
		if _, err := NewFS(root); err == nil {
			t.Errorf("NewFS(%q) succeeded, want an error", root)
		}
	}
}
