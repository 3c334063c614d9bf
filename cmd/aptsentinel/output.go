package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/aptsentinel/aptsentinel/internal/journal"
	"github.com/aptsentinel/aptsentinel/sensor"
)

// journalSocket is journald's native socket (a variable for tests).
var journalSocket = journal.DefaultSocket

// outputNames are the values of --output.
var outputNames = []string{"auto", "journald", "stdout"}

// output is where alerts and the sensor's own logs go.
type output struct {
	name   string // "stdout" or "journald", auto resolved
	alerts sensor.AlertWriter
	log    *slog.Logger
	// close delivers what is still queued (bounded by the spools' drain
	// timeout) and stops the background flushers.
	close func()
}

// newOutput returns the output for --output name:
//   - stdout: alerts as JSON lines on stdout, logs as slog JSON on stderr;
//   - journald: alerts and logs as native journal entries (alerts with
//     APTSENTINEL_KIND=alert and the rule's MESSAGE_ID, logs with
//     APTSENTINEL_KIND=log and no MESSAGE_ID); stderr then carries only
//     what cannot go to the journal: reports that delivery to journald
//     fails (the journal being what is down) and a fatal error at exit. Under
//     systemd stderr goes to the journal too, so writing every log there as
//     well would store each one twice, once without its fields;
//   - auto: journald when its socket exists, else stdout.
func newOutput(name string, level slog.Level, stdout, stderr io.Writer) (*output, error) {
	if name == "auto" {
		name = "stdout"
		if journal.Available(journalSocket) {
			name = "journald"
		}
	}
	stderrLog := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	switch name {
	case "stdout":
		return &output{name: name, alerts: sensor.NewLineWriter(stdout), log: stderrLog, close: func() {}}, nil
	case "journald":
		return newJournalOutput(level, stderrLog)
	default:
		return nil, fmt.Errorf("--output %q: want one of %v", name, outputNames)
	}
}

func newJournalOutput(level slog.Level, stderrLog *slog.Logger) (*output, error) {
	c, err := journal.Dial(journalSocket)
	if err != nil {
		return nil, fmt.Errorf("--output journald: %w", err)
	}
	// Two spools: a flood of log records never pushes an alert out of its
	// buffer.
	alertSpool := journal.NewSpool(c, journal.SpoolConfig{Name: "alerts", Logger: stderrLog})
	logSpool := journal.NewSpool(c, journal.SpoolConfig{Name: "logs", MaxEntries: 1024, MaxBytes: 4 << 20, Logger: stderrLog})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, sp := range []*journal.Spool{alertSpool, logSpool} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sp.Run(ctx)
		}()
	}
	h := journal.NewHandler(logSpool, journal.HandlerOptions{
		Level:      level,
		Identifier: sensor.JournalIdentifier,
		Static:     map[string]string{"APTSENTINEL_KIND": "log"},
	})
	return &output{
		name:   "journald",
		alerts: sensor.NewJournalWriter(alertSpool),
		log:    slog.New(h),
		close: func() {
			cancel()
			wg.Wait()
			c.Close()
		},
	}, nil
}
