package audit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// coexist is the part of a Session that lives beside other audit daemons:
// the mode, the switches between unicast and multicast, the loss counters
// only a multicast reader needs, and the tamper checks.
type coexist struct {
	modeMu sync.Mutex // HandOver and Repair; guards joined, coverage
	mode   atomic.Int32
	joined bool // the multicast socket is in the group
	// leaveAt is when a reclaiming session leaves the group (zero: no
	// leave pending); see reclaim.
	leaveAt time.Time

	dd *deduper

	// callMu orders the batches of both sockets: bookkeeping and the
	// record callback, one batch at a time. deliverMu guards the books
	// only and is never held across the callback: the callback waits for
	// the sensor's event loop, and the loop's tick takes deliverMu (Stats,
	// settle), so holding it there deadlocked the sensor while its alert
	// writer was slow (sensor TestWatchdogFollowsTheLoop).
	callMu        sync.Mutex // guards dedupeScratch; calls to the record callback
	deliverMu     sync.Mutex // guards serials, ccol
	dedupeScratch []Record   // the records of a batch that pass the deduper
	serials       serialTracker
	ccol          *configCollector
	judgeFrom     time.Time // config changes before this are Open's own
	// staleBefore: a record stamped earlier was numbered before the
	// kernel confirmed the session as the audit PID, or before it joined
	// the multicast group beside another daemon (stale); staleRecords
	// counts those kept from starting the serial tracker. Guarded by
	// deliverMu.
	staleBefore  time.Time
	staleRecords uint64

	onTamper    func(Tamper)
	pending     []Tamper                     // found in the current CONFIG_CHANGE group
	ownRemovals atomic.Int64                 // own rule removals whose records are still to come
	lastAdd     atomic.Pointer[ConfigChange] // the last rule another process added

	wiresFirst, wiresLast [][]byte   // the rule set ahead of all rules, and after them
	specsFirst, specsLast []RuleSpec // the specs of wiresFirst and wiresLast, index by index
	coverage              []NeedCoverage
	// coverageOf is the rule list coverage was computed from, as listed:
	// the same list again (every check on a calm host) is not recomputed.
	coverageOf [][]byte

	handovers, reclaims, takenOver, blindWindows, tampers atomic.Uint64
	blind                                                 blindBook // the windows blindWindows counts (blind.go)
}

func (c *coexist) init(cfg Config, specs []RuleSpec) {
	c.dd = newDeduper()
	c.ccol = newConfigCollector()
	c.onTamper = cfg.OnTamper
	// Ahead of every rule: each one prepended, in reverse, so the list
	// starts with the set in its order. After every rule: each appended.
	for i := len(specs) - 1; i >= 0; i-- {
		w, _ := BuildRule(RuleSpec{Text: specs[i].Text, Prepend: true})
		c.wiresFirst = append(c.wiresFirst, w)
		c.specsFirst = append(c.specsFirst, specs[i])
	}
	for _, spec := range specs {
		w, _ := BuildRule(RuleSpec{Text: spec.Text})
		c.wiresLast = append(c.wiresLast, w)
		c.specsLast = append(c.specsLast, spec)
	}
}

// specsFor is the RuleSpec of each rule of wiresFor(m), in the same order.
func (c *coexist) specsFor(m Mode) []RuleSpec {
	if m == ModeUnicast {
		return c.specsFirst
	}
	return c.specsLast
}

// dropRefused forgets the optional rules the kernel refused, in both sets,
// so that a repair or a move does not offer them again.
func (c *coexist) dropRefused(refused []RefusedRule) {
	if len(refused) == 0 {
		return
	}
	isRefused := func(text string) bool {
		return slices.ContainsFunc(refused, func(r RefusedRule) bool { return r.Text == text })
	}
	keep := func(specs []RuleSpec, wires [][]byte) ([]RuleSpec, [][]byte) {
		var ks []RuleSpec
		var kw [][]byte
		for i, sp := range specs {
			if !isRefused(sp.Text) {
				ks, kw = append(ks, sp), append(kw, wires[i])
			}
		}
		return ks, kw
	}
	c.specsFirst, c.wiresFirst = keep(c.specsFirst, c.wiresFirst)
	c.specsLast, c.wiresLast = keep(c.specsLast, c.wiresLast)
}

