package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/mmsg"
	"golang.org/x/sys/unix"
)

// DefaultBacklogLimit is the least backlog limit a session sets: records
// the kernel may queue for us before it drops them (the boot default, 64, is
// gone in one apt run).
const DefaultBacklogLimit = 8192

// DefaultBacklogWait bounds how long an audited syscall waits for room in
// a full backlog before its record is dropped. A wait makes a flood slow
// its own makers instead of blinding the sensor (README, "Cost and
// losses"); the bound keeps a stuck sensor from stalling the host for long.
const DefaultBacklogWait = time.Second

// Config configures Open. The zero value is usable.
type Config struct {
	// Key tags every installed rule; default DefaultKey.
	Key string
	// BacklogLimit is the least kernel backlog limit; a higher one is kept.
	// Default DefaultBacklogLimit.
	BacklogLimit uint32
	// ReceiveBuffer is the data socket's receive buffer in bytes; default
	// DefaultReceiveBuffer.
	ReceiveBuffer int
	// BatchWindow: after a read that emptied a socket while records keep
	// coming, the next read waits up to this long, so one wake-up takes
	// the records of many events (internal/mmsg). 0: every record is read
	// as soon as it is queued.
	BatchWindow time.Duration
	// BacklogWait is the kernel's backlog_wait_time: how long an audited
	// syscall may wait while the backlog is full. Zero means
	// DefaultBacklogWait; negative means no wait (records are dropped and
	// counted in Status.Lost).
	BacklogWait time.Duration
	// Features overrides kernel feature detection (tests, odd kernels).
	Features *Features
	// Logger gets one line per skipped rule and setup notes; default
	// slog.Default().
	Logger *slog.Logger
	// OnTamper, if set, is called for every change of the audit
	// configuration that works against the sensor (DetectTamper), from the
	// goroutine that runs Run.
	OnTamper func(Tamper)
	// Companion, if set, is a socket read along with the audit records:
	// the data socket's reader follows it (mmsg.Reader.Follow), and
	// CompanionRead is called after every read of either audit socket,
	// before its records are handed on, and after a wake-up for the
	// companion alone. The sensor reads the proc connector this way, so
	// that a process's fork is handed on before its audit records and
	// forks cost no wake-up of their own while records keep coming.
	// Session.Follows reports whether it is read so (not with audit
	// locked: there is no data socket).
	Companion     *mmsg.Reader
	CompanionRead func() error

	procRoot string // "/proc" unless a test points it elsewhere
	// seeStatus lets a test change the status Open acts on (a locked
	// kernel, without locking the real one).
	seeStatus func(Status) Status
}

