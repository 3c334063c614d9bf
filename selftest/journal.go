package selftest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// alertMessageID is the journal MESSAGE_ID of the rule's alerts: its
// rule_id without dashes (a journal message id is 128 bits in hex,
// sd-id128(3)).
var alertMessageID = strings.ReplaceAll(ruleID, "-", "")

// runAgainstService triggers the chain and reads the running sensor's
// alert back from the journal.
func (st *selftest) runAgainstService(ctx context.Context, h auditHolder) (Result, error) {
	if len(h.args) > 0 && h.args[0] == "selftest" {
		return Result{}, fmt.Errorf("another aptsentinel selftest (pid %d) runs its own sensor; run selftest again when it has finished", h.pid)
	}
	if h.output != "" && h.output != "journald" {
		rep, err := st.trigger(ctx)
		if err != nil {
			return Result{}, err
		}
		return Result{}, fmt.Errorf("the running sensor (pid %d) writes alerts to %s, not to the journal, so selftest cannot read its alert back; "+
			"the chain ran: look in that sensor's output for an alert with process.pid %d (the staged shell), process.parent.pid %d and destination %s, "+
			"or set output = journald in its configuration",
			h.pid, h.output, rep.shellPID, rep.aptPID, rep.dest)
	}
	// Start reading before the trigger, from a little before it, so the
	// alert cannot slip between the two.
	j, err := followJournal(ctx, time.Now().Add(-2*time.Second), st.JournalArgs)
	if err != nil {
		return Result{}, err
	}
	defer j.stop()
	rep, err := st.trigger(ctx)
	if err != nil {
		return Result{}, err
	}
	at, err := st.waitJournalAlert(ctx, j, rep, sensorWriter{pid: h.pid, unit: st.ServiceUnit})
	if err != nil {
		if h.outputErr != nil {
			err = fmt.Errorf("%w (the sensor's output could not be told from its command line: %v)", err, h.outputErr)
		}
		return Result{}, err
	}
	return Result{Latency: at.Sub(rep.connectAt), Sensor: serviceName(h.pid)}, nil
}

// sensorWriter says which journal entries the sensor wrote. journald sets
// the fields it checks from the sender's kernel credentials (SCM_CREDENTIALS
// and the sender's cgroup); a client cannot set a field whose name starts
// with "_" (systemd.journal-fields(7), "Trusted Journal Fields"). Any local
// user can write SYSLOG_IDENTIFIER=aptsentinel and the rule's MESSAGE_ID,
// so those prove nothing.
type sensorWriter struct {
	pid  uint32 // the audit PID holder: the sensor
	unit string // the sensor's systemd unit
}

// wrote reports whether e comes from the sensor: written by root (_UID=0)
// and by the sensor's process or from within its unit. The unit alone
// would not do without root: any process of the unit's cgroup is the unit.
func (w sensorWriter) wrote(e journalEntry) bool {
	if e.uid != "0" {
		return false
	}
	return e.pid == strconv.FormatUint(uint64(w.pid), 10) || (w.unit != "" && e.unit == w.unit)
}

func (st *selftest) waitJournalAlert(ctx context.Context, j *journalFollower, rep triggerReport, from sensorWriter) (time.Time, error) {
	timer := time.NewTimer(time.Until(rep.connectAt.Add(st.Timeout)))
	defer timer.Stop()
	for {
		select {
		case e, ok := <-j.entries:
			if !ok {
				return time.Time{}, fmt.Errorf("journalctl stopped: %v", j.wait())
			}
			if !e.doc.matches(rep) {
				continue
			}
			if !from.wrote(e) {
				fmt.Fprintf(st.Stderr, "selftest: ignored an alert entry the sensor did not write (_UID=%s _PID=%s _SYSTEMD_UNIT=%s): a forgery?\n",
					orNone(e.uid), orNone(e.pid), orNone(e.unit))
				continue
			}
			if late := e.at.Sub(rep.connectAt); late > st.Timeout {
				return time.Time{}, fmt.Errorf("the alert reached the journal %s after the connect(), later than --timeout %s", RoundLatency(late), st.Timeout)
			}
			return e.at, nil
		case <-ctx.Done():
			return time.Time{}, ErrInterrupted
		case <-timer.C:
			return time.Time{}, fmt.Errorf("%w in the journal (journalctl _UID=0 _PID=%d MESSAGE_ID=%s SYSLOG_IDENTIFIER=aptsentinel)", timeoutErr(st.Timeout, rep), from.pid, alertMessageID)
		}
	}
}

// journalEntry is one alert read from the journal.
type journalEntry struct {
	at  time.Time // __REALTIME_TIMESTAMP: when journald received it
	doc alertDoc
	// uid, pid and unit are the trusted fields _UID, _PID and
	// _SYSTEMD_UNIT ("" when absent).
	uid, pid, unit string
}

