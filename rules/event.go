package rules

import (
	"net/netip"
	"strings"
	"time"
)

// Action values, as Elastic Defend names them in event.action.
const (
	ActionExec              = "exec"
	ActionFork              = "fork"
	ActionEnd               = "end"
	ActionConnectionAttempt = "connection_attempted"
	ActionCreation          = "creation"
	ActionRename            = "rename"
)

// Event categories (event.category), the EQL event types of rules.
const (
	CategoryProcess = "process"
	CategoryNetwork = "network"
	CategoryFile    = "file"
)

// Event is one enriched host event, the input of the rules engine. The
// sensor builds it from audit and /proc data; field names follow ECS, and
// schema.go maps each ECS name a rule may test to its field here.
type Event struct {
	Time   time.Time // the kernel's timestamp for the event (@timestamp)
	Action string    // event.action: one of the Action constants
	// HostID is host.id (the machine id); sequences are "by host.id".
	HostID  string
	Process Process
	// Destination is set on network events; Destination.IsValid() is false
	// when the kernel gave no address (destination.ip is null).
	Destination netip.AddrPort
	// File is set on file events (creation, rename).
	File File
	// Outcome is "success" or "failure" (the connect() result), "" if unknown.
	Outcome string
	// Errno names the connect() error, for example "ENETUNREACH"; "" on success.
	Errno string
}

// Category is event.category, derived from the action as Elastic Defend
// files its events.
func (ev *Event) Category() string {
	switch ev.Action {
	case ActionConnectionAttempt:
		return CategoryNetwork
	case ActionCreation, ActionRename:
		return CategoryFile
	}
	return CategoryProcess
}

// Type is event.type as Elastic Defend sets it for the action.
func (ev *Event) Type() []string {
	switch ev.Action {
	case ActionExec, ActionFork, ActionConnectionAttempt:
		return typeStart
	case ActionEnd:
		return typeEnd
	case ActionCreation:
		return typeCreation
	case ActionRename:
		return typeChange
	}
	return nil
}

var (
	typeStart    = []string{"start"}
	typeEnd      = []string{"end"}
	typeCreation = []string{"creation"}
	typeChange   = []string{"change"}
)

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

// File is the ECS file object of a file event.
type File struct {
	Path string // file.path, absolute
}

// CommandLine is process.command_line as Elastic Defend builds it: argv
// joined by single spaces (for reading; process.args is the exact value).
func CommandLine(args []string) string { return strings.Join(args, " ") }
