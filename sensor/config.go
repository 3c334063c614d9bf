package sensor

import (
	"log/slog"
	"time"

	"github.com/aptsentinel/aptsentinel/rules"
)

// MatchWriter takes the sensor's rule matches: the alert stage
// (*alert.Stage) builds each one's alert document and delivers it. It is
// called from the event loop, so it must not block for long.
type MatchWriter interface {
	WriteMatch(m rules.Match, host Host) error
}

// Config configures Run. Zero values take the defaults noted.
type Config struct {
	Output MatchWriter  // required
	Logger *slog.Logger // default: slog.Default()
	// Ready, if set, is called once, from the event loop, when the
	// readiness probe came back: rules are installed and audit events flow
	// through the whole pipeline (the moment of the "ready" log record).
	// It must return quickly; the self-test uses it to start its trigger.
	Ready func()
	// Notify, if set, sends a state to the service manager (sd_notify(3);
	// internal/sdnotify): "READY=1" at ready and, with Watchdog,
	// "WATCHDOG=1" from each turn of the event loop's one-second tick.
	Notify   func(state string) error
	Watchdog bool
	// CacheSize bounds the process cache (default DefaultCacheSize).
	CacheSize int
	// AuditKey is the key of the audit rules installed (default "aptsentinel").
	AuditKey string
	// BacklogLimit is the kernel audit backlog limit to set (default 8192).
	BacklogLimit uint32
	// ReceiveBuffer is the audit data socket's receive buffer in bytes.
	ReceiveBuffer int
	// BacklogWait bounds how long an audited syscall waits on a full
	// kernel backlog (default audit.DefaultBacklogWait); negative means no
	// wait: records are dropped (and counted) instead.
	BacklogWait time.Duration
	// BatchWindow is how long, while records keep coming, a read of the
	// audit sockets waits so that one wake-up takes many events (default
	// DefaultBatchWindow; negative: none, every record is read as it
	// comes). It adds up to that much to an alert's latency; an event
	// after a calm is read at once. The proc connector's events are read
	// with the audit socket's.
	BatchWindow time.Duration
	// ParentWait bounds how long an audit event whose process is unknown is
	// held for its fork event from the proc connector (default 50ms); the
	// event loop itself never waits.
	ParentWait time.Duration
	// ProcRoot and HostRoot locate /proc and the root holding etc/machine-id
	// (defaults "/proc" and "/"); tests point them elsewhere.
	ProcRoot, HostRoot string
	// Version is the sensor's version, written in the start log.
	Version string
	// Rules are the rules to run (default: the shipped rules).
	Rules []*rules.Rule
	// Lateness is the rules engine's allowed lateness of events (default
	// rules.DefaultLateness; rules.NoLateness for none).
	Lateness time.Duration
	// Reload delivers new rule sets (on SIGHUP); the event loop swaps them
	// in without touching audit, keeping the pending sequences of rules that
	// did not change. Nil: no reloads.
	Reload <-chan []*rules.Rule
	// OnLoss, when set, gets every LossReport (on the event loop: it must
	// not block): at most one a minute while losses go on, and the final
	// one at stop. The reports are logged either way.
	OnLoss func(LossReport)
	// AdaptProcs lets the sensor set GOMAXPROCS for the whole process: one
	// P while the host is calm, all of them while records pile up
	// (procs.go). For the aptsentinel binary, not for a program that
	// embeds the sensor beside other work.
	AdaptProcs bool
	// ReadyTimeout bounds the wait for the first audit event at start
	// (default 5s): a sensor whose events do not flow must not say ready.
	ReadyTimeout time.Duration
}

// DefaultBatchWindow is the default Config.BatchWindow (README, "Cost and
// losses", has the figures it was chosen by).
const DefaultBatchWindow = 50 * time.Millisecond

// batchWindow is BatchWindow for the sockets: 0 for none.
func (c *Config) batchWindow() time.Duration { return max(c.BatchWindow, 0) }

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.AuditKey == "" {
		c.AuditKey = "aptsentinel"
	}
	if c.BacklogLimit == 0 {
		c.BacklogLimit = 8192
	}
	if c.BatchWindow == 0 {
		c.BatchWindow = DefaultBatchWindow
	}
	if c.ParentWait == 0 {
		c.ParentWait = 50 * time.Millisecond
	}
	if c.ProcRoot == "" {
		c.ProcRoot = "/proc"
	}
	if c.HostRoot == "" {
		c.HostRoot = "/"
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = 5 * time.Second
	}
}
