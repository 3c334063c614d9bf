package sensor

import (
	"os"
	"sync/atomic"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/rules"
)

// The sensor's own alerts (issue 9 goal 4, issue 10): tampering with its
// audit configuration and lost events are alerts of the TypeSensor rules
// rules.TamperRuleID and rules.LossRuleID, built by the same alert stage
// as every match. A disabled rule is not in the running set, so it raises
// nothing.

// tamperQueue bounds the tamper reports waiting for the event loop; the
// audit goroutine never blocks on it (one report covers a whole
// `auditctl -D`, so a full queue means a storm, counted in tampersDropped).
const tamperQueue = 64

// ownAlerts is the sensor's part of its own alerts.
type ownAlerts struct {
	tampers        chan audit.Tamper
	tampersDropped atomic.Uint64
	// rules are the enabled TypeSensor rules by id (event loop only).
	rules map[string]*rules.Rule
}

func (o *ownAlerts) init(rs []*rules.Rule) {
	o.tampers = make(chan audit.Tamper, tamperQueue)
	o.setRules(rs)
}

// setRules keeps the enabled sensor rules of a (re)loaded set.
func (o *ownAlerts) setRules(rs []*rules.Rule) {
	o.rules = map[string]*rules.Rule{}
	for _, r := range rs {
		if r != nil && r.Type == rules.TypeSensor {
			o.rules[r.ID] = r
		}
	}
}

// onTamper is audit.Config.OnTamper: called on the audit goroutine, it
// hands the report over without blocking.
func (s *sensor) onTamper(t audit.Tamper) {
	select {
	case s.own.tampers <- t:
	default:
		s.own.tampersDropped.Add(1)
	}
}

// raiseTamper writes the tamper alert; its process is the changer, from
// the tree when the sensor knows it, else from the CONFIG_CHANGE's SYSCALL
// record.
func (s *sensor) raiseTamper(t audit.Tamper) {
	if n := s.own.tampersDropped.Swap(0); n > 0 {
		s.log.Warn("tamper reports dropped: the queue to the event loop was full", "rule.id", rules.TamperRuleID, "dropped", n)
	}
	r := s.own.rules[rules.TamperRuleID]
	if r == nil {
		return
	}
	ev := rules.Event{Time: t.Change.Time, Action: rules.ActionAuditConfigChange, HostID: s.host.ID, Outcome: "success"}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	if c := t.Change; c.HaveProcess {
		ev.Process = s.knownProcess(c.PID, c.Comm, c.Exe)
		if ev.Process.Parent.PID == 0 {
			ev.Process.Parent = rules.Parent{PID: c.PPID}
			if pp, ok := s.tree.Get(c.PPID); ok {
				ev.Process.Parent = rules.Parent{PID: pp.PID, EntityID: pp.EntityID, Name: pp.Name, Executable: pp.Executable, Args: pp.Args}
			}
		}
	}
	s.writeAlert(rules.Match{Rule: r, Events: []rules.Event{ev}, Finding: map[string]any{"tamper": tamperFinding(t)}})
}

// tamperDoc is aptsentinel.tamper of the alert: what changed, and the
// CONFIG_CHANGE record that changed it (change.* is null when no record
// was seen; pid, ppid, comm and exe are null when its SYSCALL record was
// not: a `never` rule hid it).
type tamperDoc struct {
	Kind     audit.TamperKind     `json:"kind"`
	What     string               `json:"what"`
	Count    int                  `json:"count"`
	Shadowed []audit.NeedCoverage `json:"shadowed,omitempty"`
	Change   *changeDoc           `json:"change"`
	// Changer is the changer in one line (audit.Tamper.Changer).
	Changer string `json:"changer"`
}

type changeDoc struct {
	Time    time.Time `json:"time"`
	Op      string    `json:"op"`
	Setting string    `json:"setting,omitempty"`
	Value   *uint64   `json:"value,omitempty"`
	Old     *uint64   `json:"old,omitempty"`
	Key     string    `json:"key,omitempty"`
	AUID    *uint32   `json:"auid"`
	Ses     *uint32   `json:"ses"`
	PID     *int      `json:"pid"`
	PPID    *int      `json:"ppid"`
	Comm    *string   `json:"comm"`
	Exe     *string   `json:"exe"`
}

// unsetID is the kernel's "unset" auid and ses (4294967295).
const unsetID = ^uint32(0)

func tamperFinding(t audit.Tamper) tamperDoc {
	d := tamperDoc{Kind: t.Kind, What: t.What, Count: t.Count, Shadowed: t.Shadowed, Changer: t.Changer()}
	c := t.Change
	if c.Op == "" {
		return d
	}
	ch := &changeDoc{Time: c.Time, Op: c.Op, Setting: c.Setting, Key: c.Key}
	if c.Setting != "" {
		ch.Value = &c.Value
		if c.HaveValueOld {
			ch.Old = &c.Old
		}
	}
	if c.AUID != unsetID {
		ch.AUID = &c.AUID
	}
	if c.Ses != unsetID {
		ch.Ses = &c.Ses
	}
	if c.HaveProcess {
		ch.PID, ch.PPID, ch.Comm, ch.Exe = &c.PID, &c.PPID, &c.Comm, &c.Exe
	}
	d.Change = ch
	return d
}

// knownProcess is the ECS process of pid from the tree, when the tree
// holds that process (same comm), else what the record said.
func (s *sensor) knownProcess(pid int, comm, exe string) rules.Process {
	if p, ok := s.tree.Get(pid); ok && (comm == "" || p.Name == comm) {
		return ecsProcessOf(p)
	}
	return rules.Process{PID: pid, Name: comm, Executable: exe}
}

// raiseLoss writes the loss alert for a report with losses; its process
// is the sensor itself.
func (s *sensor) raiseLoss(lr LossReport) {
	r := s.own.rules[rules.LossRuleID]
	if r == nil || !lr.Any() {
		return
	}
	self := os.Getpid()
	exe, _ := os.Executable()
	ev := rules.Event{
		Time: lr.End, Action: rules.ActionEventsLost, HostID: s.host.ID, Outcome: "failure",
		Process: s.knownProcess(self, "", exe),
	}
	s.writeAlert(rules.Match{Rule: r, Events: []rules.Event{ev}, Finding: map[string]any{"losses": lr}})
}
