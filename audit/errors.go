package audit

import (
	"errors"
	"fmt"
)

// ErrPermission is returned when the kernel refuses audit control: the
// sensor needs root (CAP_AUDIT_CONTROL) in the initial user and PID
// namespace. It wraps the kernel's EPERM.
var ErrPermission = errors.New("permission denied: run as root (needs CAP_AUDIT_CONTROL in the initial namespaces)")

// ErrLocked is returned when audit is locked (enabled == 2, `auditctl -e 2`):
// no rule or setting can change until reboot, so nothing is touched.
var ErrLocked = errors.New("audit: kernel audit configuration is locked (auditctl -e 2) until reboot; nothing was changed")

// ErrClosed is returned by Session methods after Close.
var ErrClosed = errors.New("audit: session closed")

// HolderError says that another live process is the kernel's audit daemon
// (the unicast consumer of audit records). There is only one per kernel.
type HolderError struct {
	PID  uint32
	Comm string // the holder's /proc/PID/comm, "" if it could not be read
	Err  error  // the kernel's answer (EEXIST) when it refused, else nil
}

// Error names the holder and what to do about it.
func (e *HolderError) Error() string {
	comm := e.Comm
	if comm == "" {
		comm = "?"
	}
	return fmt.Sprintf("audit: audit PID is held by pid %d (%s): stop auditd (systemctl stop auditd) "+
		"or the other audit consumer, then start aptsentinel again", e.PID, comm)
}

// Unwrap returns the kernel's error, if any.
func (e *HolderError) Unwrap() error { return e.Err }
