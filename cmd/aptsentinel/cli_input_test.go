package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

// The command line's bad input, over the built binary: each mistake is one
// line on stderr naming what is wrong, exit 2 (usage) or 1 (a file that
// cannot be a rule file), never a Go panic, and refused before the
// binary opens an audit socket. TestMain holds the audit test lock, as
// every test here would touch audit if a refusal were missing.

// cliFiles are the files the bad-input cases name.
type cliFiles struct {
	dir, binary, hugeConfig, hugeRule, badRule, goodRule, events, badConfig, badWindow string
}

func makeCLIFiles(t *testing.T) cliFiles {
	t.Helper()
	d := t.TempDir()
	f := cliFiles{
		dir:        d,
		binary:     filepath.Join(d, "binary.toml"),
		hugeConfig: filepath.Join(d, "huge.conf"),
		hugeRule:   filepath.Join(d, "huge.toml"),
		badRule:    filepath.Join(d, "rules.d", "bad.toml"),
		goodRule:   shippedSeed,
		events:     filepath.Join(d, "events.jsonl"),
		badConfig:  filepath.Join(d, "bad.conf"),
		badWindow:  filepath.Join(d, "window.conf"),
	}
	elf, err := os.ReadFile(sensorBin)
	if err != nil {
		t.Fatal(err)
	}
	write := func(path string, b []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(f.binary, elf[:4096])
	write(f.hugeConfig, bytes.Repeat([]byte("# a comment line that goes on\n"), 4096)) // 120 KiB
	write(f.hugeRule, bytes.Repeat([]byte("# a comment line that goes on\n"), 70000))  // 2 MiB
	write(f.badRule, []byte("[rule]\nquery = '''process where frob'''\n"))
	write(f.events, []byte(`{"@timestamp":"2026-03-24T12:00:00Z","event.category":"process","event.action":"exec","process.entity_id":"a"}`+"\n"))
	write(f.badConfig, []byte("output = frob\n"))
	write(f.badWindow, []byte("# a window too long\nbatch-window = 5s\n"))
	return f
}

// cliCase is one command line and what the binary must answer.
type cliCase struct {
	args []string
	code int
	want string // in stderr
}

func badInputCases(f cliFiles) []cliCase {
	return []cliCase{
		// top level
		{[]string{"frob"}, 2, `unknown command "frob"`},
		{[]string{"--frob"}, 2, `unknown command "--frob"`},
		{[]string{"help", "frob"}, 2, `unknown command "frob"`},
		{[]string{"help", "rules", "frob"}, 2, `unknown command "frob"`},
		{[]string{"version", "now"}, 2, `unexpected argument "now"`},

		// run: flags
		{[]string{"run", "--frob"}, 2, "-frob"},
		{[]string{"run", "now"}, 2, `unexpected argument "now"`},
		{[]string{"run", "--parent-wait"}, 2, "needs an argument: -parent-wait"},
		{[]string{"run", "--parent-wait", "-1s"}, 2, "--parent-wait -1s: want 0 to 1s"},
		{[]string{"run", "--parent-wait", "2s"}, 2, "--parent-wait 2s"},
		{[]string{"run", "--lateness", "-5m"}, 2, "--lateness -5m0s"},
		{[]string{"run", "--backlog-wait", "-1s"}, 2, "--backlog-wait -1s: want 0 to 10s"},
		{[]string{"run", "--backlog-wait", "11s"}, 2, "--backlog-wait 11s"},
		{[]string{"run", "--batch-window", "-1ms"}, 2, "--batch-window -1ms: want 0 to 1s"},
		{[]string{"run", "--batch-window", "2s"}, 2, "--batch-window 2s: want 0 to 1s"},
		{[]string{"run", "--backlog-wait", "soon"}, 2, `invalid value "soon" for flag -backlog-wait`},
		{[]string{"run", "--output", "frob"}, 2, `--output "frob": want one of`},
		{[]string{"run", "--backlog-limit", "-1"}, 2, `invalid value "-1" for flag -backlog-limit`},
		{[]string{"run", "--backlog-limit", "100"}, 2, "--backlog-limit 100: want 8192"},
		{[]string{"run", "--receive-buffer-mib", "0"}, 2, "--receive-buffer-mib 0"},
		{[]string{"run", "--cache-size", "1"}, 2, "--cache-size 1"},
		{[]string{"run", "--log-level", "loud"}, 2, `--log-level "loud"`},
		{[]string{"run", "--audit-key", "a b"}, 2, `invalid value "a b" for flag -audit-key: want 1-256 characters`},
		{[]string{"run", "--rules-dir", f.events}, 2, "not a directory"},
		{[]string{"run", "--rules-dir", filepath.Join(f.dir, "missing")}, 2, "missing: no such file or directory"},
		// run: --config
		{[]string{"run", "--config", f.dir}, 2, "a directory"},
		{[]string{"run", "--config", "/dev/zero"}, 2, "/dev/zero: a device"},
		{[]string{"run", "--config", f.binary}, 2, "binary (a NUL byte)"},
		{[]string{"run", "--config", f.hugeConfig}, 2, "larger than 65536 bytes"},
		{[]string{"run", "--config", filepath.Join(f.dir, "missing.conf")}, 2, "no such file"},
		// A value refused after the file is read is named by its line.
		{[]string{"run", "--config", f.badConfig}, 2, `config ` + f.badConfig + `:1: output "frob": want one of`},
		{[]string{"run", "--config", f.badWindow}, 2, `config ` + f.badWindow + `:2: batch-window 5s: want 0 to 1s`},
		// run: rules that do not compile fail it before audit (runtime: 1)
		{[]string{"run", "--output", "stdout", "--rules-dir", filepath.Dir(f.badRule)}, 1, "bad.toml"},

		// rules
		{[]string{"rules"}, 2, "want a command"},
		{[]string{"rules", "frob"}, 2, `unknown command "frob"`},
		{[]string{"rules", "list", "--frob"}, 2, "-frob"},
		{[]string{"rules", "list", "now"}, 2, `unexpected argument "now"`},
		{[]string{"rules", "list", "--rules-dir", f.events}, 2, "not a directory"},
		{[]string{"rules", "list", "--rules-dir", filepath.Join(f.dir, "missing")}, 2, "no such file or directory"},
		{[]string{"rules", "check"}, 2, "no FILE given"},
		{[]string{"rules", "check", "--json", f.goodRule}, 2, "-json"},
		{[]string{"rules", "check", f.dir}, 1, "a directory, not a rule file"},
		{[]string{"rules", "check", "/dev/zero"}, 1, "a device, not a rule file"},
		{[]string{"rules", "check", filepath.Join(f.dir, "missing.toml")}, 1, "no such file"},
		{[]string{"rules", "check", f.binary}, 1, "binary.toml:1:1:"},
		{[]string{"rules", "check", f.hugeRule}, 1, "larger than a rule file can be"},
		{[]string{"rules", "check", f.badRule}, 1, "bad.toml:"},
		{[]string{"rules", "test"}, 2, "want --events"},
		{[]string{"rules", "test", "--events"}, 2, "needs an argument: -events"},
		{[]string{"rules", "test", "--events", f.events}, 2, "want --events EVENTS.jsonl and at least one RULEFILE"},
		{[]string{"rules", "test", "--events", filepath.Join(f.dir, "missing"), f.goodRule}, 1, "no such file"},
		{[]string{"rules", "test", "--events", f.dir, f.goodRule}, 1, "is a directory"},
		{[]string{"rules", "test", "--events", f.binary, f.goodRule}, 1, "binary.toml:1:"},
		{[]string{"rules", "test", "--events", "/dev/zero", f.goodRule}, 1, "/dev/zero:"},
		{[]string{"rules", "test", "--events", f.events, f.dir}, 1, "a directory, not a rule file"},

		// status, cleanup, selftest
		{[]string{"status", "--frob"}, 2, "-frob"},
		{[]string{"status", "now"}, 2, `unexpected argument "now"`},
		{[]string{"status", "--json=maybe"}, 2, `invalid boolean value "maybe"`},
		{[]string{"status", "--audit-key", ""}, 2, `invalid value "" for flag -audit-key`},
		{[]string{"cleanup", "--frob"}, 2, "-frob"},
		{[]string{"cleanup", "now"}, 2, `unexpected argument "now"`},
		{[]string{"cleanup", "--audit-key", ""}, 2, `invalid value "" for flag -audit-key`},
		{[]string{"cleanup", "--audit-key", `a"b`}, 2, `invalid value "a\"b" for flag -audit-key`},
		{[]string{"cleanup", "--audit-key"}, 2, "needs an argument: -audit-key"},
		{[]string{"selftest", "--frob"}, 2, "-frob"},
		{[]string{"selftest", "now"}, 2, `unexpected argument "now"`},
		{[]string{"selftest", "--timeout", "-1s"}, 2, "--timeout -1s: want 1ns to 5m"},
		{[]string{"selftest", "--timeout", "0"}, 2, "--timeout 0s"},
		{[]string{"selftest", "--timeout", "6m"}, 2, "--timeout 6m0s"},
	}
}

// runCLI runs the binary with args, as uid (0 or nobody), and returns its
// exit code, stdout, stderr and, as root, the socket calls it made (under
// strace).
func runCLI(t *testing.T, uid uint32, args ...string) (code int, stdout, stderr, sockets string) {
	t.Helper()
	trace := filepath.Join(t.TempDir(), "strace")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "strace", append([]string{"-f", "-qq", "-e", "trace=socket", "-o", trace, sensorBin}, args...)...)
	if uid != 0 {
		cmd = exec.CommandContext(ctx, sensorBin, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	}
	// A refusal that went missing would start a sensor: stop it as a
	// service manager would, so it removes its audit rules.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Errorf("%q: still running after 20s (stopped with SIGTERM)", args)
		code = -1
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%q: %v", args, err)
	}
	if uid != 0 {
		return code, out.String(), errb.String(), ""
	}
	tr, err := os.ReadFile(trace)
	if err != nil {
		t.Fatalf("%q: strace wrote nothing: %v", args, err)
	}
	return code, out.String(), errb.String(), string(tr)
}