// wiresFor is the rule set to install in mode m: holding the audit PID the
// sensor's rules come first (no rule of another can hide a syscall from
// it); beside auditd they come after auditd's, so the admin's records keep
// their keys and the admin's never rules their effect.
func (c *coexist) wiresFor(m Mode) [][]byte {
	if m == ModeUnicast {
		return c.wiresFirst
	}
	return c.wiresLast
}

func (c *coexist) setMode(m Mode) { c.mode.Store(int32(m)) }

// Mode returns how the session receives records now.
func (c *coexist) Mode() Mode { return Mode(c.mode.Load()) }

// CoexistStats are the counters of life beside other audit daemons.
type CoexistStats struct {
	Mode Mode `json:"mode"`
	// Unicast and Multicast are each socket's own counters.
	Unicast   StreamStats `json:"unicast"`
	Multicast StreamStats `json:"multicast"`
	// SerialGaps counts audit serial numbers that never arrived: records
	// lost on the way (a multicast socket overflow loses records without
	// moving the kernel's lost counter).
	SerialGaps uint64 `json:"serial_gaps"`
	// StaleRecords counts the records that came before the serial tracker
	// started and were stamped before the kernel confirmed the session as
	// the audit PID (or before its multicast join): a previous holder's,
	// from the kernel's retry queue, and the session's own first ones,
	// stamped a tick early. Handed on, but not counted for serial gaps
	// (Session.stale).
	StaleRecords uint64 `json:"stale_records"`
	// Duplicates counts records that came on both sockets around a switch
	// and were handed on once.
	Duplicates uint64 `json:"duplicates"`
	// BlindWindows counts times the sensor's rules, the enabled flag or
	// the audit PID were found undone and put back: records in between
	// were not produced or not received.
	BlindWindows uint64 `json:"blind_windows"`
	Handovers    uint64 `json:"handovers"`  // audit PID given to a starting auditd
	Reclaims     uint64 `json:"reclaims"`   // audit PID taken back from a stopped one
	TakenOver    uint64 `json:"taken_over"` // audit PID taken from the sensor by a live process
	Tampers      uint64 `json:"tampers"`
}

// CoexistStats returns the session's coexistence counters.
func (s *Session) CoexistStats() CoexistStats {
	st := CoexistStats{
		Mode: s.Mode(), Duplicates: s.dd.dropped.Load(), BlindWindows: s.blindWindows.Load(),
		Handovers: s.handovers.Load(), Reclaims: s.reclaims.Load(), TakenOver: s.takenOver.Load(), Tampers: s.tampers.Load(),
	}
	if s.data != nil {
		st.Unicast = s.data.stats()
	}
	if s.mcast != nil {
		st.Multicast = s.mcast.stats()
	}
	s.deliverMu.Lock()
	st.SerialGaps = s.serials.Gaps()
	st.StaleRecords = s.staleRecords
	s.deliverMu.Unlock()
	return st
}

// Coverage returns what the loaded rules do with each syscall the sensor
// needs, as of the last Open or Repair.
func (s *Session) Coverage() []NeedCoverage {
	s.modeMu.Lock()
	defer s.modeMu.Unlock()
	return slices.Clone(s.coverage)
}

