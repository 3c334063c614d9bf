// Command aptsentinel is a host sensor that catches APT package-manager
// backdoors as they happen. See `aptsentinel help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `aptsentinel - catch APT package-manager backdoors as they happen

Usage:
  aptsentinel run [flags]     run the sensor in the foreground (root)
  aptsentinel selftest        prove the detection chain on this host (root)
  aptsentinel cleanup         remove what a killed sensor left in the kernel (root)
  aptsentinel status [--json] show the audit state, the sensor's mode and losses (root)
  aptsentinel rules list|check|test   list, check and try rule files
  aptsentinel version         print the version
  aptsentinel help [command]  show help

aptsentinel reads the kernel audit stream (execve and connect), rebuilds the
process tree and raises an alert when apt runs "sh -c" whose child attempts a
network connection within 5 seconds - Elastic's rule "Suspicious APT Package
Manager Network Connection" (eaef8a35-12e0-4ac0-bc14-81c72b6bd27c, v10).

Run "aptsentinel help COMMAND" for a command's flags.

Examples:
  aptsentinel selftest
  aptsentinel run --output stdout
  aptsentinel status --json

Exit codes: 0 done, 1 failed, 2 bad usage.
`

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// realMain runs the command line and returns the exit code: 0 success,
// 1 failure, 2 bad usage.
func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		return runCommand(ctx, rest, stdout, stderr)
	case "cleanup":
		return cleanupCommand(rest, stdout, stderr)
	case "status":
		return statusCommand(rest, stdout, stderr)
	case "rules":
		return rulesCommand(rest, stdout, stderr)
	case "selftest":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		return selftestCommand(ctx, rest, stdout, stderr)
	case "version", "--version":
		if len(rest) > 0 {
			fmt.Fprintf(stderr, "aptsentinel version: unexpected argument %q (version takes none)\n", rest[0])
			return 2
		}
		fmt.Fprintf(stdout, "aptsentinel %s\n", version)
		return 0
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 || rest[0] == "help" || rest[0] == "version" {
			fmt.Fprint(stdout, usage)
			return 0
		}
		switch rest[0] {
		case "run", "selftest", "cleanup", "status", "rules":
			// `help rules list` is `rules list --help`.
			return realMain(append(slices.Clone(rest), "--help"), stdout, stderr)
		}
		fmt.Fprintf(stderr, "aptsentinel help: unknown command %q (see \"aptsentinel help\")\n", rest[0])
		return 2
	default:
		fmt.Fprintf(stderr, "aptsentinel: unknown command %q (see \"aptsentinel help\")\n", cmd)
		return 2
	}
}

// exitCode maps an error from a command to the process exit code.
func exitCode(err error) int {
	var u usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u):
		return 2
	default:
		return 1
	}
}

// usageError is an error in the command line, not in the host.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }
