package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/selftest"
	"github.com/aptsentinel/aptsentinel/sensor"
)

const statusUsage = `Usage: aptsentinel status [--json] [--audit-key KEY]

Shows the kernel's audit state as the sensor sees it: whether a sensor runs
and how it reads records (unicast: it holds the audit PID; multicast: beside
auditd; locked: audit is locked and it only reads), who holds the audit PID,
the enabled flag, whether the sensor's rules are loaded, which syscalls it
needs that the loaded rules hide, its loss counters since it started (from
` + sensor.StatusPath + `, which a running sensor rewrites every few
seconds), and every loaded rule, written as auditctl -l writes it. Changes
nothing. Needs root.

Flags:
`

const statusTail = `
Example:
  aptsentinel status --json | jq .coverage

Exit codes: 0 shown, 1 failed, 2 bad usage.
`

// statusReport is what `aptsentinel status` shows; --json writes it as is.
type statusReport struct {
	Sensor struct {
		Running bool   `json:"running"`
		PID     int    `json:"pid,omitempty"`
		Mode    string `json:"mode"`
		// Since and Updated come from the status file.
		Since   time.Time `json:"since,omitzero"`
		Updated time.Time `json:"updated,omitzero"`
		// Losses and Coexist are the running sensor's counters (null when
		// no sensor runs or its status file is missing).
		Losses  json.RawMessage     `json:"losses"`
		Coexist *audit.CoexistStats `json:"coexist"`
	} `json:"sensor"`
	AuditPID struct {
		PID      uint32 `json:"pid"`
		Comm     string `json:"comm,omitempty"`
		Exe      string `json:"exe,omitempty"`
		IsSensor bool   `json:"is_sensor"`
	} `json:"audit_pid"`
	Enabled      uint32               `json:"enabled"`
	Failure      uint32               `json:"failure"`
	BacklogLimit uint32               `json:"backlog_limit"`
	KernelLost   uint32               `json:"kernel_lost_since_boot"`
	Key          string               `json:"key"`
	SensorRules  int                  `json:"sensor_rules"`
	Coverage     []audit.NeedCoverage `json:"coverage"`
	CannotSee    []string             `json:"cannot_see"`
	// Rules are auditctl -l lines (audit.RuleText): perm=wa, not the
	// kernel's bitmask perm=10 that status wrote before.
	Rules []string `json:"rules"`
}

// statusOptions are the flags of `aptsentinel status`.
type statusOptions struct {
	fs     *flag.FlagSet
	asJSON bool
	key    string
}

func statusFlags() *statusOptions {
	o := &statusOptions{fs: newFlagSet("status")}
	o.fs.BoolVar(&o.asJSON, "json", false, "one JSON document for scripts")
	auditKeyVar(o.fs, &o.key, "key of the sensor's rules")
	return o
}

func (o *statusOptions) usage(w io.Writer) { writeHelp(w, o.fs, statusUsage, statusTail) }

func statusCommand(args []string, stdout, stderr io.Writer) int {
	o := statusFlags()
	if err := parseFlags(o.fs, args, false); err != nil {
		return flagsDone(err, "status", o.usage, stdout, stderr)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "aptsentinel status: must run as root: the kernel answers audit status and rule requests only to root (CAP_AUDIT_CONTROL)")
		return 1
	}
	rep, err := buildStatus("/proc", sensor.StatusPath, o.key)
	if err != nil {
		fmt.Fprintf(stderr, "aptsentinel status: %v\n", err)
		return 1
	}
	if o.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "aptsentinel status: %v\n", err)
			return 1
		}
		return 0
	}
	writeStatus(stdout, rep)
	return 0
}

// buildStatus reads the kernel's audit state and the running sensor's
// status file.
func buildStatus(procRoot, statusPath, key string) (statusReport, error) {
	var rep statusReport
	rep.Key = key
	st, err := audit.GetStatus()
	if err != nil {
		return rep, err
	}
	rules, err := audit.ListRules()
	if err != nil {
		return rep, err
	}
	rep.Enabled, rep.Failure, rep.BacklogLimit, rep.KernelLost = st.Enabled, st.Failure, st.BacklogLimit, st.Lost
	h, err := selftest.FindHolder(procRoot, st.PID)
	if err != nil {
		return rep, err
	}
	rep.AuditPID.PID = h.PID
	if h.PID != 0 {
		rep.AuditPID.Comm, rep.AuditPID.Exe, rep.AuditPID.IsSensor = h.Comm, h.Exe, h.IsSensor
	}
	for _, r := range rules {
		rep.Rules = append(rep.Rules, audit.RuleText(r))
		if r.Key() == key {
			rep.SensorRules++
		}
	}
	features, err := audit.DetectFeatures()
	if err != nil {
		return rep, err
	}
	specs, _ := audit.SensorRules(key, 0, features)
	needs, err := audit.NeedsOf(specs)
	if err != nil {
		return rep, err
	}
	rep.Coverage = audit.Coverage(rules, needs, key)

	rep.Sensor.Mode = "not running"
	if sf, ok := readStatusFile(procRoot, statusPath); ok {
		rep.Sensor.Running, rep.Sensor.PID, rep.Sensor.Mode = true, sf.PID, sf.Mode.String()
		rep.Sensor.Since, rep.Sensor.Updated = sf.Started, sf.Updated
		rep.Sensor.Losses, _ = json.Marshal(sf.Losses)
		rep.Sensor.Coexist = &sf.Coexist
	} else if h.IsSensor {
		// A sensor without a status file (an older one): it holds the PID.
		rep.Sensor.Running, rep.Sensor.PID, rep.Sensor.Mode = true, int(h.PID), audit.ModeUnicast.String()
	}
	for _, c := range audit.NotSeen(rep.Coverage) {
		line := c.Name + ": " + c.Verdict
		if c.By != "" {
			line += " by " + c.By
		}
		if len(c.Partly) > 0 {
			line += " (partly by " + strings.Join(c.Partly, "; ") + ")"
		}
		rep.CannotSee = append(rep.CannotSee, line)
	}
	if st.Enabled == 2 {
		rep.CannotSee = append(rep.CannotSee, "audit is locked (enabled 2) until reboot: the sensor cannot add or repair rules; it sees only what the loaded rules record")
	}
	if st.Enabled == 0 {
		rep.CannotSee = append(rep.CannotSee, "audit is off (enabled 0): no syscall is recorded")
	}
	return rep, nil
}

