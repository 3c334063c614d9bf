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

// RestoreSettings puts the enabled flag, backlog limit and backlog wait
// time back to their values in found (a status read earlier), changing only
// those that differ. Cleanup leaves them alone because it cannot know their
// old values; a caller that does (a test around a killed sensor, an
// operator script) puts them back with this. A found enabled flag of 2
// (locked) is refused: locking cannot be undone until reboot.
func RestoreSettings(found Status) error {
	if found.Enabled > enabledOn {
		return fmt.Errorf("audit: restore enabled %d: want 0 or 1 (2 locks audit until reboot)", found.Enabled)
	}
	c, err := dialClient()
	if err != nil {
		return err
	}
	defer c.close()
	now, err := c.status()
	if err != nil {
		return err
	}
	var errs []error
	if now.Enabled != found.Enabled {
		errs = append(errs, c.set(Status{Mask: statusEnabled, Enabled: found.Enabled}, "enabled"))
	}
	if now.BacklogLimit != found.BacklogLimit {
		errs = append(errs, c.set(Status{Mask: statusBacklogLimit, BacklogLimit: found.BacklogLimit}, "backlog limit"))
	}
	if found.HasBacklogWaitTime() && now.BacklogWaitTime != found.BacklogWaitTime {
		errs = append(errs, c.set(Status{Mask: statusBacklogWaitTime, BacklogWaitTime: found.BacklogWaitTime}, "backlog wait time"))
	}
	return errors.Join(errs...)
}

// SetEnabled sets the kernel's audit enabled flag (0 off, 1 on) and nothing
// else: what journald's Audit=no does at its start. Tests use it to turn
// audit off under a running sensor.
func SetEnabled(enabled uint32) error {
	if enabled > enabledOn {
		return fmt.Errorf("audit: set enabled %d: want 0 or 1 (2 locks audit until reboot)", enabled)
	}
	c, err := dialClient()
	if err != nil {
		return err
	}
	defer c.close()
	return c.set(Status{Mask: statusEnabled, Enabled: enabled}, "enabled")
}
