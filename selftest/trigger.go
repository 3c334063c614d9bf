package selftest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The trigger is the process chain the rule looks for, built from this
// binary and /bin/sh:
//
//	selftest ──fork+exec, CLONE_NEWNET──> DIR/apt selftest internal-apt      (comm "apt")
//	  apt ──fork+exec──> /bin/sh -c 'BIN selftest internal-connect N; true' (comm "sh")
//	    sh ──fork+exec──> BIN selftest internal-connect N                    (one connect())
//
// DIR/apt is a symbolic link to this binary. The kernel sets comm, ECS
// process.name, from the basename of the path given to execve, without
// resolving links (fs/exec.c: __set_task_comm(me, kbasename(bprm->filename))),
// while the noexec check applies to the file the link points to, so the link
// also works where the temporary directory is mounted noexec. The trailing
// "; true" keeps dash from exec'ing the connector in its own place (it does
// so for the last simple command of -c): the rule wants the connect() from a
// child of the shell.
//
// The chain runs in a new network namespace with no interface up: the
// connect() fails at once (ENETUNREACH, or EADDRNOTAVAIL for IPv6) and no
// packet leaves the host; the kernel audits the attempt all the same.

// Hidden steps of the self-test, run by the chain above.
const (
	stepApt     = "internal-apt"
	stepConnect = "internal-connect"
)

// RunStep runs a hidden step of the chain (`aptsentinel selftest STEP
// ARGS...`): ok is false when args[0] names none.
func RunStep(args []string, stdout, stderr io.Writer) (code int, ok bool) {
	if len(args) == 0 {
		return 0, false
	}
	switch args[0] {
	case stepApt:
		return runStagedApt(args[1:], stdout, stderr), true
	case stepConnect:
		return runConnector(args[1:], stdout, stderr), true
	}
	return 0, false
}

// The connect()'s destination. 2001:db8::/32 is for documentation only
// (RFC 3849), so the alert names no real party, and the rule (v10) does not
// exclude it. Kernels without IPv6 (ipv6.disable=1) get 1.1.1.1 instead:
// every IPv4 special-purpose range is excluded by the rule.
var (
	selftestDest     = netip.MustParseAddrPort("[2001:db8::1]:9")
	selftestDestIPv4 = netip.MustParseAddrPort("1.1.1.1:9")
)

// triggerReport is what the chain reports back.
type triggerReport struct {
	aptPID, shellPID, connectPID int
	connectAt                    time.Time // wall clock just before connect()
	dest                         netip.AddrPort
	errno                        string // connect()'s error, "none" if it succeeded
}

// stage is the private directory holding the staged apt.
type stage struct {
	dir string // mode 0700, made by os.MkdirTemp
	bin string // this binary, absolute
	apt string // dir/apt -> bin
}

// newStage makes the staging directory with the apt link in it.
func newStage() (*stage, error) {
	bin, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("staging: finding this binary: %w", err)
	}
	if strings.HasSuffix(bin, " (deleted)") {
		return nil, fmt.Errorf("staging: this binary (%s) was replaced on disk while running; run selftest again", bin)
	}
	dir, err := os.MkdirTemp("", "aptsentinel-selftest-")
	if err != nil {
		return nil, fmt.Errorf("staging: %w", err)
	}
	s := &stage{dir: dir, bin: bin, apt: filepath.Join(dir, "apt")}
	if err := os.Symlink(bin, s.apt); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("staging: %w", err)
	}
	return s, nil
}

// remove deletes the staging directory and all in it.
func (s *stage) remove() error { return os.RemoveAll(s.dir) }

// run runs the chain and returns its report.
func (s *stage) run(ctx context.Context) (triggerReport, error) {
	hostNet, err := netnsInode("/proc/self/ns/net")
	if err != nil {
		return triggerReport{}, err
	}
	cmd := exec.CommandContext(ctx, s.apt, "selftest", stepApt, s.bin, strconv.FormatUint(hostNet, 10))
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	cmd.Dir = s.dir
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return triggerReport{}, ErrInterrupted
	}
	rep, err := parseTriggerReport(out.Bytes())
	if cmd.Process != nil {
		rep.aptPID = cmd.Process.Pid
	}
	if runErr != nil || err != nil {
		return rep, fmt.Errorf("the staged apt (%s): %w; its output: %q", s.apt, errors.Join(runErr, err),
			strings.TrimSpace(out.String()+errOut.String()))
	}
	if rep.errno == "none" {
		return rep, fmt.Errorf("the connect() to %s succeeded inside a new network namespace, which should have no route", rep.dest)
	}
	return rep, nil
}

