package audit

import (
	"errors"
	"fmt"
	"time"
)

// Repairs says what Repair found undone and put back, or changed.
type Repairs struct {
	Reenabled        bool // audit was disabled (enabled 0) and is on again
	RulesReinstalled int  // rules with our key were missing: all were put back
	PIDReclaimed     bool // the audit PID was free (auditd stopped) and is ours again
	// SwitchedToMulticast: a live process took the audit PID; the session
	// reads the multicast group beside it now.
	SwitchedToMulticast bool
	// RulesMoved: holding the PID, the sensor's rules were moved ahead of
	// a rule that hid syscalls from them.
	RulesMoved bool
	// Shadowed lists needs that a rule of another hides since the last
	// Repair.
	Shadowed []NeedCoverage
	// Status is the kernel's audit status as the check read it, before
	// any repair (its Lost is the lost counter, so a caller needs no
	// second request); StatusRead is false when the check failed first.
	Status     Status
	StatusRead bool
}

// Any reports whether anything was repaired.
func (r Repairs) Any() bool {
	return r.Reenabled || r.RulesReinstalled > 0 || r.PIDReclaimed || r.SwitchedToMulticast || r.RulesMoved
}

// ErrPIDTakenOver is wrapped by Repair's error when another live process
// became the audit PID and the multicast group cannot be read (no
// CAP_AUDIT_READ): records now go to it, and the sensor is blind.
var ErrPIDTakenOver = errors.New("audit: audit PID taken over")

// Repair checks that what Open set up still holds, and puts back what
// others undid while the sensor runs: the enabled flag (systemd-journald
// writes its Audit= setting into it when it starts: on Debian 12 that turns
// audit off), the rules with our key (`auditctl -D` and `augenrules --load`
// delete them) and the audit PID when it is free (auditd stopped). A live
// process that took the audit PID (auditd, or anyone on kernels before
// 4.11) is not fought: the session reads the multicast group beside it.
// Call it about once a second: it also settles the loss counters.
func (s *Session) Repair() (Repairs, error) {
	checkAt, blindBefore := time.Now(), s.blindWindows.Load()
	s.blind.startAt(s.judgeFrom)
	r, err := s.repair()
	if err == nil && s.blindWindows.Load() == blindBefore {
		s.blind.intact(checkAt)
	}
	return r, err
}

func (s *Session) repair() (Repairs, error) {
	var r Repairs
	if s.closing.Load() {
		return r, ErrClosed
	}
	s.settle(time.Now())
	s.modeMu.Lock()
	defer s.modeMu.Unlock()
	st, err := s.ctl.status()
	if err != nil {
		return r, err
	}
	r.Status, r.StatusRead = st, true
	mode := s.Mode()
	if mode == ModeLocked {
		rules, err := listKernelRules(s.ctl)
		if err != nil {
			return r, err
		}
		r.Shadowed = s.updateCoverage(rules)
		return r, nil
	}
	switch {
	case st.PID == s.self:
		if err := s.leaveGroupIfDue(time.Now()); err != nil {
			return r, err
		}
	case st.PID == 0 || checkHolder(st.PID, s.procRoot) == nil:
		if err := s.reclaim(st); err != nil {
			return r, err
		}
		r.PIDReclaimed = true
		mode = ModeUnicast
	case mode == ModeUnicast:
		holder := checkHolder(st.PID, s.procRoot)
		if err := s.joinForTakeover(); err != nil {
			return r, fmt.Errorf("%w: %w; reading beside it: %w", ErrPIDTakenOver, holder, err)
		}
		r.SwitchedToMulticast = true
		mode = ModeMulticast
		s.log.Warn("another process took the audit PID: reading the audit multicast group beside it",
			"holder", holder.Error())
	}
	if st.Enabled == enabledOff {
		if err := s.ctl.set(Status{Mask: statusEnabled, Enabled: enabledOn}, "enabled"); err != nil {
			return r, err
		}
		r.Reenabled = true
		s.noteBlind("audit disabled", time.Time{})
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
		if _, err := s.deleteOwnRules(); err != nil {
			return r, err
		}
		for _, w := range s.wiresFor(mode) {
			if err := s.ctl.addRule(w); err != nil {
				return r, err
			}
		}
		r.RulesReinstalled = len(s.wires)
		s.noteBlind("the sensor's rules removed", time.Time{})
		if rules, err = listKernelRules(s.ctl); err != nil {
			return r, err
		}
	}
	r.Shadowed = s.updateCoverage(rules)
	// Holding the PID, the sensor's rules move ahead of a rule that hides
	// a syscall. Beside auditd the admin's never rules keep their effect.
	if len(r.Shadowed) > 0 && mode == ModeUnicast {
		if err := s.moveOwnRules(mode); err != nil {
			return r, err
		}
		r.RulesMoved = true
		if rules, err = listKernelRules(s.ctl); err != nil {
			return r, err
		}
		s.updateCoverage(rules)
	}
	return r, nil
}
