package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/aptsentinel/aptsentinel/audit"
)

const cleanupUsage = `Usage: aptsentinel cleanup [--audit-key KEY]

Removes what a sensor that did not stop cleanly (killed with SIGKILL, or a
crash) left in the kernel: the audit rules with the key, and the audit PID
when the process holding it is gone. A running sensor or another live audit
daemon is left alone. The audit enabled flag is not changed. Safe to run when
there is nothing to do; the package's prerm runs it. Needs root.

Flags:
`

const cleanupTail = `
Example:
  systemctl stop aptsentinel; aptsentinel cleanup

Exit codes: 0 done (or nothing to do), 1 failed, 2 bad usage.
`

// cleanupOptions are the flags of `aptsentinel cleanup`.
type cleanupOptions struct {
	fs  *flag.FlagSet
	key string
}

func cleanupFlags() *cleanupOptions {
	o := &cleanupOptions{fs: newFlagSet("cleanup")}
	auditKeyVar(o.fs, &o.key, "key of the rules to remove")
	return o
}

func (o *cleanupOptions) usage(w io.Writer) { writeHelp(w, o.fs, cleanupUsage, cleanupTail) }

func cleanupCommand(args []string, stdout, stderr io.Writer) int {
	o := cleanupFlags()
	if err := parseFlags(o.fs, args, false); err != nil {
		return flagsDone(err, "cleanup", o.usage, stdout, stderr)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "aptsentinel cleanup: must run as root: it deletes kernel audit rules (CAP_AUDIT_CONTROL)")
		return 1
	}
	res, err := audit.Cleanup(o.key)
	if err != nil {
		fmt.Fprintf(stderr, "aptsentinel cleanup: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "removed %d audit rules with key %q\n", res.RulesDeleted, o.key)
	if res.StalePID != 0 {
		fmt.Fprintf(stdout, "released the audit PID of pid %d, which is gone\n", res.StalePID)
	}
	if res.Holder != nil {
		fmt.Fprintf(stdout, "left the audit PID with the live pid %d (%s)\n", res.Holder.PID, res.Holder.Comm)
	}
	return 0
}