// Session is the sensor's hold on the kernel audit subsystem: rules
// installed, audit enabled, and records flowing to it. In ModeUnicast it
// holds the audit PID (backlog raised); beside auditd (ModeMulticast) it
// reads the multicast group and leaves auditd's settings alone; with audit
// locked (ModeLocked) it only reads. Close puts back what it changed.
type Session struct {
	log   *slog.Logger
	key   string
	ctl   *client
	data  *stream // unicast: becomes the audit PID
	mcast *stream // multicast group reader, joined in ModeMulticast/ModeLocked

	// self, wires and procRoot let Repair put back what others undid.
	self     uint32
	wires    [][]byte
	procRoot string
	cfg      Config
	needs    []Need

	coexist // mode, switches, losses and tamper state (session_coexist.go)

	// found is the status at Open; the flags say what Open changed.
	found                                       Status
	becamePID, rulesAdded                       bool
	changedEnabled, changedBacklog, changedWait bool

	runMu     sync.Mutex // held by Run; Close waits for it
	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Open checks that the sensor may take over audit, becomes the audit PID,
// raises the backlog, installs the rules and enables audit. When a step
// fails, what was done is undone before the error is returned.
//
// Errors: ErrPermission (not root), ErrLocked (auditctl -e 2), *HolderError
// (auditd or another consumer is running).
func Open(cfg Config) (*Session, error) {
	if cfg.Key == "" {
		cfg.Key = DefaultKey
	}
	if err := checkKey(cfg.Key); err != nil {
		return nil, err
	}
	if cfg.BacklogLimit == 0 {
		cfg.BacklogLimit = DefaultBacklogLimit
	}
	if cfg.ReceiveBuffer == 0 {
		cfg.ReceiveBuffer = DefaultReceiveBuffer
	}
	if cfg.ReceiveBuffer < 0 {
		return nil, fmt.Errorf("audit: receive buffer %d bytes is negative", cfg.ReceiveBuffer)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.procRoot == "" {
		cfg.procRoot = "/proc"
	}
	var features Features
	if cfg.Features != nil {
		features = *cfg.Features
	} else {
		var err error
		if features, err = DetectFeatures(); err != nil {
			return nil, err
		}
	}

	self := os.Getpid()
	specs, skipped := SensorRules(cfg.Key, self, features)
	wires := make([][]byte, len(specs))
	for i, spec := range specs {
		w, err := BuildRule(spec)
		if err != nil {
			return nil, err
		}
		wires[i] = w
	}

	ctl, err := dialClient()
	if err != nil {
		return nil, err
	}
	needs, err := NeedsOf(specs)
	if err != nil {
		ctl.close()
		return nil, err
	}
	s := &Session{log: cfg.Logger, key: cfg.Key, ctl: ctl, self: uint32(self), procRoot: cfg.procRoot, cfg: cfg, needs: needs}
	ctl.rawSend = s.backlogShort
	s.coexist.init(cfg, specs)
	refused, err := s.setup(cfg, uint32(self))
	if err != nil {
		if undoErr := s.teardown(); undoErr != nil {
			return nil, errors.Join(err, fmt.Errorf("audit: undo after failed open: %w", undoErr))
		}
		return nil, err
	}
	s.judgeFrom = time.Now()
	for _, what := range skipped {
		s.log.Warn("audit rule skipped: kernel lacks it", "rule", what)
	}
	for _, r := range refused {
		s.log.Warn("audit rule refused by the kernel: left out", "rule", r.Text, "error", r.Err)
	}
	logCompat32(s.log, features, specs, refused)
	reader := s.data
	if reader == nil {
		reader = s.mcast
	}
	rcvbuf, _ := reader.receiveBuffer()
	s.log.Info("audit session open", "key", cfg.Key, "rules", len(s.wires), "mode", s.Mode(),
		"audit_pid", s.found.PID, "receive_buffer", rcvbuf, "lost_at_start", s.found.Lost)
	s.logCoverage(true)
	return s, nil
}

// setup does Open's kernel steps in an order that teardown can undo at any
// point. Records start flowing to the data socket when it becomes the audit
// PID (or to the multicast socket when it joins); they wait in its receive
// buffer until Run. It keeps in s.wires the rules the kernel took and
// returns the optional ones it refused.
func (s *Session) setup(cfg Config, self uint32) ([]RefusedRule, error) {
	st, err := s.ctl.status()
	if err != nil {
		return nil, err
	}
	if cfg.seeStatus != nil {
		st = cfg.seeStatus(st)
	}
	s.found = st
	mode := ModeUnicast
	if st.Enabled == enabledLocked {
		mode = ModeLocked
	} else if err := checkHolder(st.PID, cfg.procRoot); err != nil {
		if sameProgram(cfg.procRoot, st.PID) {
			// Another sensor: two would fight over the same rules.
			return nil, err
		}
		mode = ModeMulticast
		s.log.Info("another audit daemon holds the audit PID: reading the audit multicast group beside it",
			"holder_pid", st.PID, "holder", readComm(cfg.procRoot, st.PID))
	}
	s.setMode(mode)

	if s.mcast, err = openMulticast(cfg.ReceiveBuffer, cfg.BatchWindow); err != nil {
		return nil, err
	}
	if mode != ModeUnicast {
		if err := s.mcast.joinReadlog(); err != nil {
			if mode == ModeLocked {
				return nil, fmt.Errorf("%w; and reading beside it failed: %w", ErrLocked, err)
			}
			return nil, fmt.Errorf("%w; and reading beside it failed: %w", checkHolder(st.PID, cfg.procRoot), err)
		}
		s.joined = true
		s.recordsFromNow() // records multicast before the join were not for this socket
	} else if err := s.mcast.joinReadlog(); err != nil {
		// Without CAP_AUDIT_READ the sensor cannot stay when auditd
		// starts; it still gives the PID up then.
		s.log.Warn("audit multicast group not readable: when auditd starts, the sensor will give it the audit PID and see nothing", "err", err.Error())
	} else if err := s.mcast.leaveReadlog(); err != nil {
		return nil, err
	}
	if mode == ModeLocked {
		// Nothing can change: only read, and say what is not seen.
		return nil, nil
	}

	if mode == ModeMulticast {
		// Beside auditd the audit PID does not tell whether another
		// sensor runs; its rules and its executable do.
		if err := s.checkOtherSensor(cfg.procRoot); err != nil {
			return nil, err
		}
	}
	// Rules with our key left by a sensor that died are not ours to keep.
	if n, err := s.deleteOwnRules(); err != nil {
		return nil, err
	} else if n > 0 {
		s.log.Warn("removed stale audit rules", "key", s.key, "count", n)
	}

	if s.data, err = openStream(cfg.ReceiveBuffer, cfg.BatchWindow); err != nil {
		return nil, err
	}
	if mode == ModeUnicast {
		if err := s.data.becomePID(self); err != nil {
			if errors.Is(err, unix.EEXIST) {
				// The kernel (4.11+) found a live holder that /proc did not show
				// us: tell who it is.
				now, _ := s.ctl.status()
				return nil, &HolderError{PID: now.PID, Comm: readComm(cfg.procRoot, now.PID), Err: err}
			}
			return nil, err
		}
		s.becamePID = true
		s.recordsFromNow()
		if err := s.raiseBacklog(st, cfg.BacklogLimit); err != nil {
			return nil, err
		}
	}
	if cfg.Companion != nil {
		if err := s.data.batch.Follow(cfg.Companion); err != nil {
			return nil, fmt.Errorf("audit: data socket: %w", err)
		}
		s.data.companionRead, s.mcast.companionRead = cfg.CompanionRead, cfg.CompanionRead
	}
	// Holding the PID the sensor's rules go first; beside auditd after the
	// admin's, so that the admin's records keep their keys and the admin's
	// never rules keep their effect.
	s.rulesAdded = true // from here on teardown deletes by key
	var refused []RefusedRule
	if s.wires, refused, err = addRules(s.ctl, s.specsFor(mode), s.wiresFor(mode)); err != nil {
		return nil, err
	}
	s.dropRefused(refused)
	if st.Enabled != enabledOn {
		if err := s.ctl.set(Status{Mask: statusEnabled, Enabled: enabledOn}, "enabled"); err != nil {
			return nil, err
		}
		s.changedEnabled = true
	}
	return refused, nil
}

// raiseBacklog raises the backlog limit to at least limit and sets the
// wait time to 0, noting what it changed so teardown can put it back.
func (s *Session) raiseBacklog(st Status, limit uint32) error {
	if st.BacklogLimit < limit {
		if err := s.ctl.set(Status{Mask: statusBacklogLimit, BacklogLimit: limit}, "backlog limit"); err != nil {
			return err
		}
		if !s.changedBacklog {
			s.found.BacklogLimit = st.BacklogLimit
		}
		s.changedBacklog = true
	}
	// The kernel's default (60 s) would stall every audited syscall for a
	// minute per record behind a stuck reader; 0 drops records under any
	// flood. The sensor never waits itself (kernel/audit.c audit_log_start
	// exempts the audit PID), and a waiting syscall goes on as soon as the
	// sensor has read enough to make room.
	if wait := backlogWaitJiffies(s.cfg.BacklogWait); st.HasBacklogWaitTime() && st.BacklogWaitTime != wait {
		if err := s.ctl.set(Status{Mask: statusBacklogWaitTime, BacklogWaitTime: wait}, "backlog wait time"); err != nil {
			return err
		}
		if !s.changedWait {
			s.found.BacklogWaitTime = st.BacklogWaitTime
		}
		s.changedWait = true
	}
	return nil
}

// backlogWaitJiffies turns Config.BacklogWait into the kernel's unit.
func backlogWaitJiffies(d time.Duration) uint32 {
	switch {
	case d < 0:
		return 0
	case d == 0:
		d = DefaultBacklogWait
	}
	return jiffies(d, kernelHZ("/boot"))
}

// teardown undoes what setup did, in reverse, and carries on past errors.
func (s *Session) teardown() error {
	var errs []error
	if s.rulesAdded {
		if _, err := s.deleteOwnRules(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.changedEnabled {
		errs = append(errs, s.ctl.set(Status{Mask: statusEnabled, Enabled: s.found.Enabled}, "enabled"))
	}
	if s.changedWait {
		errs = append(errs, s.ctl.set(Status{Mask: statusBacklogWaitTime, BacklogWaitTime: s.found.BacklogWaitTime}, "backlog wait time"))
	}
	if s.changedBacklog {
		errs = append(errs, s.ctl.set(Status{Mask: statusBacklogLimit, BacklogLimit: s.found.BacklogLimit}, "backlog limit"))
	}
	if s.becamePID {
		// Only the holder's own process may unregister (kernel/audit.c,
		// AUDIT_SET with pid 0); any of its sockets will do. A daemon that
		// took the PID since keeps it.
		if st, err := s.ctl.status(); err != nil || st.PID == s.self {
			errs = append(errs, s.ctl.set(Status{Mask: statusPID, PID: 0}, "audit pid 0"))
		}
	}
	if s.data != nil {
		errs = append(errs, s.data.close())
	}
	if s.mcast != nil {
		errs = append(errs, s.mcast.close())
	}
	errs = append(errs, s.ctl.close())
	return errors.Join(errs...)
}

// Run hands every record to fn until ctx is done (then it returns ctx.Err()),
// the session is closed (ErrClosed) or a socket fails. It reads the unicast
// and the multicast socket; around a switch between them a record that
// came on both is handed on once. Record.Data points into a receive buffer
// and is valid only during the call: fn copies what it keeps. Calls to fn
// do not overlap. Run is not reentrant; call it from one goroutine.
func (s *Session) Run(ctx context.Context, fn func(Record)) error {
	return s.RunBatches(ctx, func(recs []Record) {
		for _, r := range recs {
			fn(r)
		}
	})
}

// RunBatches is Run handing over, in one call, the records the socket held
// at once (up to 64, read with one recvmmsg): a consumer that passes them
// to another goroutine pays one hand-off per batch, not one per record.
// The slice and the records' Data are valid only during the call.
func (s *Session) RunBatches(ctx context.Context, fn func([]Record)) error {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.closing.Load() {
		return ErrClosed
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var socks []*stream
	for _, st := range []*stream{s.data, s.mcast} {
		if st != nil {
			socks = append(socks, st)
		}
	}
	errc := make(chan error, len(socks))
	for i, st := range socks {
		src := i
		go func() { errc <- st.run(ctx, func(recs []Record) { s.deliver(src, recs, fn) }) }()
	}
	err := <-errc
	cancel()
	for range socks[1:] {
		<-errc
	}
	if s.closing.Load() && parent.Err() == nil {
		return ErrClosed
	}
	if parent.Err() != nil {
		return parent.Err()
	}
	return err
}

// backlogShort reports whether the kernel's backlog is surely under its
// limit, so that a control request's sender will not be made to wait
// (client.rawSend): the session holds the audit PID and its last read
// emptied the data socket, so kauditd, which blocks only on a full socket,
// was draining the backlog into it. Beside auditd the backlog is auditd's
// to drain, and nothing is known.
func (s *Session) backlogShort() bool {
	return s.Mode() == ModeUnicast && s.data != nil && s.data.drained.Load()
}

// Follows reports whether the session reads Config.Companion along with
// the audit records.
func (s *Session) Follows() bool { return s.data != nil && s.data.companionRead != nil }

// Hurry makes both audit sockets' reads take no batch window for d, ending
// a window under way (mmsg.Reader.Hurry): what comes meanwhile, and the
// companion's datagrams, are read the moment they are queued.
func (s *Session) Hurry(d time.Duration) {
	for _, st := range []*stream{s.data, s.mcast} {
		if st != nil {
			st.batch.Hurry(d)
		}
	}
}

// Status asks the kernel for its audit status (on the control socket).
func (s *Session) Status() (Status, error) { return s.ctl.status() }

// Lost returns the kernel's count of records it dropped since boot
// (Status.Lost); the sensor polls it and logs increases, so that nothing is
// lost silently.
func (s *Session) Lost() (uint32, error) {
	st, err := s.ctl.status()
	if err != nil {
		return 0, err
	}
	return st.Lost, nil
}

// Stats returns the counters of both sockets, summed (ENOBUFS is an
// overflow of either). CoexistStats tells them apart.
func (s *Session) Stats() StreamStats {
	var t StreamStats
	for _, st := range []*stream{s.data, s.mcast} {
		if st == nil {
			continue
		}
		x := st.stats()
		t.Messages += x.Messages
		t.Bytes += x.Bytes
		t.ENOBUFS += x.ENOBUFS
		t.Foreign += x.Foreign
		t.Short += x.Short
		t.Truncated += x.Truncated
		t.Reads += x.Reads
		t.Drops += x.Drops
		t.DropsUnknown = t.DropsUnknown || x.DropsUnknown
	}
	// Serials are numbered over both sockets: one tracker for the session.
	s.deliverMu.Lock()
	t.SerialGaps = s.serials.Gaps()
	s.deliverMu.Unlock()
	return t
}

// Close removes the session's rules (by key), restores the enabled flag and
// backlog settings found at Open, releases the audit PID and closes the
// sockets. It stops a running Run first. Calling it again returns the first
// result.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		if s.data != nil {
			s.data.wake()
		}
		if s.mcast != nil {
			s.mcast.wake()
		}
		s.runMu.Lock()
		defer s.runMu.Unlock()
		s.closeErr = s.teardown()
	})
	return s.closeErr
}

// checkHolder fails when a live process other than a dead one holds the
// audit PID. The kernel cannot be trusted to refuse: 3.16 lets a new PID
// replace a live one silently (kernel/audit.c, AUDIT_SET). A stale PID (no
// such process) is no holder; the kernel resets it when it tests the old
// daemon with AUDIT_REPLACE or fails to send to it.
func checkHolder(pid uint32, procRoot string) error {
	if pid == 0 {
		return nil
	}
	if _, err := os.Stat(procRoot + "/" + strconv.FormatUint(uint64(pid), 10)); err != nil {
		return nil
	}
	return &HolderError{PID: pid, Comm: readComm(procRoot, pid)}
}

// readComm returns /proc/PID/comm without the newline, "" on error.
func readComm(procRoot string, pid uint32) string {
	b, err := os.ReadFile(procRoot + "/" + strconv.FormatUint(uint64(pid), 10) + "/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
