package audit

import (
	"fmt"
	"path"
	"time"
)

// WatchedDir is the directory the sensor watches for created and
// renamed-in files: apt reads every file in it as configuration, so a file
// planted there is a hook (issue 8, rule 7c2e1297).
const WatchedDir = "/etc/apt/apt.conf.d"

// FileOp is what a File event did to its path.
type FileOp uint8

const (
	// FileCreate: open/openat/creat with O_CREAT made a new file, or
	// link/symlink/mknod a new name.
	FileCreate FileOp = iota + 1
	// FileRename: rename/renameat/renameat2 moved a file to the path (how
	// dpkg installs a conffile: X.dpkg-new, then a rename onto X).
	FileRename
)

// File is one successful syscall that made a new name in a directory an
// audit watch covers: the PATH record of nametype=CREATE (for a rename, the
// new name).
type File struct {
	Time    time.Time
	Serial  uint64
	Subject Subject
	Op      FileOp
	// Path is the new name, absolute: the kernel logs the name as the
	// syscall was given it, so a relative name is joined to Cwd here. That
	// is wrong for a name relative to a directory fd (openat(dirfd, ...));
	// ParentDev and ParentInode name the directory the entry was made in,
	// so the caller can put that right for a directory it knows (Relative
	// says whether it needs to).
	Path     string
	Relative bool
	Name     string // the name as the kernel logged it
	Cwd      string
	// ParentDev is the PARENT record's dev= ("fe:00", major:minor in hex),
	// ParentInode its inode=; both empty/0 if the event had no PARENT.
	ParentDev   string
	ParentInode uint64
}

// EventTime returns the record timestamp; it makes File an Event.
func (f *File) EventTime() time.Time { return f.Time }

// EventSerial returns the audit event serial.
func (f *File) EventSerial() uint64 { return f.Serial }

func (*File) isEvent() {}

// pathItem is what the assembler keeps of a PATH record.
type pathItem struct {
	name  span
	dev   span
	inode uint64
	ok    bool
}

// decodePath reads a PATH record (kernel/audit.c audit_log_name: item=
// name= inode= dev= mode= ... nametype=). It keeps the last PARENT and the
// CREATE that follows it; for a rename the new name's CREATE comes after
// both directories' PARENT items, so the last PARENT before it is its own.
func (p *pending) decodePath(fields []byte) error {
	s := newFieldScanner(fields)
	var it pathItem
	var nametype []byte
	var haveName bool
	for s.next() {
		f := s.f
		var err error
		switch string(f.Key) {
		case "name":
			it.name, err = p.appendText(f)
			haveName = true
		case "inode":
			it.inode, err = parseDec(f)
		case "dev":
			it.dev, err = p.appendText(field{Key: f.Key, Val: f.Val, Quoted: true})
		case "nametype":
			nametype = f.Val
		}
		if err != nil {
			return fmt.Errorf("PATH: %w", err)
		}
	}
	if s.err != nil {
		return fmt.Errorf("PATH: %w", s.err)
	}
	if !haveName || nametype == nil {
		return fmt.Errorf("%w: PATH record lacks name= or nametype=", ErrMalformed)
	}
	it.ok = true
	switch string(nametype) {
	case "PARENT":
		p.parentItem = it
	case "CREATE":
		p.created, p.createdParent = it, p.parentItem
	}
	return nil
}

// buildFile returns the File of a successful syscall that created a name,
// or nil.
func (p *pending) buildFile() *File {
	if !p.created.ok || !p.sys.haveResult || !p.sys.success {
		return nil
	}
	text := string(p.text)
	f := &File{
		Time:    p.time,
		Serial:  p.serial,
		Subject: p.process(text),
		Op:      fileOp(p.sys.arch, p.sys.nr),
		Path:    text[p.created.name.start:p.created.name.end],
	}
	if p.haveCwd {
		f.Cwd = text[p.cwd.start:p.cwd.end]
	}
	if par := p.createdParent; par.ok {
		f.ParentDev, f.ParentInode = text[par.dev.start:par.dev.end], par.inode
	}
	f.Name = f.Path
	if !path.IsAbs(f.Path) {
		f.Relative = true
		f.Path = path.Join(f.Cwd, f.Path)
	}
	f.Path = path.Clean(f.Path)
	return f
}

// fileOp tells a rename from the other calls that make a name; classify
// has already said the syscall is one of them.
func fileOp(arch uint32, nr uint64) FileOp {
	switch arch {
	case ArchX8664:
		switch nr {
		case 82, 264, 316: // rename, renameat, renameat2
			return FileRename
		}
	case ArchI386:
		switch nr {
		case 38, 302, 353:
			return FileRename
		}
	case ArchAArch64:
		switch nr {
		case 38, 276: // renameat, renameat2
			return FileRename
		}
	}
	return FileCreate
}

// isFileSyscall reports whether a syscall can make a new name in a
// directory: the ones a watch's "w" permission covers that create
// (include/asm-generic/audit_dir_write.h, and open with O_CREAT).
func isFileSyscall(arch uint32, nr uint64) bool {
	switch arch {
	case ArchX8664:
		switch nr {
		case 2, 85, 257, 437, // open, creat, openat, openat2
			82, 264, 316, // rename, renameat, renameat2
			86, 265, 88, 266, 133, 259: // link, linkat, symlink, symlinkat, mknod, mknodat
			return true
		}
	case ArchI386:
		switch nr {
		case 5, 8, 295, 437, 38, 302, 353, 9, 303, 83, 304, 14, 297:
			return true
		}
	case ArchAArch64:
		switch nr {
		case 56, 437, 38, 276, 37, 36, 33: // openat, openat2, renameat, renameat2, linkat, symlinkat, mknodat
			return true
		}
	}
	return false
}
