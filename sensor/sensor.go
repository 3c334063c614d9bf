// Package sensor joins the parts: it keeps the process tree from the /proc
// scan and the proc connector, turns audit events into enriched ECS events,
// feeds them to the rules engine and writes an alert for every match.
//
// Reading order for a newcomer: sensor.go (start-up and the event loop),
// events.go (audit event -> rules.Event), resolve.go (finding a pid's
// entity), tree.go and entity.go, then alert.go.
package sensor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
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
	if err := s.scan(); err != nil {
		return err
	}

	sess, err := audit.Open(audit.Config{
		Key:           cfg.AuditKey,
		BacklogLimit:  cfg.BacklogLimit,
		ReceiveBuffer: cfg.ReceiveBuffer,
		BacklogWait:   cfg.BacklogWait,
		Logger:        log,
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
	s.sess, s.lis = sess, lis
	// Records lost before the sensor started are not its losses.
	if lost, err := sess.Lost(); err == nil {
		s.lossesSeen.KernelLost = uint64(lost)
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
	handoff handoff
	procCh  chan procfs.Event

	probe      string // argv[1] of the readiness probe
	ready      chan struct{}
	counts     counts
	lastLog    counts
	lossesSeen losses // at the last health record
	losses     *lossTracker
	kernelLost uint64 // the kernel's lost counter, widened to 64 bits
}

// counts are the sensor's own counters, logged when they move.
type counts struct {
	Execs, Connects, Forks, Exits, Alerts, AlertErrors uint64
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
	engine, err := rules.NewEngine([]*rules.Rule{rules.AptNetcon()}, rules.EngineConfig{})
	if err != nil {
		return nil, err
	}
	s := &sensor{
		cfg: cfg, log: cfg.Logger, fs: fs, host: host, bootID: bootID, tree: tree, engine: engine,
		asm:     audit.NewAssembler(audit.AssemblerConfig{}),
		handoff: newHandoff(handoffBatches),
		procCh:  make(chan procfs.Event, 16384),
		ready:   make(chan struct{}),
	}
	s.emit = s.emitAudit
	s.res = &resolver{tree: tree, readProc: s.readProc, nextProcEvent: s.nextProcEvent, wait: cfg.ParentWait}
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
	for _, p := range procs {
		s.tree.Put(procFromFS(p, "scan"))
	}
	s.log.Info("scanned /proc", "processes", len(procs))
	return nil
}

func (s *sensor) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		errc <- s.lis.Run(ctx, func(ev procfs.Event) {
			select {
			case s.procCh <- ev:
			case <-ctx.Done():
			}
		})
	}()
	go func() {
		defer wg.Done()
		errc <- s.sess.RunBatches(ctx, func(recs []audit.Record) { s.push(ctx, recs) })
	}()
	defer wg.Wait()
	defer cancel()

	probeErr := s.startProbe(ctx)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	health := time.NewTicker(30 * time.Second)
	defer health.Stop()
	for {
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
		case b := <-s.handoff.full:
			s.handleBatch(b)
		case ev := <-s.procCh:
			s.applyProcEvent(ev)
		case now := <-tick.C:
			s.flushAssembler(now)
			s.engine.Expire(now)
			s.checkLosses(now)
			if err := s.repairAudit(); err != nil {
				return err
			}
		case <-health.C:
			s.logHealth()
		}
	}
}

// drainProcEvents applies the proc events already queued: they are older
// than the audit event about to be handled, or close to it.
func (s *sensor) drainProcEvents() {
	for {
		select {
		case ev := <-s.procCh:
			s.applyProcEvent(ev)
		default:
			return
		}
	}
}

// nextProcEvent applies one proc event, waiting until deadline for it.
func (s *sensor) nextProcEvent(deadline time.Time) bool {
	d := time.Until(deadline)
	if d <= 0 {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case ev := <-s.procCh:
		s.applyProcEvent(ev)
		return true
	case <-t.C:
		return false
	}
}