// deliver hands a batch of records from socket src on, each once (around a switch both
// sockets carry it), after the serial and CONFIG_CHANGE bookkeeping.
func (s *Session) deliver(src int, recs []Record, fn func([]Record)) {
	now := time.Now()
	s.callMu.Lock()
	defer s.callMu.Unlock()
	s.deliverMu.Lock()
	if s.dd.until.Load() != 0 {
		kept := s.dedupeScratch[:0]
		for _, r := range recs {
			if s.dd.pass(src, r, now) {
				kept = append(kept, r)
			}
		}
		s.dedupeScratch, recs = kept, kept
	}
	for _, r := range recs {
		if n, ok := serialOf(r.Data); ok && !s.stale(r) {
			s.serials.see(n)
		}
		if r.Type == TypeConfig || len(s.ccol.open) > 0 {
			if err := s.ccol.push(r, now, s.judge); err != nil {
				s.log.Warn("audit CONFIG_CHANGE record not understood", "err", err.Error())
			}
		}
	}
	s.deliverMu.Unlock()
	if len(recs) > 0 {
		fn(recs)
	}
}

// stale reports whether r, coming before the serial tracker has started,
// was numbered before the kernel confirmed the session as the audit PID.
// Such records reach a new audit PID first: the previous holder's, which
// its full socket did not take, from the kernel's retry queue, and any
// still queued when the PID changed (kernel/audit.c kauditd_thread,
// kauditd_retry_skb). Records numbered around the change may never come:
// the kauditd pass under way then, which read the PID at its start, drops
// them (kauditd_hold_skb). Starting the tracker at a stale record would
// count every serial since it, or those dropped ones, as lost. r is still
// handed on. Records stamped before the confirmation but numbered after
// it (the kernel stamps with its coarse clock, up to a tick behind) are
// set aside too: the tracker starts a moment later. Beside another
// daemon the bound is the multicast join: a record multicast before it,
// numbered after one multicast later (records of two CPUs), would
// otherwise be a gap. At most maxStaleRecords are set aside, so that a
// wall clock set back in the first moments cannot keep the tracker from
// starting. Called with deliverMu held.
func (s *Session) stale(r Record) bool {
	if s.serials.started || s.staleBefore.IsZero() || s.staleRecords >= maxStaleRecords {
		return false
	}
	h, _, err := parseHeader(r.Data)
	if err != nil || !h.Time.Before(s.staleBefore) {
		return false
	}
	s.staleRecords++
	return true
}

// recordsFromNow makes records stamped before now stale (Session.stale):
// called when the session becomes the audit PID or joins the multicast
// group beside another daemon.
func (s *Session) recordsFromNow() {
	s.deliverMu.Lock()
	s.staleBefore = time.Now()
	s.deliverMu.Unlock()
}

// maxStaleRecords bounds the records stale sets aside: the kernel's retry
// queue holds at most its backlog limit (the sensor's default is 8192).
const maxStaleRecords = 1 << 16

// judge looks at one configuration change. Called with deliverMu held.
// Tampering is reported at the next settle, once per kind and changer,
// with a count: `auditctl -D` removes each rule in a request (and a
// syscall) of its own.
func (s *Session) judge(c ConfigChange) {
	if c.Op == opGroupEnd {
		return
	}
	if c.Time.Before(s.judgeFrom) {
		return // Open's own changes, or older
	}
	if c.Op == "remove_rule" && c.Key == s.key && s.ownRemovals.Load() > 0 {
		s.ownRemovals.Add(-1)
		return
	}
	if c.Op == "add_rule" && c.Key != s.key && c.Result == 1 {
		s.lastAdd.Store(&c)
	}
	if c.Setting == "audit_pid" && c.Result == 1 {
		s.log.Info("audit PID registered", "audit_pid", c.Value, "old", c.Old, "record_time", c.Time,
			"pid", c.PID, "comm", c.Comm, "exe", c.Exe)
	}
	t, ok := DetectTamper(c, s.key, s.self)
	if ok && t.Kind != TamperShadowingRule && !c.Time.IsZero() {
		s.blind.damaged(c.Time) // the blind window Repair closes starts here
	}
	if !ok {
		s.log.Debug("audit configuration changed", "op", c.Op, "setting", c.Setting, "value", c.Value, "key", c.Key,
			"pid", c.PID, "comm", c.Comm, "exe", c.Exe, "auid", c.AUID)
		return
	}
	for i := range s.pending {
		if s.pending[i].Kind == t.Kind && s.pending[i].Change.PID == t.Change.PID {
			s.pending[i].Count++
			return
		}
	}
	t.Count = 1
	s.pending = append(s.pending, t)
}

