package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aptsentinel/aptsentinel/sensor"
)

// readyWait bounds the in-process sensor's start; the sensor's own
// readiness probe fails it after 5 s without audit events.
const readyWait = 30 * time.Second

// runInProcess runs a sensor in this process for the test, triggers the
// chain and waits for the alert; the sensor is stopped (its rules removed,
// the audit PID released) before it returns.
func (st *selftest) runInProcess(ctx context.Context) (res selftestResult, err error) {
	catcher := &alertCatcher{ch: make(chan caughtAlert, 64), stderr: st.stderr}
	ready := make(chan struct{})
	// Quiet by default: the sensor's errors come back from Run into the
	// FAIL line; --verbose shows all its logs.
	var logTo slog.Handler = slog.NewTextHandler(st.stderr, &slog.HandlerOptions{Level: slog.LevelError})
	if st.verbose != nil {
		logTo = slog.NewJSONHandler(st.verbose, nil)
	}
	cfg := sensor.Config{
		Output:  catcher,
		Logger:  slog.New(&readyHandler{next: logTo, ready: ready, once: new(sync.Once)}),
		Version: version,
	}
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	var runErr error
	go func() {
		defer close(done)
		runErr = sensor.Run(sctx, cfg)
	}()
	defer func() {
		stop()
		<-done
		if runErr != nil {
			err = errors.Join(err, fmt.Errorf("in-process sensor: %w", runErr))
			res = selftestResult{}
		}
	}()

	select {
	case <-ready:
	case <-done:
		return selftestResult{}, errors.New("in-process sensor stopped before it was ready")
	case <-ctx.Done():
		return selftestResult{}, errInterrupted
	case <-time.After(readyWait):
		return selftestResult{}, fmt.Errorf("in-process sensor not ready after %s", readyWait)
	}
	st.logf("in-process sensor ready")
	rep, err := st.trigger(ctx)
	if err != nil {
		return selftestResult{}, err
	}
	at, err := st.waitInProcessAlert(ctx, catcher, rep, done)
	if err != nil {
		return selftestResult{}, err
	}
	return selftestResult{latency: at.Sub(rep.connectAt), sensor: "in-process"}, nil
}

// waitInProcessAlert waits for the trigger's alert; other alerts are real
// ones raised during the test, and are written to stderr, not lost.
func (st *selftest) waitInProcessAlert(ctx context.Context, c *alertCatcher, rep triggerReport, done <-chan struct{}) (time.Time, error) {
	timer := time.NewTimer(time.Until(rep.connectAt.Add(st.timeout)))
	defer timer.Stop()
	for {
		select {
		case a := <-c.ch:
			doc, ok := parseAlertDoc(a.line)
			if !ok || !doc.matches(rep) {
				fmt.Fprintf(st.stderr, "selftest: an alert not raised by the self-test: %s\n", a.line)
				continue
			}
			if late := a.at.Sub(rep.connectAt); late > st.timeout {
				return time.Time{}, fmt.Errorf("the alert came %s after the connect(), later than --timeout %s", roundLatency(late), st.timeout)
			}
			return a.at, nil
		case <-done:
			return time.Time{}, errors.New("in-process sensor stopped before the alert")
		case <-ctx.Done():
			return time.Time{}, errInterrupted
		case <-timer.C:
			return time.Time{}, timeoutErr(st.timeout, rep)
		}
	}
}

// caughtAlert is an alert line and when the sensor wrote it.
type caughtAlert struct {
	line []byte
	at   time.Time
}

// alertCatcher is the in-process sensor's output: it hands each alert to
// the self-test. It never blocks the sensor's event loop.
type alertCatcher struct {
	ch     chan caughtAlert
	stderr io.Writer
}

// WriteAlert keeps a copy of line (the sensor reuses it).
func (c *alertCatcher) WriteAlert(_ *sensor.Alert, line []byte) error {
	a := caughtAlert{line: append([]byte(nil), line...), at: time.Now()}
	select {
	case c.ch <- a:
		return nil
	default:
		// Not expected in a seconds-long test; an alert must not vanish.
		fmt.Fprintf(c.stderr, "selftest: alert queue full; alert: %s\n", a.line)
		return errors.New("selftest: alert queue full")
	}
}

// readyHandler passes log records on to next and closes ready at the
// sensor's "ready" record, which it writes once its rules are installed
// and audit events flow (DESIGN.md, "Contracts").
type readyHandler struct {
	next  slog.Handler
	ready chan struct{}
	once  *sync.Once
}

// Enabled is true at info level whatever next wants: "ready" is an info record.
func (h *readyHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

// Handle watches for "ready" and passes on what next wants.
func (h *readyHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "ready" {
		h.once.Do(func() { close(h.ready) })
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs keeps watching on the derived handler.
func (h *readyHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &readyHandler{next: h.next.WithAttrs(as), ready: h.ready, once: h.once}
}

// WithGroup keeps watching on the derived handler.
func (h *readyHandler) WithGroup(name string) slog.Handler {
	return &readyHandler{next: h.next.WithGroup(name), ready: h.ready, once: h.once}
}
