package audit

import (
	"errors"
	"fmt"
)

// CleanupResult says what Cleanup did.
type CleanupResult struct {
	RulesDeleted int
	// StalePID is the audit PID of a dead process that was released; 0 if
	// none was.
	StalePID uint32
	// Holder is set when a live process holds the audit PID: it is left alone.
	Holder *HolderError
}

// Cleanup undoes what a sensor that could not stop cleanly (SIGKILL, a
// crash, a package removal) left behind: it deletes the rules with key, and
// releases the audit PID when the process holding it is gone. A live holder
// (a running sensor or auditd) is left alone and reported. The enabled flag
// is not touched: what it was before the sensor started is not known here.
//
// Releasing works because the kernel first tests the registered consumer
// (kernel/audit.c audit_replace) and forgets it when it is gone; kernels
// before 4.11 forget a dead consumer by themselves on the next send.
func Cleanup(key string) (CleanupResult, error) {
	var res CleanupResult
	if err := checkKey(key); err != nil {
		return res, err
	}
	c, err := dialClient()
	if err != nil {
		return res, err
	}
	defer c.close()
	st, err := c.status()
	if err != nil {
		return res, err
	}
	if st.Enabled == enabledLocked {
		return res, ErrLocked
	}
	if res.RulesDeleted, err = deleteRulesByKey(c, key); err != nil {
		return res, err
	}
	if err := checkHolder(st.PID, "/proc"); err != nil {
		var h *HolderError
		if errors.As(err, &h) {
			res.Holder = h
			return res, nil
		}
		return res, err
	}
	if st.PID != 0 {
		if err := c.set(Status{Mask: statusPID, PID: 0}, "release stale audit pid"); err != nil {
			return res, fmt.Errorf("audit: pid %d is gone but its audit PID could not be released: %w", st.PID, err)
		}
		res.StalePID = st.PID
	}
	return res, nil
}

// SetEnabled sets the kernel's audit enabled flag (0 off, 1 on). Cleanup
// leaves the flag alone because it cannot know its old value; a caller that
// does (a test, an operator script) puts it back with this.
func SetEnabled(enabled uint32) error {
	if enabled > 1 {
		return fmt.Errorf("audit: set enabled %d: want 0 or 1 (2 locks audit until reboot)", enabled)
	}
	c, err := dialClient()
	if err != nil {
		return err
	}
	defer c.close()
	return c.set(Status{Mask: statusEnabled, Enabled: enabled}, "enabled")
}
