package alert

import (
	"fmt"
	"time"

	"github.com/aptsentinel/aptsentinel/rules"
)

// Stage is the alert stage the sensor hands its matches to: it builds each
// match's alert, marshals it and writes it to its Writer.
type Stage struct {
	out Writer
	now func() time.Time
}

// NewStage returns a Stage writing to out.
func NewStage(out Writer) *Stage {
	return &Stage{out: out, now: time.Now}
}

// WriteMatch builds the alert of m on host and writes it. On failure the
// error carries the alert line, so the caller's log keeps the alert that
// was not delivered.
func (s *Stage) WriteMatch(m rules.Match, host Host) error {
	a := New(m, host, s.now())
	line, err := a.MarshalLine()
	if err != nil {
		return fmt.Errorf("alert of rule %s: %w", a.Rule.ID, err)
	}
	if err := s.out.WriteAlert(&a, line); err != nil {
		return fmt.Errorf("alert of rule %s not delivered: %w; alert: %s", a.Rule.ID, err, line)
	}
	return nil
}