func (s *Session) report(t Tamper) {
	s.tampers.Add(1)
	s.log.Warn("sensor audit configuration tampered with: "+t.What, "kind", t.Kind, "count", t.Count, "by", t.Changer(),
		"pid", t.Change.PID, "ppid", t.Change.PPID, "comm", t.Change.Comm, "exe", t.Change.Exe, "auid", t.Change.AUID)
	if s.onTamper != nil {
		s.onTamper(t)
	}
}

// settle closes the loss books once a second (Repair calls it): serials
// missing for a whole period are lost, CONFIG_CHANGE records whose SYSCALL
// record never came are judged without it.
func (s *Session) settle(now time.Time) {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	s.serials.Settle()
	s.ccol.flush(now, s.judge)
	for _, t := range s.pending {
		s.report(t)
	}
	s.pending = s.pending[:0]
}

// deleteOwnRules deletes the rules with the sensor's key and expects their
// CONFIG_CHANGE records, so that they are not taken for tampering.
func (s *Session) deleteOwnRules() (int, error) {
	rules, err := listKernelRules(s.ctl)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rules {
		if r.Key() != s.key {
			continue
		}
		s.ownRemovals.Add(1)
		if err := s.ctl.deleteRule(r.Wire); err != nil {
			s.ownRemovals.Add(-1)
			return n, fmt.Errorf("audit: delete rules with key %q: %w", s.key, err)
		}
		n++
	}
	return n, nil
}

// moveOwnRules reinstalls the sensor's rules in the place mode m gives
// them. It deletes them first: the kernel refuses a second identical rule
// (kernel/auditfilter.c audit_find_rule; the prepend flag is cleared once
// a rule is in), so the two sets cannot overlap. The moment without them
// is counted as a blind window.
func (s *Session) moveOwnRules(m Mode) error {
	from := time.Now()
	if _, err := s.deleteOwnRules(); err != nil {
		return err
	}
	for _, w := range s.wiresFor(m) {
		if err := s.ctl.addRule(w); err != nil {
			s.noteBlind("the sensor's rules moved ahead of a hiding rule", from)
			return fmt.Errorf("audit: moving the sensor's rules: %w", err)
		}
	}
	s.noteBlind("the sensor's rules moved ahead of a hiding rule", from)
	return nil
}

// HandOver gives the audit PID to an audit daemon that is starting: the
// multicast group is joined first, then the PID released, so that the
// daemon's set-pid succeeds (kernels since 4.11 refuse a second live
// holder with EEXIST and auditd exits) and no record falls between the two
// sockets. Records that arrive on both around the switch are handed on
// once. It reports whether it handed over (false when the session does not
// hold the PID). Without CAP_AUDIT_READ it still releases the PID: the
// sensor must not be why auditd fails; the error then says it is blind.
func (s *Session) HandOver() (bool, error) {
	s.modeMu.Lock()
	defer s.modeMu.Unlock()
	if s.closing.Load() || s.Mode() != ModeUnicast {
		return false, nil
	}
	s.dd.open(time.Now())
	s.leaveAt = time.Time{}
	var joinErr error
	if !s.joined {
		if joinErr = s.mcast.joinReadlog(); joinErr == nil {
			s.joined = true
		}
	}
	if err := s.ctl.set(Status{Mask: statusPID, PID: 0}, "audit pid 0 (handing over to auditd)"); err != nil {
		return false, errors.Join(err, joinErr)
	}
	s.becamePID = false
	// auditd's rules (-b, --backlog_wait_time) set its own values; the
	// ones found at Open are no longer ours to restore.
	s.changedBacklog, s.changedWait = false, false
	// The sensor's rules stay ahead of auditd's until auditd loads its
	// rules (augenrules --load, which Debian's unit runs when auditd
	// starts, deletes them first; Repair then appends them). Moving them
	// now would leave a moment without them: a rule cannot be added twice.
	s.setMode(ModeMulticast)
	s.handovers.Add(1)
	return true, joinErr
}

