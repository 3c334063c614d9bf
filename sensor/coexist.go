package sensor

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/procfs"
)

// StatusPath is where a running sensor keeps its state for `aptsentinel
// status` and selftest: mode, audit PID, loss counters. It is rewritten
// every few seconds and removed when the sensor stops.
const StatusPath = "/run/aptsentinel/status.json"

// statusEvery is how often the status file is rewritten.
const statusEvery = 5 * time.Second

// StatusFile is the content of StatusPath.
type StatusFile struct {
	PID      int        `json:"pid"`
	Version  string     `json:"version"`
	Started  time.Time  `json:"started"`
	Updated  time.Time  `json:"updated"`
	AuditKey string     `json:"audit_key"`
	Mode     audit.Mode `json:"mode"`
	// Losses are the sensor's loss counters at the last health record
	// (every 30 s), since the sensor started.
	Losses   losses               `json:"losses"`
	Coexist  audit.CoexistStats   `json:"coexist"`
	Coverage []audit.NeedCoverage `json:"coverage"`
}

// watchDaemon hands the audit PID over when the exec of an audit daemon
// shows up on the proc connector: auditd asks for the PID only after
// reading its configuration (and, as a daemon, after forking), so the
// exec is the early warning. It runs on the goroutine that read the exec
// event (an audit socket's, reading the proc connector after each of its
// reads), ahead of the event loop, to win that race.
func (s *sensor) watchDaemon(e procfs.Exec) {
	exe, ok := s.daemons.Is(e.PID)
	if !ok {
		return
	}
	start := time.Now()
	done, err := s.sess.HandOver()
	took := time.Since(start)
	if err != nil {
		s.log.Error("handing the audit PID over to a starting auditd", "auditd_pid", e.PID, "err", err.Error())
	}
	if done {
		s.log.Info("auditd is starting: audit PID handed over, reading the audit multicast group beside it",
			"auditd_pid", e.PID, "exe", exe, "exec_time", e.Time, "handover_took", took.String())
		// The status reads the loop's counters: take the loop's lock
		// (nobody waits on this goroutine while holding it).
		s.mu.Lock()
		s.writeStatus()
		s.mu.Unlock()
	}
}

// watchDaemonOpens makes the audit sockets' reads (and with them the proc
// connector's) take no batch window for a second whenever auditd's
// executable is opened: an exec opens it first, so auditd's exec event
// then reaches watchDaemon at once, not up to a window later, when auditd
// may already have asked for the audit PID and been refused (the kernel
// refuses a new PID while the sensor's socket is healthy).
func (s *sensor) watchDaemonOpens(ctx context.Context) {
	err := s.daemons.WatchOpens(ctx, func() { s.sess.Hurry(time.Second) })
	if err != nil {
		s.log.Warn("not watching auditd's executable: a starting auditd may find the audit PID taken", "err", err.Error())
	}
}

// writeStatus writes StatusPath (atomically: a reader never sees half).
func (s *sensor) writeStatus() {
	// The kernel's counter runs since boot; the status counts since start.
	ls := s.lossesSeen
	ls.KernelLost -= min(ls.KernelLost, s.kernelLostAtStart)
	st := StatusFile{
		PID: os.Getpid(), Version: s.cfg.Version, Started: s.started, Updated: time.Now(),
		AuditKey: s.cfg.AuditKey, Mode: s.sess.Mode(), Losses: ls,
		Coexist: s.sess.CoexistStats(), Coverage: s.sess.Coverage(),
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return
	}
	dir := filepath.Dir(StatusPath)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.log.Debug("status file", "err", err.Error())
		return
	}
	tmp := StatusPath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		s.log.Debug("status file", "err", err.Error())
		return
	}
	if err := os.Rename(tmp, StatusPath); err != nil {
		s.log.Debug("status file", "err", err.Error())
	}
}

// removeStatus removes StatusPath if this sensor wrote it.
func (s *sensor) removeStatus() {
	b, err := os.ReadFile(StatusPath)
	if err != nil {
		return
	}
	var st StatusFile
	if json.Unmarshal(b, &st) == nil && st.PID == os.Getpid() {
		os.Remove(StatusPath)
	}
}

// coexistTick runs after each repair and refreshes the status file. Serial
// gaps and socket overflows, the losses a multicast reader has, are in the
// sensor's loss reports (losses.go) with every other loss.
func (s *sensor) coexistTick(now time.Time) {
	if now.Sub(s.statusAt) >= statusEvery {
		s.statusAt = now
		s.writeStatus()
	}
}
