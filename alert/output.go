package alert

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/aptsentinel/aptsentinel/internal/journal"
)

// OutputNames are the values of `aptsentinel run --output`.
var OutputNames = []string{"auto", "journald", "stdout"}

// Output is where alerts and the sensor's own logs go.
type Output struct {
	// Name is "stdout" or "journald" ("auto" resolved).
	Name string
	// Alerts is the alert writer, Log the logger for the sensor's logs.
	Alerts Writer
	Log    *slog.Logger
	close  func()
}

// Close delivers what is still queued (bounded by the spools' drain
// timeout) and stops the background flushers.
func (o *Output) Close() { o.close() }

// OutputConfig says which output to open.
type OutputConfig struct {
	// Name is one of OutputNames.
	Name string
	// Level is the least severe log level written.
	Level slog.Level
	// Stdout and Stderr are the process's (tests give buffers).
	Stdout, Stderr io.Writer
	// JournalSocket is journald's native socket (default
	// journal.DefaultSocket; tests point it at their own journald).
	JournalSocket string
}

// ResolveOutput returns the output "auto" stands for: journald when its
// socket at journalSocket takes entries, else stdout. Other names are
// returned as they are.
func ResolveOutput(name, journalSocket string) string {
	if name != "auto" {
		return name
	}
	if journalSocket == "" {
		journalSocket = journal.DefaultSocket
	}
	if journal.Available(journalSocket) {
		return "journald"
	}
	return "stdout"
}

// OpenOutput opens the output cfg names:
//   - stdout: alerts as JSON lines on stdout, logs as slog JSON on stderr;
//   - journald: alerts and logs as native journal entries (alerts with
//     APTSENTINEL_KIND=alert and the rule's MESSAGE_ID, logs with
//     APTSENTINEL_KIND=log and no MESSAGE_ID); stderr then carries only
//     what cannot go to the journal: reports that delivery to journald
//     fails (the journal being what is down) and a fatal error at exit. Under
//     systemd stderr goes to the journal too, so writing every log there as
//     well would store each one twice, once without its fields;
//   - auto: journald when its socket exists, else stdout.
func OpenOutput(cfg OutputConfig) (*Output, error) {
	if cfg.JournalSocket == "" {
		cfg.JournalSocket = journal.DefaultSocket
	}
	name := ResolveOutput(cfg.Name, cfg.JournalSocket)
	stderrLog := slog.New(slog.NewJSONHandler(cfg.Stderr, &slog.HandlerOptions{Level: cfg.Level}))
	switch name {
	case "stdout":
		return &Output{Name: name, Alerts: NewLineWriter(cfg.Stdout), Log: stderrLog, close: func() {}}, nil
	case "journald":
		return openJournal(cfg, stderrLog)
	default:
		return nil, fmt.Errorf("--output %q: want one of %v", cfg.Name, OutputNames)
	}
}

func openJournal(cfg OutputConfig, stderrLog *slog.Logger) (*Output, error) {
	c, err := journal.Dial(cfg.JournalSocket)
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
		Level:      cfg.Level,
		Identifier: JournalIdentifier,
		Static:     map[string]string{"APTSENTINEL_KIND": "log"},
	})
	return &Output{
		Name:   "journald",
		Alerts: NewJournalWriter(alertSpool),
		Log:    slog.New(h),
		close: func() {
			cancel()
			wg.Wait()
			c.Close()
		},
	}, nil
}
