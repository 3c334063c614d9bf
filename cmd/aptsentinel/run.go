package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aptsentinel/aptsentinel/alert"
	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/rules"
	"github.com/aptsentinel/aptsentinel/sensor"
)

// runOptions are the flags of `aptsentinel run`.
type runOptions struct {
	fs            *flag.FlagSet
	config        string
	output        string
	logLevel      string
	cacheSize     int
	auditKey      string
	backlogLimit  uint
	receiveBufMiB int
	parentWait    time.Duration
	rulesDir      string
	lateness      time.Duration
	backlogWait   time.Duration
	batchWindow   time.Duration
}

const runUsage = `Usage: aptsentinel run [flags]

Runs the sensor in the foreground. It must run as root: it installs kernel
audit rules (key "aptsentinel"), becomes the audit daemon (the audit PID) and
reads every process's /proc entries. When another audit daemon (auditd)
holds the audit PID it reads the audit multicast group beside it instead,
and it hands the audit PID to an auditd that starts later.

Alerts are JSON lines (ECS field names). With --output stdout they go to
stdout and the sensor's own logs are slog JSON on stderr; with --output
journald both are journal entries (journalctl -t aptsentinel) and stderr
only reports journal delivery trouble. A log record with "msg":"ready"
(MESSAGE=ready in the journal) says rules are installed and audit events
are flowing. Rules are the shipped ones plus the files in --rules-dir; on
SIGHUP (systemctl reload) they are reloaded without touching audit, and a
file that does not compile leaves the running rules as they were. On SIGINT
or SIGTERM it removes its audit rules, releases
the audit PID, restores the audit enabled flag and exits 0.

Flags:
`

const runTail = `
Examples:
  aptsentinel run --config /etc/aptsentinel/aptsentinel.conf
  aptsentinel run --output stdout --log-level debug

Exit codes: 0 stopped by a signal, 1 failed, 2 bad usage.
`

func runFlags() *runOptions {
	o := &runOptions{fs: newFlagSet("run")}
	f := o.fs
	f.StringVar(&o.config, "config", "", "read settings from this file (\"name = value\" lines, names as these flags); flags given here win")
	f.StringVar(&o.output, "output", "auto", "where alerts and logs go: journald, stdout (alerts; logs on stderr) or auto (journald if its socket exists, else stdout)")
	f.StringVar(&o.logLevel, "log-level", "info", "least severe log level written: debug, info, warn or error")
	f.IntVar(&o.cacheSize, "cache-size", sensor.DefaultCacheSize, "processes kept in the process cache (min 64)")
	auditKeyVar(f, &o.auditKey, "key carried by the audit rules the sensor installs and removes")
	f.UintVar(&o.backlogLimit, "backlog-limit", 8192, "kernel audit backlog limit to set (never lowered; min 8192)")
	f.IntVar(&o.receiveBufMiB, "receive-buffer-mib", 8, "receive buffer of the audit socket, in MiB (1-1024)")
	f.DurationVar(&o.parentWait, "parent-wait", 50*time.Millisecond,
		"how long an event may wait for the fork event of its parent (0-1s)")
	f.StringVar(&o.rulesDir, "rules-dir", rules.LocalDir, "directory of the admins' rule files, disables and exceptions (*.toml)")
	f.DurationVar(&o.lateness, "lateness", rules.DefaultLateness,
		"how long a pending sequence waits for events stamped inside its window that arrive late (0-1h)")
	f.DurationVar(&o.backlogWait, "backlog-wait", audit.DefaultBacklogWait,
		"longest an audited syscall waits for room in a full kernel backlog before its record is dropped (0 drops at once; 0-10s)")
	f.DurationVar(&o.batchWindow, "batch-window", sensor.DefaultBatchWindow,
		"while records keep coming, how long a read waits so that one wake-up takes many events: less CPU, up to this much later an alert (0 reads each record as it comes; 0-1s)")
	return o
}

func (o *runOptions) usage(w io.Writer) { writeHelp(w, o.fs, runUsage, runTail) }

