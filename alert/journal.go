package alert

import (
	"sync"

	"github.com/aptsentinel/aptsentinel/internal/journal"
)

// JournalIdentifier is SYSLOG_IDENTIFIER for the sensor's alerts and logs:
// `journalctl -t aptsentinel` shows both, APTSENTINEL_KIND tells them apart.
const JournalIdentifier = "aptsentinel"

// JournalWriter writes each alert as one journal entry: MESSAGE is the
// alert's JSON line (so `journalctl -t aptsentinel -o cat` prints the same
// lines as --output stdout) and structured fields allow filtering without
// parsing it: MESSAGE_ID (the rule id without dashes, one per rule), PRIORITY
// (from the rule's severity, journal.SeverityPriority), APTSENTINEL_KIND=alert
// and the APTSENTINEL_* fields of AppendJournalFields.
type JournalWriter struct {
	sink journal.Sink
	mu   sync.Mutex
	e    journal.Entry // reused: alerts are written one at a time
}

// NewJournalWriter returns a JournalWriter queueing entries on sink (a
// *journal.Spool, which delivers them and retries while journald is away).
func NewJournalWriter(sink journal.Sink) *JournalWriter {
	return &JournalWriter{sink: sink}
}

// WriteAlert queues the alert's entry. It fails only if the entry cannot be
// built (a value over journal.MaxEntrySize); delivery trouble is the
// spool's to retry and report.
func (w *JournalWriter) WriteAlert(a *Alert, line []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.e.Reset()
	AppendJournalFields(&w.e, a, line)
	b, err := w.e.Bytes()
	if err != nil {
		return err
	}
	w.sink.Enqueue(b)
	return nil
}

// AppendJournalFields adds the alert's fields to e. Values taken from the
// host (argv, paths, comm) are attacker-controlled; journal.Entry sends any
// value holding a newline or binary in the length-prefixed form, so none
// can end its field or add another.
func AppendJournalFields(e *journal.Entry, a *Alert, line []byte) {
	e.AddBytes("MESSAGE", line)
	if id, ok := messageID(a.Rule.ID); ok {
		e.AddBytes("MESSAGE_ID", id[:])
	}
	e.Add("PRIORITY", journal.SeverityPriority(a.Rule.Severity).String())
	e.Add("SYSLOG_IDENTIFIER", JournalIdentifier)
	e.Add("APTSENTINEL_KIND", "alert")
	e.Add("APTSENTINEL_RULE_ID", a.Rule.ID)
	e.Add("APTSENTINEL_RULE_NAME", a.Rule.Name)
	e.Add("APTSENTINEL_RULE_VERSION", a.Rule.Version)
	e.Add("APTSENTINEL_SEVERITY", a.Rule.Severity)
	e.AddInt("APTSENTINEL_RISK_SCORE", int64(a.Event.RiskScore))
	e.Add("APTSENTINEL_TIMESTAMP", a.Timestamp)
	e.Add("APTSENTINEL_HOST_ID", a.Host.ID)
	p := &a.Process
	e.AddInt("APTSENTINEL_PROCESS_PID", int64(p.PID))
	e.Add("APTSENTINEL_PROCESS_ENTITY_ID", p.EntityID)
	e.Add("APTSENTINEL_PROCESS_NAME", p.Name)
	e.Add("APTSENTINEL_PROCESS_EXECUTABLE", p.Executable)
	e.Add("APTSENTINEL_PROCESS_COMMAND_LINE", p.CommandLine)
	e.AddInt("APTSENTINEL_PROCESS_PARENT_PID", int64(p.Parent.PID))
	e.Add("APTSENTINEL_PROCESS_PARENT_NAME", p.Parent.Name)
	if n := len(a.Events); n > 0 {
		// The process that connected: the last matched event's.
		last := &a.Events[n-1].Process
		e.AddInt("APTSENTINEL_CHILD_PID", int64(last.PID))
		e.Add("APTSENTINEL_CHILD_EXECUTABLE", last.Executable)
	}
	if d := a.Destination; d != nil {
		e.Add("APTSENTINEL_DESTINATION_IP", d.IP)
		e.AddInt("APTSENTINEL_DESTINATION_PORT", int64(d.Port))
	}
	if a.Network != nil {
		e.Add("APTSENTINEL_NETWORK_TYPE", a.Network.Type)
	}
}

// MessageID returns the journal MESSAGE_ID for a rule: its UUID without
// dashes, 32 lower-case hex digits as sd-id128 wants (sd_id128_from_string,
// systemd's src/libsystemd/sd-id128). ok is false for an id that is not a
// UUID; the alert then goes without MESSAGE_ID rather than not at all.
func MessageID(ruleID string) (id string, ok bool) {
	b, ok := messageID(ruleID)
	if !ok {
		return "", false
	}
	return string(b[:]), true
}

// messageID is MessageID without allocating (it runs for every alert).
func messageID(ruleID string) (id [32]byte, ok bool) {
	n := 0
	for i := 0; i < len(ruleID); i++ {
		c := ruleID[i]
		switch {
		case c == '-':
			continue
		case c >= 'A' && c <= 'F':
			c += 'a' - 'A'
		case c >= 'a' && c <= 'f', c >= '0' && c <= '9':
		default:
			return id, false
		}
		if n == len(id) {
			return id, false
		}
		id[n] = c
		n++
	}
	return id, n == len(id)
}
