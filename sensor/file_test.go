package sensor

import (
	"testing"

	"github.com/aptsentinel/aptsentinel/audit"
)

// A name relative to a directory fd comes with the cwd's name; the watched
// directory's dev and inode put the path right, and nothing else does.
func TestFilePath(t *testing.T) {
	w := watchedDir{path: "/etc/apt/apt.conf.d", dev: "fe:00", inode: 457}
	dirfd := &audit.File{Path: "/work/wt/file/99x", Name: "99x", Relative: true, ParentDev: "fe:00", ParentInode: 457}
	if got := filePath(dirfd, w); got != "/etc/apt/apt.conf.d/99x" {
		t.Errorf("dirfd-relative: %q", got)
	}
	other := &audit.File{Path: "/tmp/99x", Name: "99x", Relative: true, ParentDev: "fe:00", ParentInode: 12}
	if got := filePath(other, w); got != "/tmp/99x" {
		t.Errorf("other directory: %q", got)
	}
	abs := &audit.File{Path: "/etc/apt/apt.conf.d/99y", Name: "/etc/apt/apt.conf.d/99y", ParentDev: "fe:00", ParentInode: 457}
	if got := filePath(abs, w); got != abs.Path {
		t.Errorf("absolute: %q", got)
	}
	if got, ok := statWatchedDir("/nonexistent-aptsentinel-dir"); ok {
		t.Errorf("absent directory: %+v", got)
	}
	if got, ok := statWatchedDir("/"); !ok || got.inode == 0 || len(got.dev) < 5 {
		t.Errorf("stat /: %+v %v", got, ok)
	}
}