// checkNoPanic fails on a Go panic or runtime trace in the output.
func checkNoPanic(t *testing.T, args []string, out string) {
	t.Helper()
	for _, s := range []string{"panic:", "goroutine ", "runtime error", "[signal "} {
		if strings.Contains(out, s) {
			t.Errorf("%q: %q in the output:\n%s", args, s, out)
		}
	}
}

func TestCLIBadInput(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "strace")
	// The control: a valid status (read-only) opens the audit socket, so
	// strace shows what the refusals below must not do.
	if code, _, stderr, sockets := runCLI(t, 0, "status"); code != 0 || !strings.Contains(sockets, "NETLINK_AUDIT") {
		t.Fatalf("status: exit %d (%s), and strace saw no audit socket:\n%s", code, stderr, sockets)
	}
	f := makeCLIFiles(t)
	for _, c := range badInputCases(f) {
		code, stdout, stderr, sockets := runCLI(t, 0, c.args...)
		checkNoPanic(t, c.args, stdout+stderr)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		switch {
		case code != c.code:
			t.Errorf("%q: exit %d, want %d; stderr:\n%s", c.args, code, c.code, stderr)
		case !strings.Contains(last, c.want):
			t.Errorf("%q: stderr's last line %q does not say %q", c.args, last, c.want)
		case len(lines) != 1 && !(c.code == 1 && c.args[0] == "run"):
			// run logs the failure (slog JSON on stderr) before its line.
			t.Errorf("%q: %d lines on stderr, want one:\n%s", c.args, len(lines), stderr)
		case strings.Contains(sockets, "NETLINK_AUDIT"):
			t.Errorf("%q: refused after opening an audit socket:\n%s", c.args, sockets)
		}
		if c.code == 2 && stdout != "" {
			t.Errorf("%q: a usage error wrote to stdout:\n%s", c.args, stdout)
		}
	}
}

