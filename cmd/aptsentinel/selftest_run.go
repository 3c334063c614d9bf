package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
)

// selftest is one run of `aptsentinel selftest`.
type selftest struct {
	timeout time.Duration // for the alert, counted from the connect()
	verbose io.Writer     // steps and in-process sensor logs; nil: quiet
	stderr  io.Writer     // warnings, and alerts not raised by the test
	// journalArgs are extra journalctl arguments (tests point it at their
	// own journal with --directory).
	journalArgs []string
}

func (st *selftest) logf(format string, args ...any) {
	if st.verbose != nil {
		fmt.Fprintf(st.verbose, "selftest: "+format+"\n", args...)
	}
}

// run picks the sensor to check, stages the trigger, waits for the alert
// and removes what it staged. An error is the FAIL reason.
func (st *selftest) run(ctx context.Context) (selftestResult, error) {
	status, err := audit.GetStatus()
	if err != nil {
		return selftestResult{}, fmt.Errorf("reading the kernel's audit status: %w", err)
	}
	if status.Enabled == 2 && status.PID == 0 {
		return selftestResult{}, errors.New("kernel audit is locked (auditctl -e 2) and no sensor runs: the sensor cannot install its rules until reboot")
	}
	holder, err := findHolder("/proc", status.PID)
	if err != nil {
		return selftestResult{}, err
	}
	switch {
	case holder.pid == 0:
		st.logf("no audit daemon runs: starting an in-process sensor")
		return st.runInProcess(ctx)
	case !holder.isSensor:
		return selftestResult{}, fmt.Errorf("the kernel's audit PID is held by pid %d (%s, %s), not by aptsentinel: "+
			"that audit daemon gets the audit records, so no aptsentinel sensor can run; nothing was staged",
			holder.pid, holder.comm, holder.exe)
	default:
		st.logf("sensor running: pid %d (%s), alerts to %s", holder.pid, holder.exe, holder.output)
		return st.runAgainstService(ctx, holder)
	}
}

// trigger stages the chain, runs it and removes the staging directory.
func (st *selftest) trigger(ctx context.Context) (triggerReport, error) {
	stg, err := newStage()
	if err != nil {
		return triggerReport{}, err
	}
	st.logf("staged %s", stg.dir)
	defer func() {
		if err := stg.remove(); err != nil {
			st.logf("removing %s: %v", stg.dir, err)
		}
	}()
	rep, err := stg.run(ctx)
	if err != nil {
		return rep, err
	}
	st.logf("trigger: apt pid %d, shell pid %d, connector pid %d, connect() to %s at %s: %s",
		rep.aptPID, rep.shellPID, rep.connectPID, rep.dest, rep.connectAt.Format(time.RFC3339Nano), rep.errno)
	return rep, nil
}

// timeoutErr is the FAIL reason when no alert came in time.
func timeoutErr(timeout time.Duration, rep triggerReport) error {
	return fmt.Errorf("no alert within --timeout %s of the connect() to %s by pid %d (child of the staged shell pid %d, run by the staged apt pid %d)",
		timeout, rep.dest, rep.connectPID, rep.shellPID, rep.aptPID)
}

// errInterrupted is the FAIL reason after SIGINT or SIGTERM.
var errInterrupted = errors.New("interrupted by a signal; everything staged was removed")
