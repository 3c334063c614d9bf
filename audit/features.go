package audit

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
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
	// Compat32: the kernel is x86_64, so the b32 rules are tried. Whether
	// they stay is the kernel's answer to adding them (Open logs it): a b32
	// rule the kernel takes is harmless where 32-bit programs cannot run,
	// and no file tells whether they can (CONFIG_IA32_EMULATION=y and
	// /proc/sys/abi/vsyscall32 are there on kernels whose exec of an i386
	// ELF fails with ENOEXEC). An exec probe would fail under the unit's
	// SystemCallArchitectures=native anyway.
	Compat32 bool
	// Connect32: i386 has a separate connect syscall, 362 (Linux 4.3);
	// before that only socketcall(2).
	Connect32 bool
	// IA32Hint says what /proc tells about 32-bit support, for the log
	// only: it decides nothing.
	IA32Hint string
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

	// b32 rules only make sense on x86_64; there they are tried, and the
	// kernel's answer decides (see Features.Compat32).
	if p.goarch == "amd64" {
		f.Compat32 = true
		f.IA32Hint = ia32Hint(p.procRoot)
	}
	f.Connect32 = f.Compat32 && rel.AtLeast(4, 3)
	return f, nil
}

// ia32Hint describes the files that hint at 32-bit support:
// /proc/sys/abi/vsyscall32 exists only with CONFIG_IA32_EMULATION
// (arch/x86/entry/vdso/vdso32-setup.c), and since 6.7 the boot parameter
// ia32_emulation=false turns 32-bit syscalls off at runtime.
func ia32Hint(procRoot string) string {
	hint := "/proc/sys/abi/vsyscall32 present"
	if _, err := os.Stat(filepath.Join(procRoot, "sys/abi/vsyscall32")); err != nil {
		hint = "/proc/sys/abi/vsyscall32 absent (no CONFIG_IA32_EMULATION?)"
	}
	cmdline, _ := os.ReadFile(filepath.Join(procRoot, "cmdline"))
	if ia32Disabled(cmdline) {
		hint += ", ia32_emulation off on the kernel command line"
	}
	return hint
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

// logCompat32 logs what became of the b32 rules and why: the decision an
// operator of a 32-bit-less kernel will want to read.
func logCompat32(log *slog.Logger, f Features, specs []RuleSpec, refused []RefusedRule) {
	decision, why := compat32Decision(f, specs, refused)
	log.Info("32-bit audit rules "+decision, "why", why, "ia32_hint", f.IA32Hint)
}

// compat32Decision names what became of the b32 rules and why.
func compat32Decision(f Features, specs []RuleSpec, refused []RefusedRule) (decision, why string) {
	if !f.Compat32 {
		return "not installed", "not an x86_64 kernel: there is no 32-bit x86 ABI to audit"
	}
	tried := 0
	for _, s := range specs {
		if isB32(s.Text) {
			tried++
		}
	}
	var b32Refused []RefusedRule
	for _, r := range refused {
		if isB32(r.Text) {
			b32Refused = append(b32Refused, r)
		}
	}
	refused = b32Refused
	switch {
	case len(refused) == 0:
		return "installed", fmt.Sprintf("the kernel accepted all %d; a b32 rule is harmless where 32-bit programs cannot run", tried)
	case len(refused) < tried:
		return "partly installed", fmt.Sprintf("the kernel refused %d of %d, first %q: %v", len(refused), tried, refused[0].Text, refused[0].Err)
	default:
		return "not installed", fmt.Sprintf("the kernel refused all %d, first %q: %v", tried, refused[0].Text, refused[0].Err)
	}
}

// isB32 reports whether a rule's text is a b32 rule.
func isB32(text string) bool { return strings.Contains(text, " -F arch=b32 ") }
