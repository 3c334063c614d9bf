package sensor

import (
	"log/slog"
	"time"
)

// Config configures Run. Zero values take the defaults noted.
type Config struct {
	Output AlertWriter  // required
	Logger *slog.Logger // default: slog.Default()
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
	// ParentWait bounds how long an audit event waits for a fork event from
	// the proc connector when its process or parent is unknown (default 50ms).
	ParentWait time.Duration
	// ProcRoot and HostRoot locate /proc and the root holding etc/machine-id
	// (defaults "/proc" and "/"); tests point them elsewhere.
	ProcRoot, HostRoot string
	// Version is the sensor's version, written in the start log.
	Version string
	// OnLoss, when set, gets every LossReport (on the event loop: it must
	// not block): at most one a minute while losses go on, and the final
	// one at stop. The reports are logged either way.
	OnLoss func(LossReport)
	// ReadyTimeout bounds the wait for the first audit event at start
	// (default 5s): a sensor whose events do not flow must not say ready.
	ReadyTimeout time.Duration
}

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