// TestCLIBadInputNotRoot: the command line is checked before the root
// check, so as nobody the same mistakes get the same answers (and no
// "must run as root").
func TestCLIBadInputNotRoot(t *testing.T) {
	testenv.RequireRoot(t) // to become nobody
	for _, c := range badInputCases(cliFiles{}) {
		if c.code != 2 || !slices.Contains([]string{"run", "status", "cleanup", "selftest"}, c.args[0]) ||
			slices.Contains(c.args, "--config") || slices.Contains(c.args, "--rules-dir") {
			continue // only flag mistakes of the root-only commands, without files
		}
		code, _, stderr, _ := runCLI(t, 65534, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "root") {
			t.Errorf("as nobody %q: exit %d, stderr %q; want exit 2 saying %q", c.args, code, stderr, c.want)
		}
	}
}

// TestCLIHelp: every command's --help (and help COMMAND) says what it
// does, lists every flag with its default, gives an example, on stdout,
// exit 0.
func TestCLIHelp(t *testing.T) {
	testenv.RequireTool(t, "strace")
	flagSets := map[string]*flag.FlagSet{
		"run":         runFlags().fs,
		"selftest":    selftestFlags().fs,
		"rules list":  rulesListFlags().FlagSet,
		"rules check": rulesCheckFlags().FlagSet,
		"rules test":  rulesTestFlags().FlagSet,
		"status":      statusFlags().fs,
		"cleanup":     cleanupFlags().fs,
	}
	for name, fs := range flagSets {
		words := strings.Fields(name)
		for _, args := range [][]string{
			append(append([]string{}, words...), "--help"),
			append(append([]string{}, words...), "-h"),
			append([]string{"help"}, words...),
		} {
			code, stdout, stderr, _ := runCLI(t, 0, args...)
			checkNoPanic(t, args, stdout+stderr)
			if code != 0 || stderr != "" {
				t.Errorf("%q: exit %d, stderr %q; want 0 and nothing", args, code, stderr)
			}
			for _, want := range []string{"Usage: aptsentinel " + name, "Example", "Exit codes:"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("%q does not say %q:\n%s", args, want, stdout)
				}
			}
			fs.VisitAll(func(fl *flag.Flag) {
				want := "  --" + fl.Name + " (default " + `"` + fl.DefValue + `")`
				if fl.DefValue == "false" {
					want = "  --" + fl.Name
				}
				if !strings.Contains(stdout, want+"\n      "+fl.Usage+"\n") {
					t.Errorf("%q: flag --%s is not listed as %q with its usage:\n%s", args, fl.Name, want, stdout)
				}
			})
		}
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"help", "rules"}, {"rules", "--help"}} {
		code, stdout, stderr, _ := runCLI(t, 0, args...)
		if code != 0 || stderr != "" || !strings.Contains(stdout, "Usage:") || !strings.Contains(stdout, "Example") {
			t.Errorf("%q: exit %d, stderr %q, stdout:\n%s", args, code, stderr, stdout)
		}
	}
	// Nothing at all is a usage error: the overview on stderr, exit 2.
	if code, stdout, stderr, _ := runCLI(t, 0); code != 2 || stdout != "" || !strings.Contains(stderr, "Usage:") {
		t.Errorf("no arguments: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
