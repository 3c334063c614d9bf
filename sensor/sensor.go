// Package sensor joins the parts: it keeps the process tree from the /proc
// scan and the proc connector, turns audit events into enriched ECS events,
// feeds them to the rules engine and hands every match to the alert stage
// (package alert, through Config.Output).
//
// Reading order for a newcomer: sensor.go (start-up and the event loop),
// events.go (audit event -> rules.Event), resolve.go (finding a pid's
// entity), tree.go and entity.go.
package sensor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/procfs"
	"github.com/aptsentinel/aptsentinel/rules"
)

// Run runs the sensor until ctx is done, then puts the kernel's audit
// state back as it found it. It returns nil after a clean stop.
func Run(ctx context.Context, cfg Config) error {
	cfg.setDefaults()
	if cfg.Output == nil {
		return errors.New("sensor: no output configured")
	}
	log := cfg.Logger
	s, err := newSensor(cfg)
	if err != nil {
		return err
	}

	// Listen to forks before scanning /proc: a process forked during the
	// scan is then seen by one or both, never by neither.
	lis, err := procfs.Listen(s.fs, procfs.ListenConfig{Logger: log})
	if err != nil {
		return fmt.Errorf("proc connector: %w", err)
	}
	defer lis.Close()
	s.lis = lis
	if err := s.scan(); err != nil {
		return err
	}

	// The proc connector is read by the audit sockets' goroutines, after
	// each of their reads (drainProcs): a fork is then always handed on
	// before the audit records of its child, and costs no wake-up of its
	// own while records keep coming. Only with audit locked (no data
	// socket) does it have a goroutine of its own.
	sess, err := audit.Open(audit.Config{
		Key:           cfg.AuditKey,
		BacklogLimit:  cfg.BacklogLimit,
		ReceiveBuffer: cfg.ReceiveBuffer,
		BacklogWait:   cfg.BacklogWait,
		BatchWindow:   cfg.batchWindow(),
		Logger:        log,
		OnTamper:      s.onTamper,
		Companion:     lis.Reader(),
		CompanionRead: s.drainProcs,
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := sess.Close(); err != nil {
			log.Error("restoring the kernel audit state", "err", err.Error())
		} else {
			log.Info("stopped: audit rules removed, audit PID released")
		}
	}()
	s.sess = sess
	s.daemons = audit.NewDaemonWatch(cfg.ProcRoot)
	s.writeStatus()
	defer s.removeStatus()
	// Records lost before the sensor started are not its losses.
	if lost, err := sess.Lost(); err == nil {
		s.lossesSeen.KernelLost = uint64(lost)
		s.kernelLostAtStart = uint64(lost)
		s.kernelLost = uint64(lost)
	}
	s.losses = newLossTracker(time.Now(), s.readLosses())
	err = s.run(ctx)
	s.finalLosses(time.Now())
	return err
}

// sensor is the running sensor's state. Everything but the channels
// belongs to the event loop goroutine (handoff.go says how records reach
// it).
type sensor struct {
	cfg    Config
	log    *slog.Logger
	fs     procfs.FS
	host   Host
	bootID string
	tree   *Tree
	res    *resolver
	engine *rules.Engine
	sess   *audit.Session
	lis    *procfs.Listener

	asm     *audit.Assembler
	emit    func(audit.Event) // s.emitAudit
	handoff handoff[recordBatch]
	procs   handoff[procBatch]
	// runCtx ends the reading goroutines' waits for a free batch;
	// handProcs is s.pushProcs, bound once (drainProcs runs per read).
	runCtx    context.Context
	handProcs func([]procfs.Event)
	// mu is held by whoever works on the loop's state: the loop, and an
	// audit goroutine handling its own read while nothing is queued;
	// queued counts the batches handed to the loop and not yet handled;
	// nudge makes the loop look at the held events again, heldAt the
	// bound its timer is armed for (handoff.go).
	mu     sync.Mutex
	queued atomic.Int32
	nudge  chan struct{}
	heldAt time.Time
	adapt  adaptiveProcs // procs.go
	// backlogAt is when the loop last saw records pile up (noteBacklog).
	backlogAt time.Time
	fullReads int // audit reads in a row that filled every slot

	// daemons recognises auditd's exec; started and statusAt
	// feed the status file and the loss log (coexist.go).
	daemons           *audit.DaemonWatch
	started           time.Time
	kernelLostAtStart uint64
	statusAt          time.Time

	probe      string // argv[1] of the readiness probe
	ready      chan struct{}
	counts     counts
	lastLog    counts
	lossesSeen losses // at the last health record
	// notifyFailing: the last sd_notify failed (notify.go).
	notifyFailing bool
	losses        *lossTracker
	kernelLost    uint64     // the kernel's lost counter, widened to 64 bits
	own           ownAlerts  // own_alerts.go
	watched       watchedDir // audit.WatchedDir's identity (file.go)
}

// counts are the sensor's own counters, logged when they move.
type counts struct {
	Execs, Connects, Files, Forks, Exits, Alerts, AlertErrors uint64
}

func newSensor(cfg Config) (*sensor, error) {
	host, err := ReadHost(cfg.HostRoot)
	if err != nil {
		return nil, err
	}
	fs, err := procfs.NewFS(cfg.ProcRoot)
	if err != nil {
		return nil, err
	}
	bootID, err := fs.BootID()
	if err != nil {
		return nil, err
	}
	tree, err := NewTree(bootID, cfg.CacheSize)
	if err != nil {
		return nil, err
	}
	rs := cfg.Rules
	if rs == nil {
		if rs, err = rules.Shipped(); err != nil {
			return nil, err
		}
	}
	engine, err := rules.NewEngine(rs, rules.EngineConfig{Lateness: cfg.Lateness})
	if err != nil {
		return nil, err
	}
	s := &sensor{
		cfg: cfg, log: cfg.Logger, fs: fs, host: host, bootID: bootID, tree: tree, engine: engine,
		started: time.Now(),
		asm:     audit.NewAssembler(audit.AssemblerConfig{}),
		handoff: newHandoff[recordBatch](handoffBatches),
		procs:   newHandoff[procBatch](procBatches),
		ready:   make(chan struct{}),
		nudge:   make(chan struct{}, 1),
	}
	s.own.init(rs)
	s.emit = s.emitAudit
	s.handProcs = s.pushProcs
	s.res = newResolver(tree, cfg.ParentWait)
	s.watched, _ = statWatchedDir(audit.WatchedDir)
	s.res.readEntity, s.res.readStart, s.res.release = s.readEntity, s.readStart, s.applyAudit
	return s, nil
}

// scan loads every running process into the tree, so processes older than
// the sensor (an apt already running) are known.
func (s *sensor) scan() error {
	procs, err := s.fs.Scan()
	switch {
	case errors.Is(err, fs.ErrPermission) && len(procs) > 0:
		// Some entries (pid 1's exe, in a sandbox) may be closed even to
		// root; the processes are still known by pid, start time and comm.
		s.log.Warn("scanning /proc: some entries unreadable", "err", err.Error())
	case err != nil:
		return fmt.Errorf("scanning /proc: %w", err)
	}
	scanned := make([]*Entity, len(procs))
	for i, p := range procs {
		scanned[i] = s.tree.Put(entityFromFS(p, "scan"))
	}
	// For processes older than the sensor, the parent /proc names now is
	// the best knowledge of the parent at fork.
	linkScanned(scanned)
	s.log.Info("scanned /proc", "processes", len(procs))
	return nil
}

func (s *sensor) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.runCtx = ctx
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Add(3)
	control, controlRes := make(chan time.Time, 1), make(chan controlResult, 1)
	go func() {
		defer wg.Done()
		s.runControl(ctx, control, controlRes)
	}()
	go func() {
		defer wg.Done()
		s.watchDaemonOpens(ctx)
	}()
	if !s.sess.Follows() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- s.lis.RunBatches(ctx, s.handProcs)
		}()
	}
	go func() {
		defer wg.Done()
		errc <- s.sess.RunBatches(ctx, func(recs []audit.Record) { s.push(ctx, recs) })
	}()
	defer wg.Wait()
	defer cancel()

	s.mu.Lock()
	s.adapt.log = s.log
	s.adapt.start(s.cfg.AdaptProcs)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock() // an audit goroutine may be handling a read (handoff.go)
		s.adapt.stop()
		s.mu.Unlock()
	}()
	probeErr := s.startProbe(ctx)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	health := time.NewTicker(30 * time.Second)
	defer health.Stop()
	// held fires when the oldest event held by the resolver reaches its
	// bound; it is armed only while events are held.
	held := time.NewTimer(time.Hour)
	held.Stop()
	defer held.Stop()
	// Everything the loop handles, it handles holding mu: an audit
	// goroutine handles its own read when nothing is queued (handoff.go).
	for {
		s.mu.Lock()
		if d, ok := s.res.nextDeadline(); ok && !d.Equal(s.heldAt) {
			s.heldAt = d
			held.Reset(time.Until(d))
		} else if !ok && !s.heldAt.IsZero() {
			// Released early (the fork came): a timer left armed would
			// wake the process for nothing.
			held.Stop()
			s.heldAt = time.Time{}
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case err := <-probeErr:
			if err != nil {
				return err
			}
		case <-s.nudge: // events held by an audit goroutine: re-arm held
		case b := <-s.handoff.full:
			s.mu.Lock()
			s.noteBacklog(len(b.recs))
			s.handleBatch(b)
			s.mu.Unlock()
		case b := <-s.procs.full:
			s.mu.Lock()
			s.applyProcBatch(b)
			s.mu.Unlock()
		case t := <-s.own.tampers:
			s.mu.Lock()
			s.drainProcEvents()
			s.raiseTamper(t)
			s.mu.Unlock()
		case now := <-held.C:
			s.mu.Lock()
			s.heldAt = time.Time{}
			s.drainProcEvents()
			s.res.expire(now)
			s.mu.Unlock()
		case now := <-tick.C:
			s.mu.Lock()
			s.flushAssembler(now)
			s.engine.Expire(now)
			select {
			case control <- now:
			default: // the last round is still running
			}
			s.coexistTick(now)
			s.adapt.tick(now)
			s.watchdogPing()
			s.mu.Unlock()
		case <-health.C:
			s.mu.Lock()
			s.logHealth()
			s.mu.Unlock()
		case r := <-controlRes:
			s.mu.Lock()
			s.applyControl(r)
			s.mu.Unlock()
			if r.err != nil {
				return r.err
			}
		case rs := <-s.cfg.Reload:
			s.mu.Lock()
			s.reloadRules(rs)
			s.mu.Unlock()
		}
	}
}