// joinForTakeover switches to multicast when another live process took
// the audit PID. Called with modeMu held.
func (s *Session) joinForTakeover() error {
	s.dd.open(time.Now())
	s.leaveAt = time.Time{}
	if !s.joined {
		if err := s.mcast.joinReadlog(); err != nil {
			return err
		}
		s.joined = true
	}
	s.becamePID = false
	s.changedBacklog, s.changedWait = false, false
	s.setMode(ModeMulticast)
	s.takenOver.Add(1)
	return nil
}

// reclaim takes the free audit PID back (auditd stopped) and leaves the
// multicast group after it: records in between come on both sockets and
// are handed on once. Called with modeMu held.
func (s *Session) reclaim(st Status) error {
	s.dd.open(time.Now())
	if err := s.data.requestPID(s.self); err != nil {
		return fmt.Errorf("audit: reclaiming the audit PID: %w", err)
	}
	now, err := s.ctl.status()
	if err != nil {
		return err
	}
	if now.PID != s.self {
		return fmt.Errorf("audit: reclaiming the audit PID: the kernel has pid %d", now.PID)
	}
	s.becamePID = true
	wasMode := s.Mode()
	s.setMode(ModeUnicast)
	if s.joined {
		// Not yet: kauditd reads the audit PID once per pass over its
		// queue (kernel/audit.c kauditd_thread), so the pass under way
		// when the PID was taken still has no unicast destination and
		// hands each record to kauditd_hold_skb after the multicast
		// send; with audit=0 on the kernel command line (the default)
		// the hold drops it after printing it to the kernel log, without
		// counting it lost. Leaving the group now lost the records of
		// that pass: a serial gap around the switch. The group is left
		// at a Repair after leaveGroupAfter; the dedupe window covers it.
		s.leaveAt = time.Now().Add(leaveGroupAfter)
	}
	if wasMode == ModeUnicast {
		// The PID was freed under the sensor (not by a daemon it handed
		// over to): records in between went to the kernel log.
		s.noteBlind("the audit PID freed under the sensor", time.Time{})
	} else {
		s.reclaims.Add(1)
	}
	return s.raiseBacklog(now, s.cfg.BacklogLimit)
}

// leaveGroupAfter is how long a session that took the audit PID back
// stays in the multicast group (see reclaim); far more than one kauditd
// pass, far less than dedupeWindow.
const leaveGroupAfter = 500 * time.Millisecond

// leaveGroupIfDue leaves the multicast group when a reclaim's wait is
// over and the session still holds the PID. Called with modeMu held.
func (s *Session) leaveGroupIfDue(now time.Time) error {
	if s.leaveAt.IsZero() || now.Before(s.leaveAt) {
		return nil
	}
	s.leaveAt = time.Time{}
	if !s.joined || s.Mode() != ModeUnicast {
		return nil
	}
	// Records still queued on the multicast socket may be copies of
	// unicast ones: the window runs on past the leave.
	s.dd.open(now)
	if err := s.mcast.leaveReadlog(); err != nil {
		return err
	}
	s.joined = false
	return nil
}

