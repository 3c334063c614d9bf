package selftest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aptsentinel/aptsentinel/alert"
	"github.com/aptsentinel/aptsentinel/sensor"
)

// readyWait bounds the in-process sensor's start; the sensor's own
// readiness probe fails it after 5 s without audit events.
const readyWait = 30 * time.Second

// runInProcess runs a sensor in this process for the test, triggers the
// chain and waits for the alert; the sensor is stopped (its rules removed,
// the audit PID released) before it returns.
func (st *selftest) runInProcess(ctx context.Context) (res Result, err error) {
	catcher := &alertCatcher{ch: make(chan caughtAlert, 64), stderr: st.Stderr}
	ready := make(chan struct{})
	var once sync.Once
	// Quiet by default: the sensor's errors come back from Run into the
	// FAIL line; --verbose shows all its logs.
	var logTo slog.Handler = slog.NewTextHandler(st.Stderr, &slog.HandlerOptions{Level: slog.LevelError})
	if st.verbose != nil {
		logTo = slog.NewJSONHandler(st.verbose, nil)
	}
	cfg := sensor.Config{
		Output:  alert.NewStage(catcher),
		Logger:  slog.New(logTo),
		Ready:   func() { once.Do(func() { close(ready) }) },
		Version: st.Version,
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
			res = Result{}
		}
	}()

	select {
	case <-ready:
	case <-done:
		return Result{}, errors.New("in-process sensor stopped before it was ready")
	case <-ctx.Done():
		return Result{}, ErrInterrupted
	case <-time.After(readyWait):
		return Result{}, fmt.Errorf("in-process sensor not ready after %s", readyWait)
	}
	st.logf("in-process sensor ready")
	rep, err := st.trigger(ctx)
	if err != nil {
		return Result{}, err
	}
	at, err := st.waitInProcessAlert(ctx, catcher, rep, done)
	if err != nil {
		return Result{}, err
	}
	return Result{Latency: at.Sub(rep.connectAt), Sensor: "in-process"}, nil
}

// waitInProcessAlert waits for the trigger's alert; other alerts are real
// ones raised during the test, and are written to stderr, not lost.
func (st *selftest) waitInProcessAlert(ctx context.Context, c *alertCatcher, rep triggerReport, done <-chan struct{}) (time.Time, error) {
	timer := time.NewTimer(time.Until(rep.connectAt.Add(st.Timeout)))
	defer timer.Stop()
	for {
		select {
		case a := <-c.ch:
			doc, ok := parseAlertDoc(a.line)
			if !ok || !doc.matches(rep) {
				fmt.Fprintf(st.Stderr, "selftest: an alert not raised by the self-test: %s\n", a.line)
				continue
			}
			if late := a.at.Sub(rep.connectAt); late > st.Timeout {
				return time.Time{}, fmt.Errorf("the alert came %s after the connect(), later than --timeout %s", RoundLatency(late), st.Timeout)
			}
			return a.at, nil
		case <-done:
			return time.Time{}, errors.New("in-process sensor stopped before the alert")
		case <-ctx.Done():
			return time.Time{}, ErrInterrupted
		case <-timer.C:
			return time.Time{}, timeoutErr(st.Timeout, rep)
		}
	}
}

// caughtAlert is an alert line and when the sensor wrote it.
type caughtAlert struct {
	line []byte
	at   time.Time
}

// alertCatcher is the in-process sensor's alert writer: it hands each
// alert to the self-test. It never blocks the sensor's event loop.
type alertCatcher struct {
	ch     chan caughtAlert
	stderr io.Writer
}

// WriteAlert keeps a copy of line (the alert stage reuses it).
func (c *alertCatcher) WriteAlert(_ *alert.Alert, line []byte) error {
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
