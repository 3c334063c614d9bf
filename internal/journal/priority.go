package journal

import (
	"log/slog"
	"strconv"
)

// Priority is a syslog priority, the journal's PRIORITY field (syslog(3)).
type Priority int

// The syslog priorities the sensor uses.
const (
	PriCrit    Priority = 2
	PriErr     Priority = 3
	PriWarning Priority = 4
	PriNotice  Priority = 5
	PriInfo    Priority = 6
	PriDebug   Priority = 7
)

// String returns the digit journald expects in PRIORITY.
func (p Priority) String() string { return strconv.Itoa(int(p)) }

// LevelPriority maps a slog level to a priority: below Info is debug, below
// Warn info, below Error warning, Error and above err. The sensor's own
// logs never claim crit or worse: those are for alerts.
func LevelPriority(l slog.Level) Priority {
	switch {
	case l < slog.LevelInfo:
		return PriDebug
	case l < slog.LevelWarn:
		return PriInfo
	case l < slog.LevelError:
		return PriWarning
	default:
		return PriErr
	}
}

// SeverityPriority maps a detection rule's severity label (Elastic's
// low/medium/high/critical) to a priority: low notice, medium warning, high
// err, critical crit. An unknown label gets warning: an alert is never
// quieter than that.
func SeverityPriority(severity string) Priority {
	switch severity {
	case "low":
		return PriNotice
	case "medium":
		return PriWarning
	case "high":
		return PriErr
	case "critical":
		return PriCrit
	default:
		return PriWarning
	}
}