// journalFollower is a running `journalctl --follow` on the alerts.
type journalFollower struct {
	cmd     *exec.Cmd
	cancel  context.CancelFunc
	entries chan journalEntry
	stderr  strings.Builder

	waitOnce sync.Once
	waitErr  error
}

// followJournal starts journalctl on the alerts since since. Its options
// exist since systemd 209 at the latest, jessie has 215.
func followJournal(ctx context.Context, since time.Time, extra []string) (*journalFollower, error) {
	path, err := exec.LookPath("journalctl")
	if err != nil {
		return nil, fmt.Errorf("the running sensor's alerts are in the journal, but journalctl is not installed: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	// --all: without it, -o json writes any field over 4096 bytes (an
	// alert's MESSAGE usually is) as null (journalctl(1), "json").
	args := append([]string{"--follow", "--no-tail", "--all", "--output=json", "--no-pager",
		"--since=" + since.Format("2006-01-02 15:04:05")}, extra...)
	// _UID=0 leaves out what unprivileged users wrote; wrote() checks
	// the writer fully (journalctl's OR of _PID and _SYSTEMD_UNIT needs
	// "+", whose grouping differs between versions).
	args = append(args, "MESSAGE_ID="+alertMessageID, "SYSLOG_IDENTIFIER=aptsentinel", "_UID=0")
	j := &journalFollower{cmd: exec.CommandContext(ctx, path, args...), cancel: cancel,
		entries: make(chan journalEntry, 16)}
	j.cmd.Stderr = &j.stderr
	out, err := j.cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("journalctl: %w", err)
	}
	if err := j.cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("journalctl: %w", err)
	}
	go func() {
		defer close(j.entries)
		readJournal(ctx, out, j.entries)
	}()
	return j, nil
}

// readJournal sends each alert entry of journalctl's JSON output.
func readJournal(ctx context.Context, r io.Reader, out chan<- journalEntry) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		e, ok := parseJournalEntry(sc.Bytes())
		if !ok {
			continue
		}
		select {
		case out <- e:
		case <-ctx.Done():
			return
		}
	}
}

// parseJournalEntry reads one line of `journalctl -o json`. The alert is
// the JSON document in MESSAGE or, should the writer put it elsewhere, in
// another field; journalctl writes a field that is not valid UTF-8 as an
// array of byte values (journalctl(1), "json").
func parseJournalEntry(line []byte) (journalEntry, bool) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(line, &fields); err != nil {
		return journalEntry{}, false
	}
	var rt string
	if json.Unmarshal(fields["__REALTIME_TIMESTAMP"], &rt) != nil {
		return journalEntry{}, false
	}
	us, err := strconv.ParseInt(rt, 10, 64)
	if err != nil || us <= 0 {
		return journalEntry{}, false
	}
	e := journalEntry{at: time.UnixMicro(us)}
	for name, dst := range map[string]*string{"_UID": &e.uid, "_PID": &e.pid, "_SYSTEMD_UNIT": &e.unit} {
		json.Unmarshal(fields[name], dst) // absent or not a string: ""
	}
	if doc, ok := alertInField(fields["MESSAGE"]); ok {
		e.doc = doc
		return e, true
	}
	for name, v := range fields {
		if strings.HasPrefix(name, "_") || name == "MESSAGE" {
			continue
		}
		if doc, ok := alertInField(v); ok {
			e.doc = doc
			return e, true
		}
	}
	return journalEntry{}, false
}

// alertInField decodes an alert from a journal field given as a JSON
// string or as an array of byte values.
func alertInField(raw json.RawMessage) (alertDoc, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return parseAlertDoc([]byte(s))
	}
	var bs []byte
	var ints []int
	if json.Unmarshal(raw, &ints) != nil {
		return alertDoc{}, false
	}
	for _, n := range ints {
		if n < 0 || n > 255 {
			return alertDoc{}, false
		}
		bs = append(bs, byte(n))
	}
	return parseAlertDoc(bs)
}

// stop ends journalctl (our child, by its pid through the context).
func (j *journalFollower) stop() {
	j.cancel()
	j.wait()
}

// wait waits for journalctl to end and returns why it did.
func (j *journalFollower) wait() error {
	j.waitOnce.Do(func() {
		j.waitErr = j.cmd.Wait()
		var ee *exec.ExitError
		if errors.As(j.waitErr, &ee) && j.stderr.Len() > 0 {
			j.waitErr = fmt.Errorf("%w: %s", j.waitErr, strings.TrimSpace(j.stderr.String()))
		}
	})
	return j.waitErr
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
