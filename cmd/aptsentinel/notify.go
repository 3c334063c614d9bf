package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/sdnotify"
	"github.com/aptsentinel/aptsentinel/sensor"
)

// minWatchdog is the shortest WatchdogSec= the sensor can serve: it pings
// from its one-second tick.
const minWatchdog = 3 * time.Second

// setupNotify connects the sensor to systemd's notify socket, when the
// unit gives one (Type=notify), for READY=1 and the watchdog. The returned
// func closes it.
func setupNotify(cfg *sensor.Config, log *slog.Logger) func() {
	n, err := sdnotify.FromEnv()
	if err != nil {
		log.Warn("not notifying the service manager", "err", err.Error())
		return func() {}
	}
	if n == nil {
		return func() {}
	}
	cfg.Notify = n.Notify
	cfg.Watchdog = n.Watchdog > 0
	if cfg.Watchdog && n.Watchdog < minWatchdog {
		log.Warn("WatchdogSec= is shorter than the sensor's ping interval allows; systemd may restart a healthy sensor",
			"watchdog", n.Watchdog.String(), "minimum", minWatchdog.String())
	}
	return func() { n.Close() }
}

// abortGrace bounds the clean stop after SIGABRT.
const abortGrace = 5 * time.Second

// runUntilAbort runs the sensor; on SIGABRT, what systemd's watchdog sends
// to a sensor that stopped pinging (WatchdogSignal=, systemd.kill(5)), it
// tries a clean stop for abortGrace and exits 1. Go's own response to
// SIGABRT is a goroutine dump and exit status 2, which the unit's
// RestartPreventExitStatus=2 would take for a configuration mistake and
// not restart. The dump is still written when the stop hangs: it shows
// where the loop was stuck.
func runUntilAbort(ctx context.Context, cfg sensor.Config, log *slog.Logger, stderr io.Writer) error {
	abort := make(chan os.Signal, 1)
	signal.Notify(abort, syscall.SIGABRT)
	defer signal.Stop(abort)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sensor.Run(ctx, cfg) }()
	select {
	case err := <-done:
		return err
	case <-abort:
	}
	log.Error("SIGABRT (the service manager's watchdog, or an operator): stopping, to be restarted")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("stopped on SIGABRT: %w", err)
		}
		return fmt.Errorf("stopped on SIGABRT")
	case <-time.After(abortGrace):
		fmt.Fprintf(stderr, "aptsentinel run: no clean stop within %s of SIGABRT; goroutines:\n", abortGrace)
		pprof.Lookup("goroutine").WriteTo(stderr, 2)
		return fmt.Errorf("stopped on SIGABRT without a clean stop (its audit rules are removed at the next start or by aptsentinel cleanup)")
	}
}