// parseTriggerReport reads the lines the chain wrote: "shell PID" from the
// staged apt, "connect PID UNIX_NANOS DEST ERRNO" from the connector.
func parseTriggerReport(b []byte) (triggerReport, error) {
	var rep triggerReport
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "shell":
			pid, err := parsePID(f[1])
			if err != nil {
				return rep, fmt.Errorf("report %q: %w", sc.Text(), err)
			}
			rep.shellPID = pid
		case len(f) == 5 && f[0] == "connect":
			pid, err := parsePID(f[1])
			if err != nil {
				return rep, fmt.Errorf("report %q: %w", sc.Text(), err)
			}
			ns, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil || ns <= 0 {
				return rep, fmt.Errorf("report %q: bad time %q", sc.Text(), f[2])
			}
			dest, err := netip.ParseAddrPort(f[3])
			if err != nil {
				return rep, fmt.Errorf("report %q: %w", sc.Text(), err)
			}
			rep.connectPID, rep.connectAt, rep.dest, rep.errno = pid, time.Unix(0, ns), dest, f[4]
		default:
			return rep, fmt.Errorf("unexpected report line %q", sc.Text())
		}
	}
	switch {
	case sc.Err() != nil:
		return rep, fmt.Errorf("reading the report: %w", sc.Err())
	case rep.shellPID == 0:
		return rep, errors.New("the staged apt did not report its shell")
	case rep.connectPID == 0:
		return rep, errors.New("the connector did not report its connect()")
	}
	return rep, nil
}

func parsePID(s string) (int, error) {
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 || pid > 1<<22 { // PID_MAX_LIMIT (include/linux/threads.h)
		return 0, fmt.Errorf("bad pid %q", s)
	}
	return pid, nil
}

// runStagedApt is the staged apt: it runs the hook shell as its child, says
// the shell's pid and exits when the shell does. Args: BIN HOSTNETNS.
func runStagedApt(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 || !filepath.IsAbs(args[0]) {
		fmt.Fprintf(stderr, "aptsentinel selftest %s: want BIN HOSTNETNS, got %q\n", stepApt, args)
		return 2
	}
	if _, err := strconv.ParseUint(args[1], 10, 64); err != nil {
		fmt.Fprintf(stderr, "aptsentinel selftest %s: bad namespace inode %q\n", stepApt, args[1])
		return 2
	}
	script := shellQuote(args[0]) + " selftest " + stepConnect + " " + args[1] + "; true"
	sh := exec.Command("/bin/sh", "-c", script)
	sh.Stdout, sh.Stderr = stdout, stderr
	sh.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := sh.Start(); err != nil {
		fmt.Fprintf(stderr, "aptsentinel selftest %s: %v\n", stepApt, err)
		return 1
	}
	fmt.Fprintf(stdout, "shell %d\n", sh.Process.Pid)
	if err := sh.Wait(); err != nil {
		fmt.Fprintf(stderr, "aptsentinel selftest %s: shell: %v\n", stepApt, err)
		return 1
	}
	return 0
}

// runConnector makes the one connect() and reports it. It refuses to run in
// the host's network namespace (inode HOSTNETNS): nothing may leave the host.
func runConnector(args []string, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "aptsentinel selftest %s: "+format+"\n", append([]any{stepConnect}, a...)...)
		return 1
	}
	if len(args) != 1 {
		return fail("want HOSTNETNS, got %q", args)
	}
	hostNet, err := strconv.ParseUint(args[0], 10, 64)
	if err != nil {
		return fail("bad namespace inode %q", args[0])
	}
	own, err := netnsInode("/proc/self/ns/net")
	if err != nil {
		return fail("%v", err)
	}
	if own == hostNet {
		return fail("refusing to connect: running in the host's network namespace")
	}
	dest, fd, err := openSocket()
	if err != nil {
		return fail("%v", err)
	}
	defer unix.Close(fd)
	at := time.Now()
	err = unix.Connect(fd, sockaddrOf(dest))
	errno := "none"
	var e syscall.Errno
	switch {
	case errors.As(err, &e) && unix.ErrnoName(e) != "":
		errno = unix.ErrnoName(e)
	case err != nil:
		errno = "errno-" + strconv.Itoa(int(e))
	}
	fmt.Fprintf(stdout, "connect %d %d %s %s\n", os.Getpid(), at.UnixNano(), dest, errno)
	return 0
}

// openSocket opens a TCP socket for selftestDest, or for selftestDestIPv4
// when the kernel has no IPv6.
func openSocket() (netip.AddrPort, int, error) {
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err == nil {
		return selftestDest, fd, nil
	}
	if !errors.Is(err, unix.EAFNOSUPPORT) {
		return netip.AddrPort{}, -1, fmt.Errorf("socket(AF_INET6): %w", err)
	}
	fd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return netip.AddrPort{}, -1, fmt.Errorf("socket(AF_INET): %w", err)
	}
	return selftestDestIPv4, fd, nil
}

func sockaddrOf(d netip.AddrPort) unix.Sockaddr {
	if d.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(d.Port()), Addr: d.Addr().As4()}
	}
	return &unix.SockaddrInet6{Port: int(d.Port()), Addr: d.Addr().As16()}
}

// netnsInode returns the inode of a network namespace file: two processes
// are in the same namespace when the inodes are equal (namespaces(7)).
func netnsInode(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("network namespace: %w", err)
	}
	return st.Ino, nil
}

// shellQuote quotes s for a POSIX shell: single quotes keep every byte as
// is; a single quote inside is closed, escaped with a backslash and
// reopened (POSIX.1-2017 XCU 2.2.2, 2.2.3).
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
