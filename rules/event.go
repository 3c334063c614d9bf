package rules

import (
	"net/netip"
	"time"
)

// Action values, as Elastic Defend names them in event.action.
const (
	ActionExec              = "exec"
	ActionConnectionAttempt = "connection_attempted"
)

// Event is one enriched host event, the input of the sequence engine. The
// sensor builds it from audit and /proc data; field names follow ECS so the
// rule text reads like the upstream EQL.
type Event struct {
	Time   time.Time // the kernel's timestamp for the event
	Action string    // ActionExec or ActionConnectionAttempt
	// HostID is host.id (the machine id); sequences are "by host.id".
	HostID  string
	Process Process
	// Destination is set on network events; Destination.IsValid() is false
	// when the kernel gave no address (destination.ip is null).
	Destination netip.AddrPort
	// Outcome is "success" or "failure" (the connect() result), "" if unknown.
	Outcome string
	// Errno names the connect() error, for example "ENETUNREACH"; "" on success.
	Errno string
}

// Process is the ECS process object of an event.
type Process struct {
	PID        int
	EntityID   string
	Name       string   // the kernel's comm
	Executable string   // the executable path
	Args       []string // raw argv, argv[0] included
	WorkingDir string
	UID        uint32
	Parent     Parent
	// Ancestry is process.Ext.ancestry: the entity ids of the process's
	// ancestors by parent at fork, nearest first (bounded), for lineage
	// (`descendant of`) and for alerts that list a chain.
	Ancestry []string
}

// Parent is the ECS process.parent object.
type Parent struct {
	PID        int
	EntityID   string
	Name       string
	Executable string
	Args       []string
}