// noteBacklog looks at the audit batch the loop is about to handle:
// fullReads reads in a row that filled every slot, or many batches queued
// behind it, mean records are piling up. One full read does not: with one
// P a delay of some milliseconds (the tick's work, another program on the
// CPU) makes one at 1,000 events/s.
func (s *sensor) noteBacklog(n int) {
	if n >= audit.BatchSlots {
		s.fullReads++
	} else {
		s.fullReads = 0
	}
	if s.fullReads < fullReads && len(s.handoff.full) < busyBatches && len(s.procs.full) < busyBatches {
		return
	}
	now := time.Now()
	s.backlogAt = now
	if s.adapt.on && s.adapt.now == 1 {
		s.log.Debug("records pile up", "full_reads", s.fullReads, "queued", len(s.handoff.full), "queued_proc", len(s.procs.full))
	}
	s.adapt.backlog(now)
}

// drainProcEvents applies the proc events already queued: they are older
// than the audit event about to be handled, or close to it.
func (s *sensor) drainProcEvents() {
	for {
		select {
		case b := <-s.procs.full:
			s.applyProcBatch(b)
		default:
			return
		}
	}
}

// reloadRules swaps in a new rule set; audit is not touched. A set the
// engine refuses leaves the running one.
func (s *sensor) reloadRules(rs []*rules.Rule) {
	if err := s.engine.Reload(rs); err != nil {
		s.log.Error("rules not reloaded: keeping the running set", "err", err.Error())
		return
	}
	s.own.setRules(rs)
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	s.log.Info("rules reloaded", "rules", len(rs), "ids", ids, "pending", s.engine.Stats().Pending)
}
