package alert

import (
	"bufio"
	"fmt"
	"io"
	"sync"
)

// Writer delivers alerts. WriteAlert gets the alert and its JSON line
// (one document, no trailing newline); it must not keep the slice. A writer
// for a structured sink (the journal) takes its fields from a.
type Writer interface {
	WriteAlert(a *Alert, line []byte) error
}

// LineWriter writes each alert as one line to an io.Writer (stdout), and
// flushes it at once: an alert that waits in a buffer is an alert late.
type LineWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

// NewLineWriter returns a LineWriter on w.
func NewLineWriter(w io.Writer) *LineWriter {
	return &LineWriter{w: bufio.NewWriterSize(w, 64<<10)}
}

// WriteAlert writes line and a newline, and flushes.
func (l *LineWriter) WriteAlert(_ *Alert, line []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(line)
	l.w.WriteByte('\n')
	if err := l.w.Flush(); err != nil {
		return fmt.Errorf("write alert: %w", err)
	}
	return nil
}