// updateCoverage recomputes what the loaded rules do with the sensor's
// needs, reports new shadows as tampering and logs a change. It returns
// the new shadows. Called with modeMu held.
func (s *Session) updateCoverage(rules []KernelRule) []NeedCoverage {
	if s.coverage != nil && sameWires(rules, s.coverageOf) {
		return nil
	}
	now := Coverage(rules, s.needs, s.key)
	s.coverageOf = s.coverageOf[:0]
	for _, r := range rules {
		s.coverageOf = append(s.coverageOf, r.Wire)
	}
	fresh := newShadows(s.coverage, now)
	changed := !slices.EqualFunc(now, s.coverage, func(a, b NeedCoverage) bool {
		return a.Name == b.Name && a.Verdict == b.Verdict && a.By == b.By
	})
	first := s.coverage == nil
	s.coverage = now
	if len(fresh) > 0 && !first {
		by := fresh[0].By
		if fresh[0].Verdict == PartlyShadowed && len(fresh[0].Partly) > 0 {
			by = fresh[0].Partly[0]
		}
		t := Tamper{Kind: TamperShadowingRule, Shadowed: fresh, Count: 1,
			What: fmt.Sprintf("an audit rule now hides %d of the sensor's syscalls (%s): %s", len(fresh), fresh[0].Name, by)}
		if c := s.lastAdd.Load(); c != nil {
			t.Change = *c
		}
		s.report(t)
	}
	if changed && !first {
		s.logCoverageLocked(false)
	}
	return fresh
}

// sameWires reports whether rules are, in order, exactly the listed rules
// wires.
func sameWires(rules []KernelRule, wires [][]byte) bool {
	return slices.EqualFunc(rules, wires, func(r KernelRule, w []byte) bool { return bytes.Equal(r.Wire, w) })
}

// logCoverage says which needed syscalls the loaded rules hide, at Open
// (always) and when it changes.
func (s *Session) logCoverage(atOpen bool) {
	s.modeMu.Lock()
	defer s.modeMu.Unlock()
	if s.coverage == nil {
		rules, err := listKernelRules(s.ctl)
		if err != nil {
			s.log.Warn("listing audit rules", "err", err.Error())
			return
		}
		s.updateCoverage(rules)
	}
	s.logCoverageLocked(atOpen)
}

func (s *Session) logCoverageLocked(atOpen bool) {
	bad := NotSeen(s.coverage)
	if len(bad) == 0 {
		if !atOpen {
			s.log.Info("audit rules: every syscall the sensor needs is recorded again")
		}
		return
	}
	for _, c := range bad {
		s.log.Warn("audit rules: the sensor does not see a syscall it needs", "mode", s.Mode(),
			"syscall", c.Name, "verdict", c.Verdict, "by", c.By, "partly_by", c.Partly)
	}
	if s.Mode() == ModeLocked {
		s.log.Warn("audit is locked (auditctl -e 2): the sensor cannot add its rules until reboot; it sees only what the loaded rules record")
	}
}

// sameProgram reports whether pid runs the same executable as this
// process (another sensor), by file identity.
func sameProgram(procRoot string, pid uint32) bool {
	a, err1 := os.Stat(procRoot + "/" + strconv.FormatUint(uint64(pid), 10) + "/exe")
	b, err2 := os.Stat("/proc/self/exe")
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// checkOtherSensor fails when rules with the session's key are loaded and
// another live process runs this executable: a second sensor beside
// auditd (the audit PID, auditd's, does not show it). Rules with no such
// process are a dead sensor's, for Open to remove.
func (s *Session) checkOtherSensor(procRoot string) error {
	rules, err := listKernelRules(s.ctl)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(rules, func(r KernelRule) bool { return r.Key() == s.key }) {
		return nil
	}
	self, err := os.Stat("/proc/self/exe")
	if err != nil {
		return nil
	}
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		fi, err := os.Stat(procRoot + "/" + e.Name() + "/exe")
		if err == nil && os.SameFile(fi, self) {
			return fmt.Errorf("audit: another aptsentinel (pid %d) runs with rules of key %q beside the audit daemon: stop it first", pid, s.key)
		}
	}
	return nil
}
