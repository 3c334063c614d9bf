// Command auditstate prints the kernel audit state that an install of
// packages, and the test suite, must leave as they found it: the audit
// PID, the enabled flag, the failure action, the rate and backlog limits,
// the backlog wait time, and every rule (one line each, as hex of the wire
// form, which needs no auditctl). .ci/install-deps compares it before and
// after apt-get (Debian's auditd package would load its rules and take the
// audit PID if its service started); .ci/test before and after the tests.
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
	fmt.Printf("audit pid %d, enabled %d, failure %d, rate_limit %d, backlog_limit %d, backlog_wait_time %d, %d rules\n",
		st.PID, st.Enabled, st.Failure, st.RateLimit, st.BacklogLimit, st.BacklogWaitTime, len(rules))
	for _, r := range rules {
		fmt.Printf("rule key=%q %s\n", r.Key(), hex.EncodeToString(r.Wire))
	}
}
