// Command auditstate prints the kernel audit state an install of packages
// must not change: the audit PID, the enabled flag and every rule (as
// auditctl would list them, one line each, as hex of the wire form, which
// needs no auditctl). .ci/install-deps compares it before and after
// apt-get: Debian's auditd package would load its rules and take the audit
// PID if its service started.
package main

import (
	"encoding/hex"
	"fmt"
	"os"

	"github.com/aptsentinel/aptsentinel/audit"
)

func main() {
	st, err := audit.GetStatus()
	if err != nil {
		fmt.Fprintln(os.Stderr, "auditstate:", err)
		os.Exit(1)
	}
	rules, err := audit.ListRules()
	if err != nil {
		fmt.Fprintln(os.Stderr, "auditstate:", err)
		os.Exit(1)
	}
	fmt.Printf("audit pid %d, enabled %d, %d rules\n", st.PID, st.Enabled, len(rules))
	for _, r := range rules {
		fmt.Printf("rule key=%q %s\n", r.Key(), hex.EncodeToString(r.Wire))
	}
}
