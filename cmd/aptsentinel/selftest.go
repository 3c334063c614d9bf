package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aptsentinel/aptsentinel/alert"
	"github.com/aptsentinel/aptsentinel/internal/journal"
	"github.com/aptsentinel/aptsentinel/selftest"
)

// journalSocket is journald's native socket (a variable for tests).
var journalSocket = journal.DefaultSocket

const selftestUsage = `Usage: aptsentinel selftest [flags]

Proves the whole detection chain on this host: kernel audit, the sensor, the
rule and the alert output. It must run as root.

It stages, in a new private directory (mode 0700) under $TMPDIR or /tmp, a
program named "apt" (a symbolic link to this binary: the kernel names a
process after the path it was started by). That "apt" runs
"/bin/sh -c '<this binary> ...; true'", and the shell's child makes one
connect() to [2001:db8::1]:9 (the IPv6 documentation prefix; 1.1.1.1:9 on a
kernel without IPv6) - what a backdoored APT hook does. The whole chain runs
in a new, empty network namespace: the connect() fails at once (no route,
no address) and nothing leaves the host, but the kernel still audits it.
The connecting program refuses to connect from the host's own namespace.

Which sensor it checks:
  - an aptsentinel sensor runs (the service; found by its status file
    /run/aptsentinel/status.json, in every mode, beside auditd too): its
    alert is read back from the journal (journalctl, MESSAGE_ID
    eaef8a3512e04ac0bc1481c72b6bd27c), from entries journald attributes to
    the sensor only (_UID=0 and the sensor's _PID or
    _SYSTEMD_UNIT=aptsentinel.service): anyone can write an alert-like
    entry with its SYSLOG_IDENTIFIER and MESSAGE_ID. A sensor that writes
    alerts to stdout cannot be read back: selftest says so and fails, naming
    the pids to look for in its output.
  - no sensor runs: selftest runs the sensor itself, in-process, for the
    test only, and removes its audit rules afterwards. With no audit
    daemon it holds the audit PID for the test; beside auditd (or any other
    process holding the audit PID) it reads the audit multicast group, as
    "aptsentinel run" does there: it appends its rules after the daemon's
    and leaves the daemon's PID, rules and settings as they are.
  - it fails, naming why, and stages nothing where no sensor can run: audit
    locked (auditctl -e 2) with no sensor running, or another process
    holding the audit PID while this one lacks CAP_AUDIT_READ.

It prints one line, "PASS: alert raised <time> after connect() (sensor: ...)"
or "FAIL: <reason>", and removes everything it staged, also on failure and
on SIGINT or SIGTERM.

Flags:
`

// selftestOptions are the flags of `aptsentinel selftest`.
type selftestOptions struct {
	fs      *flag.FlagSet
	timeout time.Duration
	verbose bool
}

func selftestFlags() *selftestOptions {
	o := &selftestOptions{fs: newFlagSet("selftest")}
	o.fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "how long to wait for the alert after the connect() (1ns to 5m)")
	o.fs.BoolVar(&o.verbose, "verbose", false, "write the in-process sensor's logs and each step to stderr")
	return o
}

func (o *selftestOptions) usage(w io.Writer) {
	writeHelp(w, o.fs, selftestUsage, "\nExample:\n  aptsentinel selftest --timeout 30s\n\nExit codes: 0 PASS, 1 FAIL, 2 bad usage.\n")
}

func (o *selftestOptions) parse(args []string) error {
	if err := parseFlags(o.fs, args, false); err != nil {
		return err
	}
	switch {
	case o.timeout <= 0 || o.timeout > 5*time.Minute:
		return usageError{fmt.Sprintf("--timeout %s: want 1ns to 5m", o.timeout)}
	}
	return nil
}

// selftestCommand runs `aptsentinel selftest`, or one of the hidden steps
// the self-test stages (package selftest, trigger.go), and returns the
// exit code.
func selftestCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if code, ok := selftest.RunStep(args, stdout, stderr); ok {
		return code
	}
	o := selftestFlags()
	if err := o.parse(args); err != nil {
		return flagsDone(err, "selftest", o.usage, stdout, stderr)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(stdout, "FAIL: must run as root: the self-test reads the kernel's audit state, may run the sensor and creates a network namespace")
		return 1
	}
	res, err := selftest.Run(ctx, selftest.Config{
		Timeout:      o.timeout,
		Verbose:      o.verbose,
		Stderr:       stderr,
		Version:      version,
		SensorOutput: sensorOutput,
	})
	if err != nil {
		fmt.Fprintf(stdout, "FAIL: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "PASS: %s\n", res)
	return 0
}

// sensorOutput returns the --output of `aptsentinel run ARGS`, reading its
// --config file the way run does (the command line wins). "auto" is
// resolved as run resolves it, by journald's socket now: a journald that
// started or stopped since the sensor did is the one case told wrong.
func sensorOutput(args []string) (string, error) {
	o := runFlags()
	if err := o.fs.Parse(args); err != nil {
		return "", fmt.Errorf("its command line: %w", err)
	}
	if o.config != "" {
		if _, err := applyConfigFile(o.fs, o.config); err != nil {
			return "", err
		}
	}
	return alert.ResolveOutput(o.output, journalSocket), nil
}
