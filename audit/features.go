package audit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Features says which syscalls and ABIs the running kernel has, so that the
// sensor installs only rules the kernel accepts. Tests inject an "old
// kernel" value through Config.Features.
type Features struct {
	// Execveat: the kernel has execveat(2) (Linux 3.19).
	Execveat bool
	// Compat32: 32-bit x86 programs can run (CONFIG_IA32_EMULATION, not
	// turned off with ia32_emulation=false), so b32 rules are needed.
	Compat32 bool
	// Connect32: i386 has a separate connect syscall, 362 (Linux 4.3);
	// before that only socketcall(2).
	Connect32 bool
}

// Release is a kernel version from uname -r ("6.18.44-fc" is 6.18).
type Release struct{ Major, Minor int }

// AtLeast reports whether r is major.minor or newer.
func (r Release) AtLeast(major, minor int) bool {
	return r.Major > major || r.Major == major && r.Minor >= minor
}

// ParseRelease reads the major and minor number from a uname release string.
func ParseRelease(s string) (Release, error) {
	majorS, rest, ok := strings.Cut(s, ".")
	if !ok {
		return Release{}, fmt.Errorf("audit: kernel release %q has no minor version", s)
	}
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	major, err1 := strconv.Atoi(majorS)
	minor, err2 := strconv.Atoi(rest[:end])
	if err1 != nil || err2 != nil {
		return Release{}, fmt.Errorf("audit: kernel release %q is not major.minor", s)
	}
	return Release{major, minor}, nil
}

// featureProbe is what DetectFeatures looks at; tests replace its parts.
type featureProbe struct {
	procRoot string                 // "/proc" on a real system
	goarch   string                 // runtime.GOARCH
	release  func() (string, error) // uname -r
	execveat func() error           // the execveat probe's errno
}

// DetectFeatures inspects the running kernel.
func DetectFeatures() (Features, error) {
	return featureProbe{
		procRoot: "/proc",
		goarch:   runtime.GOARCH,
		release:  unameRelease,
		execveat: probeExecveat,
	}.detect()
}

func (p featureProbe) detect() (Features, error) {
	relText, err := p.release()
	if err != nil {
		return Features{}, fmt.Errorf("audit: detect features: %w", err)
	}
	rel, err := ParseRelease(relText)
	if err != nil {
		return Features{}, fmt.Errorf("audit: detect features: %w", err)
	}
	var f Features
	// execveat(-1, "", NULL, NULL, 0) cannot run anything: a kernel that has
	// the syscall answers ENOENT or EBADF, one that lacks it ENOSYS.
	f.Execveat = !errors.Is(p.execveat(), unix.ENOSYS)

	// b32 rules only make sense on x86_64 with IA32 emulation: the file
	// /proc/sys/abi/vsyscall32 exists only with CONFIG_IA32_EMULATION
	// (arch/x86/entry/vdso/vdso32-setup.c), and since 6.7 the boot
	// parameter ia32_emulation=false turns 32-bit syscalls off at runtime.
	if p.goarch == "amd64" {
		_, statErr := os.Stat(filepath.Join(p.procRoot, "sys/abi/vsyscall32"))
		cmdline, _ := os.ReadFile(filepath.Join(p.procRoot, "cmdline"))
		f.Compat32 = statErr == nil && !ia32Disabled(cmdline)
	}
	f.Connect32 = f.Compat32 && rel.AtLeast(4, 3)
	return f, nil
}

// ia32Disabled reports whether the kernel command line turns IA32 emulation
// off (ia32_emulation=, parsed with kstrtobool: 0, n, N, off, f, F ...).
func ia32Disabled(cmdline []byte) bool {
	for _, arg := range bytes.Fields(cmdline) {
		if string(arg) == "--" {
			return false // the rest goes to init
		}
		v, ok := bytes.CutPrefix(arg, []byte("ia32_emulation="))
		if !ok {
			continue
		}
		switch strings.ToLower(string(v)) {
		case "0", "n", "no", "off", "f", "false":
			return true
		}
	}
	return false
}

func unameRelease() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", fmt.Errorf("uname: %w", err)
	}
	return unix.ByteSliceToString(u.Release[:]), nil
}

// probeExecveat calls execveat(-1, "", NULL, NULL, 0) and returns its errno.
// Without AT_EMPTY_PATH an empty path is ENOENT, so nothing is executed.
func probeExecveat() error {
	empty := [1]byte{}
	_, _, errno := unix.Syscall6(unix.SYS_EXECVEAT, ^uintptr(0), uintptr(unsafe.Pointer(&empty[0])), 0, 0, 0, 0)
	if errno == 0 {
		return nil
	}
	return errno
}
