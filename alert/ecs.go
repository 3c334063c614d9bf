package alert

import (
	"net/netip"
	"path"
	"strconv"
	"strings"

	"github.com/aptsentinel/aptsentinel/rules"
)

// ecsEvent is one matched event inside an alert, a full ECS event as
// Elastic Defend writes it.
type ecsEvent struct {
	Timestamp string       `json:"@timestamp"`
	Event     ecsEventMeta `json:"event"`
	Host      struct {
		ID string `json:"id"`
	} `json:"host"`
	Process     ecsProcess      `json:"process"`
	Destination *ecsDestination `json:"destination,omitempty"`
	Network     *ecsNetwork     `json:"network,omitempty"`
	File        *ecsFile        `json:"file,omitempty"`
	Error       *ecsError       `json:"error,omitempty"`
}

type ecsEventMeta struct {
	Kind     string   `json:"kind"`
	Action   string   `json:"action"`
	Category []string `json:"category"`
	Type     []string `json:"type"`
	Outcome  string   `json:"outcome,omitempty"`
}

type ecsParent struct {
	PID        int      `json:"pid"`
	EntityID   string   `json:"entity_id,omitempty"`
	Name       string   `json:"name,omitempty"`
	Executable string   `json:"executable,omitempty"`
	Args       []string `json:"args,omitempty"`
}

type ecsProcess struct {
	PID              int            `json:"pid"`
	EntityID         string         `json:"entity_id"`
	Name             string         `json:"name"`
	Executable       string         `json:"executable,omitempty"`
	Args             []string       `json:"args,omitempty"`
	ArgsCount        int            `json:"args_count,omitempty"`
	CommandLine      string         `json:"command_line,omitempty"`
	WorkingDirectory string         `json:"working_directory,omitempty"`
	User             *ecsUser       `json:"user,omitempty"`
	Parent           ecsParent      `json:"parent"`
	Ext              *ecsProcessExt `json:"Ext,omitempty"`
}

// ecsProcessExt is Elastic Defend's process.Ext: ancestry lists the entity
// ids of the process's ancestors, nearest first.
type ecsProcessExt struct {
	Ancestry []string `json:"ancestry,omitempty"`
}

type ecsUser struct {
	ID string `json:"id"`
}

type ecsDestination struct {
	IP   string `json:"ip"`
	Port uint16 `json:"port"`
}

type ecsNetwork struct {
	Type string `json:"type"`
}

// ecsFile is ECS file.*, for file events (creation, rename).
type ecsFile struct {
	Path      string `json:"path"`
	Name      string `json:"name,omitempty"`
	Directory string `json:"directory,omitempty"`
	Extension string `json:"extension,omitempty"`
}

type ecsError struct {
	Code string `json:"code"`
}

// eventKind maps an event to ECS event.category and event.type, as Elastic
// Defend sets them for each event.action. It is the one place that knows
// the actions: a new kind of event (file creation, fork, end) is a new
// case here (and its object, such as file.*, in newECSEvent).
func eventKind(ev *rules.Event) (category, typ []string) {
	switch ev.Action {
	case rules.ActionExec:
		return []string{"process"}, []string{"start"}
	case rules.ActionConnectionAttempt:
		return []string{"network"}, []string{"start", "connection"}
	case rules.ActionAuditConfigChange:
		return []string{"configuration"}, []string{"change"}
	case rules.ActionEventsLost:
		return []string{"host"}, []string{"info"}
	case rules.ActionCreation, rules.ActionRename:
		return []string{ev.Category()}, ev.Type()
	default:
		return []string{}, []string{}
	}
}

func newECSEvent(ev *rules.Event) ecsEvent {
	out := ecsEvent{
		Timestamp: ev.Time.UTC().Format(timeFormat),
		Process:   newECSProcess(&ev.Process),
	}
	out.Host.ID = ev.HostID
	out.Event = ecsEventMeta{Kind: "event", Action: ev.Action, Outcome: ev.Outcome}
	out.Event.Category, out.Event.Type = eventKind(ev)
	if ev.Action == rules.ActionConnectionAttempt {
		out.Destination, out.Network = newDestination(ev.Destination)
	}
	if ev.Errno != "" {
		out.Error = &ecsError{Code: ev.Errno}
	}
	if ev.File.Path != "" {
		dir, name := path.Split(ev.File.Path)
		out.File = &ecsFile{Path: ev.File.Path, Name: name, Directory: path.Clean(dir),
			Extension: strings.TrimPrefix(path.Ext(name), ".")}
	}
	return out
}

func newECSProcess(p *rules.Process) ecsProcess {
	out := ecsProcess{
		PID:              p.PID,
		EntityID:         p.EntityID,
		Name:             p.Name,
		Executable:       p.Executable,
		Args:             p.Args,
		ArgsCount:        len(p.Args),
		CommandLine:      commandLine(p.Args),
		WorkingDirectory: p.WorkingDir,
		User:             &ecsUser{ID: strconv.FormatUint(uint64(p.UID), 10)},
		Parent: ecsParent{
			PID:        p.Parent.PID,
			EntityID:   p.Parent.EntityID,
			Name:       p.Parent.Name,
			Executable: p.Parent.Executable,
			Args:       p.Parent.Args,
		},
	}
	if len(p.Ancestry) > 0 {
		out.Ext = &ecsProcessExt{Ancestry: p.Ancestry}
	}
	return out
}

func newDestination(d netip.AddrPort) (*ecsDestination, *ecsNetwork) {
	if !d.IsValid() {
		return nil, nil
	}
	addr := d.Addr().Unmap()
	typ := "ipv4"
	if addr.Is6() {
		typ = "ipv6"
	}
	return &ecsDestination{IP: addr.String(), Port: d.Port()}, &ecsNetwork{Type: typ}
}

// commandLine joins argv with spaces, as ECS process.command_line does; it
// is for reading, process.args is the exact value.
func commandLine(args []string) string {
	n := 0
	for _, a := range args {
		n += len(a) + 1
	}
	b := make([]byte, 0, n)
	for i, a := range args {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, a...)
	}
	return string(b)
}
