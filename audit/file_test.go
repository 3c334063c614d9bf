package audit

import (
	"testing"
)

// The file-*.txt records were captured on Linux 6.18 with the watch
// -w /etc/apt/apt.conf.d/ -p wa (key "capt"), from: sh's redirection,
// python's os.open(O_CREAT|O_EXCL), cp then mv of a .dpkg-new file (as
// dpkg installs a conffile), mv onto an existing file (renameat2 with
// RENAME_NOREPLACE fails first, then renameat), os.open relative to a
// directory fd, a redirection onto an existing file, and rm.
func TestAssembleFileEvents(t *testing.T) {
	type want struct {
		op       FileOp
		path     string
		relative bool
		comm     string
		exe      string
		pid      int
		ppid     int
	}
	cases := []struct {
		file string
		want []want
	}{
		{"file-create-redirect.txt", []want{{FileCreate, "/etc/apt/apt.conf.d/99aptsentinel-cap-redir", false, "sh", "/usr/bin/dash", 8085, 8076}}},
		{"file-create-openat.txt", []want{{FileCreate, "/etc/apt/apt.conf.d/99aptsentinel-cap-openat", false, "python3", "/root/.pyenv/versions/3.11.7/bin/python3.11", 8086, 8076}}},
		{"file-rename-dpkg-new.txt", []want{
			{FileCreate, "/etc/apt/apt.conf.d/99aptsentinel-cap-rename.dpkg-new", false, "cp", "/usr/bin/cp", 8127, 8076},
			{FileRename, "/etc/apt/apt.conf.d/99aptsentinel-cap-rename", false, "mv", "/usr/bin/mv", 8128, 8076},
		}},
		// The failed renameat2 (EEXIST) makes nothing.
		{"file-rename-replace.txt", []want{{FileRename, "/etc/apt/apt.conf.d/99aptsentinel-cap-rename", false, "mv", "/usr/bin/mv", 8130, 8076}}},
		// Relative to a directory fd: the kernel's PARENT name is the cwd,
		// not the directory; the joined path is wrong and says so.
		{"file-create-dirfd.txt", []want{{FileCreate, "/work/wt/file/99aptsentinel-cap-dirfd", true, "python3", "/root/.pyenv/versions/3.11.7/bin/python3.11", 8131, 8076}}},
		{"file-truncate-existing.txt", nil},
		{"file-unlink.txt", nil},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			events, errs, a := assembleAll(t, loadRecords(t, c.file))
			if len(errs) != 0 {
				t.Fatalf("errors: %v", errs)
			}
			if len(events) != len(c.want) {
				t.Fatalf("got %d events %+v, want %d", len(events), events, len(c.want))
			}
			for i, w := range c.want {
				f, ok := events[i].(*File)
				if !ok {
					t.Fatalf("event %d is %T, want *File", i, events[i])
				}
				if f.Op != w.op || f.Path != w.path || f.Relative != w.relative {
					t.Errorf("event %d: op %d path %q relative %v, want %d %q %v", i, f.Op, f.Path, f.Relative, w.op, w.path, w.relative)
				}
				pr := f.Subject
				if pr.Comm != w.comm || pr.Exe != w.exe || pr.PID != w.pid || pr.PPID != w.ppid || pr.UID != 0 {
					t.Errorf("event %d: process %+v, want %s %s pid %d ppid %d uid 0", i, pr, w.comm, w.exe, w.pid, w.ppid)
				}
				if f.ParentDev != "fe:00" || f.ParentInode != 457 {
					t.Errorf("event %d: parent dev %q inode %d, want fe:00 457", i, f.ParentDev, f.ParentInode)
				}
				if f.Cwd == "" {
					t.Errorf("event %d: no cwd", i)
				}
			}
			if got := a.Stats().Files; got != uint64(len(c.want)) {
				t.Errorf("stats: %d files, want %d", got, len(c.want))
			}
		})
	}
}

// A malformed PATH record drops the event with an error, never a wrong path.
func TestAssembleFileMalformedPath(t *testing.T) {
	recs := loadRecords(t, "file-create-redirect.txt")
	for i, r := range recs {
		if r.Type == TypePath {
			recs[i].Data = []byte("audit(1795914469.707:5689493): item=1 inode=12 nametype=CREATE")
		}
	}
	events, errs, _ := assembleAll(t, recs)
	if len(events) != 0 || len(errs) == 0 {
		t.Fatalf("events %v errs %v, want none and an error", events, errs)
	}
}
