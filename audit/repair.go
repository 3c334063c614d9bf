package audit

import (
	"errors"
	"fmt"
)

// Repairs says what Repair found undone and put back.
type Repairs struct {
	Reenabled        bool // audit was disabled (enabled 0) and is on again
	RulesReinstalled int  // rules with our key were missing: all were put back
	PIDReclaimed     bool // the audit PID was released (0) and is ours again
}

// Any reports whether anything was repaired.
func (r Repairs) Any() bool { return r.Reenabled || r.RulesReinstalled > 0 || r.PIDReclaimed }

// ErrPIDTakenOver is wrapped by Repair's error when another live process
// became the audit PID: records now go to it, and the sensor is blind.
var ErrPIDTakenOver = errors.New("audit: audit PID taken over")

// Repair checks that what Open set up still holds, and puts back what
// others undid while the sensor runs: the enabled flag (systemd-journald
// writes its Audit= setting into it when it starts: on Debian 12 that turns
// audit off), the rules with our key (`auditctl -D` deletes them) and the
// audit PID when it was released. A live process that took the audit PID
// over (kernels before 4.11 let any root process do that) is not fought:
// Repair returns an error wrapping ErrPIDTakenOver and a *HolderError.
func (s *Session) Repair() (Repairs, error) {
	var r Repairs
	if s.closing.Load() {
		return r, ErrClosed
	}
	st, err := s.ctl.status()
	if err != nil {
		return r, err
	}
	switch {
	case st.PID == s.self:
	case st.PID == 0 || checkHolder(st.PID, s.procRoot) == nil:
		// Run is reading the data socket: ask without waiting for the
		// ACK, then see whether the kernel took it.
		if err := s.data.requestPID(s.self); err != nil {
			return r, fmt.Errorf("audit: reclaiming the audit PID: %w", err)
		}
		if now, err := s.ctl.status(); err != nil {
			return r, err
		} else if now.PID != s.self {
			return r, fmt.Errorf("audit: reclaiming the audit PID: the kernel has pid %d", now.PID)
		}
		r.PIDReclaimed = true
	default:
		return r, fmt.Errorf("%w: %w", ErrPIDTakenOver, checkHolder(st.PID, s.procRoot))
	}
	if st.Enabled == 0 {
		if err := s.ctl.set(Status{Mask: statusEnabled, Enabled: enabledOn}, "enabled"); err != nil {
			return r, err
		}
		r.Reenabled = true
	}
	rules, err := listKernelRules(s.ctl)
	if err != nil {
		return r, err
	}
	n := 0
	for _, kr := range rules {
		if kr.Key() == s.key {
			n++
		}
	}
	if n != len(s.wires) {
		// Order matters (the exclusion of our own pid comes first), so a
		// partial loss is repaired by installing the whole set again.
		if _, err := deleteRulesByKey(s.ctl, s.key); err != nil {
			return r, err
		}
		for _, w := range s.wires {
			if err := s.ctl.addRule(w); err != nil {
				return r, err
			}
		}
		r.RulesReinstalled = len(s.wires)
	}
	return r, nil
}
