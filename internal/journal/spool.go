package journal

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Sender delivers one encoded entry; *Client is one.
type Sender interface {
	SendBytes(b []byte) error
}

// SpoolConfig bounds a Spool. Zero values take the defaults noted.
type SpoolConfig struct {
	// MaxEntries and MaxBytes bound the entries waiting for journald
	// (defaults 4096 and 16 MiB); when either is reached the oldest entry is
	// dropped and counted.
	MaxEntries int
	MaxBytes   int
	// RetryMin and RetryMax bound the wait between attempts while journald
	// is unreachable (defaults 20ms and 1s, doubling in between).
	RetryMin, RetryMax time.Duration
	// DrainTimeout bounds the last delivery attempts once Run's context is
	// done (default 2s).
	DrainTimeout time.Duration
	// Logger reports delivery trouble. It must not write to the journal
	// (the journal is what is failing): the sensor gives a stderr logger.
	// Default: slog.Default().
	Logger *slog.Logger
	// Name names the spool in its reports ("alerts", "logs").
	Name string
}

// SpoolStats counts a Spool's entries.
type SpoolStats struct {
	Delivered uint64 // sent to journald
	Dropped   uint64 // pushed out of a full buffer, oldest first
	Abandoned uint64 // still waiting when Run gave up at stop
	Queued    int    // waiting now
	Failures  uint64 // failed send attempts
}

// Spool delivers entries to journald in order, keeping them in a bounded
// memory buffer while journald restarts or is briefly gone. Enqueue never
// blocks; a background flusher (Run) sends and retries.
type Spool struct {
	send Sender
	cfg  SpoolConfig
	log  *slog.Logger

	mu      sync.Mutex
	queue   [][]byte
	bytes   int
	stopped bool
	stats   SpoolStats
	wake    chan struct{}
}

// NewSpool returns a Spool sending with s. Call Run to start delivery.
func NewSpool(s Sender, cfg SpoolConfig) *Spool {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 4096
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 16 << 20
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 20 * time.Millisecond
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(time.Second, cfg.RetryMin)
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Spool{send: s, cfg: cfg, log: cfg.Logger.With("spool", cfg.Name), wake: make(chan struct{}, 1)}
}

// Enqueue queues a copy of the encoded entry b for delivery and returns at
// once. Once Run has returned, it sends b directly, once, and counts it
// abandoned if that fails.
func (s *Spool) Enqueue(b []byte) {
	if len(b) == 0 {
		return
	}
	c := append([]byte(nil), b...)
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		s.sendLate(c)
		return
	}
	s.queue = append(s.queue, c)
	s.bytes += len(c)
	s.trimLocked()
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Stats returns the counts so far.
func (s *Spool) Stats() SpoolStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Queued = len(s.queue)
	return st
}

// trimLocked drops the oldest entries beyond the bounds. The newest entry
// is kept even alone over MaxBytes: Entry already bounds one entry's size.
func (s *Spool) trimLocked() {
	for len(s.queue) > 1 && (len(s.queue) > s.cfg.MaxEntries || s.bytes > s.cfg.MaxBytes) {
		s.bytes -= len(s.queue[0])
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.stats.Dropped++
		if s.stats.Dropped == 1 || s.stats.Dropped%1000 == 0 {
			s.log.Error("journal buffer full: oldest entries dropped",
				"dropped_total", s.stats.Dropped, "max_entries", s.cfg.MaxEntries, "max_bytes", s.cfg.MaxBytes)
		}
	}
}

// Run delivers queued entries until ctx is done, then keeps trying for at
// most DrainTimeout, counts what is left as abandoned, reports it and
// returns. Run once.
func (s *Spool) Run(ctx context.Context) {
	retry := s.cfg.RetryMin
	var down time.Time // when delivery started failing; zero while it works
	timer := time.NewTimer(0)
	<-timer.C
	for {
		err := s.flush()
		switch {
		case err == nil && !down.IsZero():
			s.log.Warn("journal reachable again", "unreachable_for", time.Since(down).Round(time.Millisecond).String(),
				"dropped_total", s.Stats().Dropped)
			down, retry = time.Time{}, s.cfg.RetryMin
		case err != nil && down.IsZero():
			down = time.Now()
			s.log.Warn("journal unreachable: buffering entries and retrying", "err", err.Error(),
				"max_entries", s.cfg.MaxEntries, "max_bytes", s.cfg.MaxBytes)
		}
		var retryC <-chan time.Time
		if err != nil {
			timer.Reset(retry)
			retryC = timer.C
			retry = min(retry*2, s.cfg.RetryMax)
		}
		select {
		case <-ctx.Done():
			timer.Stop()
			s.drain()
			return
		case <-s.wake:
			timer.Stop()
		case <-retryC:
		}
	}
}

// flush sends queued entries in order until the queue is empty or a send
// fails; the failed entry stays first in line.
func (s *Spool) flush() error {
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.mu.Unlock()
			return nil
		}
		// Sent while still queued: an entry being sent stays counted in the
		// bounds, and if it is dropped meanwhile its delivery is simply
		// counted twice (dropped and delivered) rather than lost.
		head := s.queue[0]
		s.mu.Unlock()
		err := s.send.SendBytes(head)
		s.mu.Lock()
		if err != nil {
			s.stats.Failures++
			s.mu.Unlock()
			return err
		}
		s.stats.Delivered++
		if len(s.queue) > 0 && &s.queue[0][0] == &head[0] {
			s.bytes -= len(head)
			s.queue[0] = nil
			s.queue = s.queue[1:]
		}
		s.mu.Unlock()
	}
}

// drain makes the last attempts after Run's context is done.
func (s *Spool) drain() {
	deadline := time.Now().Add(s.cfg.DrainTimeout)
	retry := s.cfg.RetryMin
	var err error
	for {
		if err = s.flush(); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(min(retry, time.Until(deadline)))
		retry = min(retry*2, s.cfg.RetryMax)
	}
	s.mu.Lock()
	s.stopped = true
	left := len(s.queue)
	s.stats.Abandoned += uint64(left)
	s.queue, s.bytes = nil, 0
	st := s.stats
	s.mu.Unlock()
	if left > 0 || st.Dropped > 0 {
		attrs := []any{"abandoned", left, "dropped_total", st.Dropped, "delivered", st.Delivered}
		if err != nil {
			attrs = append(attrs, "err", err.Error())
		}
		s.log.Error("journal entries not delivered", attrs...)
	}
}

func (s *Spool) sendLate(b []byte) {
	if err := s.send.SendBytes(b); err != nil {
		s.mu.Lock()
		s.stats.Abandoned++
		s.mu.Unlock()
		s.log.Error("journal entry not delivered after stop", "err", err.Error())
		return
	}
	s.mu.Lock()
	s.stats.Delivered++
	s.mu.Unlock()
}
