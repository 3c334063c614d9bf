package selftest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/sensor"
)

// Config configures Run.
type Config struct {
	// Timeout bounds the wait for the alert, counted from the connect().
	Timeout time.Duration
	// Verbose writes each step and the in-process sensor's logs to Stderr.
	Verbose bool
	// Stderr gets warnings, and alerts not raised by the test.
	Stderr io.Writer
	// Version is written in the in-process sensor's logs.
	Version string
	// SensorOutput tells where a running sensor writes its alerts
	// ("journald", "stdout") from its arguments after "run": the binary
	// knows its own flags and config file. Nil: not known.
	SensorOutput func(runArgs []string) (string, error)
	// ServiceUnit is the systemd unit the sensor runs as; journal entries
	// from it are the sensor's (default "aptsentinel.service").
	ServiceUnit string
	// JournalArgs are extra journalctl arguments (tests point it at their
	// own journal with --directory).
	JournalArgs []string
	// ProcRoot is /proc (tests point it at a fixture tree).
	ProcRoot string
	// StatusPath is the running sensor's status file (default
	// sensor.StatusPath); it finds the sensor in every mode.
	StatusPath string
}

// Result is a passed self-test.
type Result struct {
	// Latency runs from just before connect() to the alert.
	Latency time.Duration
	// Sensor says which sensor raised it: "in-process" (beside another
	// audit PID holder: "in-process, reading the audit multicast group
	// beside pid N COMM") or "service pid N".
	Sensor string
}

// String is the PASS line's text after "PASS: ".
func (r Result) String() string {
	return fmt.Sprintf("alert raised %s after connect() (sensor: %s)", RoundLatency(r.Latency), r.Sensor)
}

// selftest is one run.
type selftest struct {
	Config
	verbose io.Writer // Stderr when Verbose, else nil
}

// Run picks the sensor to check, stages the trigger, waits for the alert
// and removes what it staged. An error is the FAIL reason. It must run as
// root.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	// The in-process sensor writes to stderr from its own goroutines.
	cfg.Stderr = &lockedWriter{w: cfg.Stderr}
	if cfg.ServiceUnit == "" {
		cfg.ServiceUnit = "aptsentinel.service"
	}
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = "/proc"
	}
	if cfg.StatusPath == "" {
		cfg.StatusPath = sensor.StatusPath
	}
	st := &selftest{Config: cfg}
	if cfg.Verbose {
		st.verbose = cfg.Stderr
	}
	return st.run(ctx)
}

func (st *selftest) logf(format string, args ...any) {
	if st.verbose != nil {
		fmt.Fprintf(st.verbose, "selftest: "+format+"\n", args...)
	}
}

func (st *selftest) run(ctx context.Context) (Result, error) {
	// A running sensor wherever it reads from (audit PID, or the multicast
	// group beside auditd) says so in its status file.
	h, mode, ok, err := findRunning(st.ProcRoot, st.StatusPath, st.SensorOutput)
	if err != nil {
		return Result{}, err
	}
	if ok {
		st.logf("sensor running (%s): pid %d (%s), mode %s, alerts to %s", st.StatusPath, h.pid, h.exe, mode, h.output)
		return st.runAgainstService(ctx, h)
	}
	status, err := audit.GetStatus()
	if err != nil {
		return Result{}, fmt.Errorf("reading the kernel's audit status: %w", err)
	}
	holder, err := findHolder(st.ProcRoot, status.PID, st.SensorOutput)
	if err != nil {
		return Result{}, err
	}
	how, err := choose(status.Enabled, holder, hasCapability(st.ProcRoot, capAuditRead))
	if err != nil {
		return Result{}, err
	}
	switch how {
	case service:
		st.logf("sensor running: pid %d (%s), alerts to %s", holder.pid, holder.exe, holder.output)
		return st.runAgainstService(ctx, holder)
	case inProcessBeside:
		st.logf("audit PID held by pid %d (%s, %s), no sensor runs: starting an in-process sensor that reads the audit multicast group beside it",
			holder.pid, holder.comm, holder.exe)
		res, err := st.runInProcess(ctx)
		if err == nil {
			res.Sensor = fmt.Sprintf("in-process, reading the audit multicast group beside pid %d %s", holder.pid, holder.comm)
		}
		return res, err
	default:
		st.logf("no audit daemon runs: starting an in-process sensor")
		return st.runInProcess(ctx)
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

// ErrInterrupted is the FAIL reason after SIGINT or SIGTERM (ctx done).
var ErrInterrupted = errors.New("interrupted by a signal; everything staged was removed")

// RoundLatency keeps three significant digits: 4.213ms, 12.1ms, 1.02s.
func RoundLatency(d time.Duration) time.Duration {
	for unit := time.Duration(1); unit < time.Second; unit *= 10 {
		if d < 1000*unit {
			return d.Round(unit)
		}
	}
	return d.Round(10 * time.Millisecond)
}

// serviceName says which sensor raised the alert.
func serviceName(pid uint32) string { return "service pid " + strconv.FormatUint(uint64(pid), 10) }

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write writes p to w, one writer at a time.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