// parse parses and validates the flags; every refusal names the flag.
func (o *runOptions) parse(args []string) error {
	if err := parseFlags(o.fs, args, false); err != nil {
		return err
	}
	from := map[string]string{}
	if o.config != "" {
		var err error
		if from, err = applyConfigFile(o.fs, o.config); err != nil {
			return usageError{err.Error()}
		}
	}
	// where names a setting as its value came: --name from the command
	// line, or the config file's line.
	where := func(name string) string {
		if at, ok := from[name]; ok {
			return "config " + at + ": " + name
		}
		return "--" + name
	}
	switch {
	case !slices.Contains(alert.OutputNames, o.output):
		return usageError{fmt.Sprintf("%s %q: want one of %v", where("output"), o.output, alert.OutputNames)}
	case o.cacheSize < 64:
		return usageError{fmt.Sprintf("%s %d: want at least 64", where("cache-size"), o.cacheSize)}
	case o.backlogLimit < 8192 || o.backlogLimit > 1<<30:
		return usageError{fmt.Sprintf("%s %d: want 8192 to %d", where("backlog-limit"), o.backlogLimit, 1<<30)}
	case o.receiveBufMiB < 1 || o.receiveBufMiB > 1024:
		return usageError{fmt.Sprintf("%s %d: want 1 to 1024", where("receive-buffer-mib"), o.receiveBufMiB)}
	case o.parentWait < 0 || o.parentWait > time.Second:
		return usageError{fmt.Sprintf("%s %s: want 0 to 1s", where("parent-wait"), o.parentWait)}
	case o.lateness < 0 || o.lateness > time.Hour:
		return usageError{fmt.Sprintf("%s %s: want 0 to 1h", where("lateness"), o.lateness)}
	case o.batchWindow < 0 || o.batchWindow > time.Second:
		return usageError{fmt.Sprintf("%s %s: want 0 to 1s", where("batch-window"), o.batchWindow)}
	case o.backlogWait < 0 || o.backlogWait > 10*time.Second:
		return usageError{fmt.Sprintf("%s %s: want 0 to 10s", where("backlog-wait"), o.backlogWait)}
	}
	if _, err := parseLevel(o.logLevel); err != nil {
		return usageError{where("log-level") + " " + err.Error()}
	}
	return checkRulesDir(where("rules-dir"), o.rulesDir, rules.LocalDir)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil || strings.ContainsAny(s, "+-") {
		return 0, fmt.Errorf("%q: want debug, info, warn or error", s)
	}
	return l, nil
}

func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o := runFlags()
	if err := o.parse(args); err != nil {
		return flagsDone(err, "run", o.usage, stdout, stderr)
	}
	level, _ := parseLevel(o.logLevel)
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "aptsentinel run: must run as root: it installs kernel audit rules (CAP_AUDIT_CONTROL) and reads every process's /proc entries")
		return 1
	}
	out, err := alert.OpenOutput(alert.OutputConfig{
		Name: o.output, Level: level, Stdout: stdout, Stderr: stderr, JournalSocket: journalSocket,
	})
	if err != nil {
		fmt.Fprintf(stderr, "aptsentinel run: %v\n", err)
		return 1
	}
	defer out.Close()
	log := out.Log
	warnAuditCopy(log, "/proc")
	loadCfg := rules.LoadConfig{Dirs: []string{o.rulesDir}}
	set, err := rules.Load(loadCfg)
	if err != nil {
		log.Error("rules do not load", "err", err.Error())
		fmt.Fprintf(stderr, "aptsentinel run: rules: %v\n", err)
		return 1
	}
	logRules(log, set)
	lateness := o.lateness
	if lateness == 0 {
		lateness = rules.NoLateness
	}
	reload := make(chan []*rules.Rule, 1)
	// Catch SIGHUP before the sensor starts: its default action would kill
	// the sensor without removing its audit rules.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go reloadOnHangup(ctx, log, loadCfg, hup, reload)
	cfg := sensor.Config{
		Rules:         set.Enabled(),
		Lateness:      lateness,
		Reload:        reload,
		Output:        alert.NewStage(out.Alerts),
		Logger:        log,
		CacheSize:     o.cacheSize,
		AuditKey:      o.auditKey,
		BacklogLimit:  uint32(o.backlogLimit),
		ReceiveBuffer: o.receiveBufMiB << 20,
		ParentWait:    o.parentWait,
		BacklogWait:   noWaitIsNegative(o.backlogWait),
		BatchWindow:   noWaitIsNegative(o.batchWindow),
		Version:       version,
		// GOMAXPROCS in the environment is the operator's choice.
		AdaptProcs: os.Getenv("GOMAXPROCS") == "",
	}
	defer setupNotify(&cfg, log)()
	err = runUntilAbort(ctx, cfg, log, stderr)
	if err != nil {
		log.Error("sensor stopped", "err", err.Error())
		fmt.Fprintf(stderr, "aptsentinel run: %v\n", err)
	}
	return exitCode(err)
}

// logRules logs the loaded rule set and its warnings.
func logRules(log *slog.Logger, set *rules.Set) {
	for _, w := range set.Warnings {
		log.Warn("rule file", "warning", w.Error())
	}
	for _, r := range set.Rules {
		_, off := set.Disabled[r.ID]
		log.Info("rule loaded", "rule", r.ID, "name", r.Name, "version", r.Version, "source", r.Source,
			"enabled", !off, "exceptions", len(r.Exceptions))
	}
}

// reloadOnHangup reloads the rules on each SIGHUP and hands a set that
// compiled to the sensor; one that does not leaves the running set, and
// the log says why.
func reloadOnHangup(ctx context.Context, log *slog.Logger, cfg rules.LoadConfig, hup <-chan os.Signal, out chan<- []*rules.Rule) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		set, err := rules.Load(cfg)
		if err != nil {
			log.Error("rules not reloaded: keeping the running set", "err", err.Error())
			continue
		}
		logRules(log, set)
		select {
		case out <- set.Enabled():
		case <-ctx.Done():
			return
		}
	}
}

// noWaitIsNegative maps --backlog-wait 0 (drop at once) to the negative
// sensor.Config.BacklogWait that means it (zero there is the default).
func noWaitIsNegative(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