// statusFile is sensor.StatusFile with the losses kept raw: their fields
// belong to the sensor and may grow.
type statusFile struct {
	sensor.StatusFile
	Losses json.RawMessage `json:"losses"`
}

// readStatusFile reads a running sensor's status file; a file whose
// writer is gone does not count.
func readStatusFile(procRoot, path string) (statusFile, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return statusFile{}, false
	}
	var sf statusFile
	if err := json.Unmarshal(b, &sf); err != nil || sf.PID <= 0 {
		return statusFile{}, false
	}
	if _, err := os.Stat(procRoot + "/" + strconv.Itoa(sf.PID)); err != nil {
		return statusFile{}, false
	}
	return sf, true
}

func writeStatus(w io.Writer, rep statusReport) {
	s := rep.Sensor
	switch {
	case !s.Running:
		fmt.Fprintf(w, "sensor:        not running\n")
	default:
		fmt.Fprintf(w, "sensor:        running, pid %d, mode %s", s.PID, s.Mode)
		switch s.Mode {
		case "multicast":
			fmt.Fprint(w, " (reads the audit multicast group beside the audit daemon)")
		case "unicast":
			fmt.Fprint(w, " (holds the audit PID)")
		case "locked":
			fmt.Fprint(w, " (audit locked: reads only)")
		}
		fmt.Fprintln(w)
		if !s.Since.IsZero() {
			fmt.Fprintf(w, "               since %s, status written %s ago\n", s.Since.Format(time.RFC3339), time.Since(s.Updated).Round(time.Second))
		}
	}
	if rep.AuditPID.PID == 0 {
		fmt.Fprintf(w, "audit PID:     none (records go to the kernel log)\n")
	} else {
		fmt.Fprintf(w, "audit PID:     %d (%s, %s)\n", rep.AuditPID.PID, rep.AuditPID.Comm, rep.AuditPID.Exe)
	}
	fmt.Fprintf(w, "audit:         enabled %d, failure %d, backlog limit %d, lost since boot %d\n", rep.Enabled, rep.Failure, rep.BacklogLimit, rep.KernelLost)
	present := "loaded"
	if rep.SensorRules == 0 {
		present = "none loaded"
	}
	fmt.Fprintf(w, "sensor rules:  %d with key %q (%s)\n", rep.SensorRules, rep.Key, present)
	if s.Coexist != nil {
		c := s.Coexist
		fmt.Fprintf(w, "losses:        since start: serial gaps %d, socket overflows %d (multicast %d), blind windows %d; handovers %d, reclaims %d, tamper reports %d\n",
			c.SerialGaps, c.Unicast.ENOBUFS+c.Multicast.ENOBUFS, c.Multicast.ENOBUFS, c.BlindWindows, c.Handovers, c.Reclaims, c.Tampers)
		fmt.Fprintf(w, "               audit sockets found full by the kernel: %s\n", socketDrops(c))
		fmt.Fprintf(w, "               sensor counters: %s\n", s.Losses)
	} else {
		fmt.Fprintf(w, "losses:        not available (no running sensor's %s)\n", sensor.StatusPath)
	}
	if len(rep.CannotSee) == 0 {
		fmt.Fprintf(w, "coverage:      all %d syscalls the sensor needs are recorded\n", len(rep.Coverage))
	} else {
		fmt.Fprintf(w, "coverage:      NOT SEEN:\n")
		for _, l := range rep.CannotSee {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	fmt.Fprintf(w, "rules loaded:  %d\n", len(rep.Rules))
	for _, r := range rep.Rules {
		fmt.Fprintf(w, "  %s\n", r)
	}
}

// socketDrops says how often the kernel found each audit socket full: on
// the data socket kauditd retries (a loss shows as a serial gap or in the
// kernel's counter), on the multicast socket each drop is a record lost.
func socketDrops(c *audit.CoexistStats) string {
	if c.Unicast.DropsUnknown || c.Multicast.DropsUnknown {
		return "unknown (this kernel does not report socket drops)"
	}
	return fmt.Sprintf("data socket %d times (retried by the kernel), multicast socket %d records", c.Unicast.Drops, c.Multicast.Drops)
}
