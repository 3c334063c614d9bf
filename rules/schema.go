package rules

import (
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aptsentinel/aptsentinel/eql"
)

// Schema is the EQL view of Event: the ECS fields a rule may test. A field
// not listed here is one the sensor never fills; a rule that tests it gets a
// warning from `aptsentinel rules check` and the field is always null.
var Schema = eql.Schema[Event]{
	Fields:         fields,
	Categories:     []string{CategoryProcess, CategoryNetwork, CategoryFile},
	Category:       func(ev *Event) string { return ev.Category() },
	Time:           func(ev *Event) time.Time { return ev.Time },
	EntityID:       func(ev *Event) string { return ev.Process.EntityID },
	ParentEntityID: func(ev *Event) string { return ev.Process.Parent.EntityID },
	Ancestry:       func(ev *Event) []string { return ev.Process.Ancestry },
	Clone:          cloneEvent,
}

type (
	str  = func(*Event) string
	strs = func(*Event) []string
)

func intOf(get func(*Event) int, present func(*Event) bool) eql.Field[Event] {
	return eql.IntField(func(ev *Event) (int64, bool) { return int64(get(ev)), present(ev) })
}

// fields maps ECS names to Event. Null rules: an empty string, an empty
// list and a zero pid are null (the sensor leaves them empty when unknown).
var fields = map[string]eql.Field[Event]{
	"event.category": eql.StringsField(strs(func(ev *Event) []string { return categoryList[ev.Category()] })),
	"event.type":     eql.StringsField(strs(func(ev *Event) []string { return ev.Type() })),
	"event.action":   eql.StringField(str(func(ev *Event) string { return ev.Action })),
	"event.outcome":  eql.StringField(str(func(ev *Event) string { return ev.Outcome })),
	"error.code":     eql.StringField(str(func(ev *Event) string { return ev.Errno })),

	"host.id":      eql.StringField(str(func(ev *Event) string { return ev.HostID })),
	"host.os.type": eql.ConstStringField[Event]("linux"),

	"process.pid":               intOf(func(ev *Event) int { return ev.Process.PID }, func(ev *Event) bool { return ev.Process.PID > 0 }),
	"process.entity_id":         eql.StringField(str(func(ev *Event) string { return ev.Process.EntityID })),
	"process.name":              eql.StringField(str(func(ev *Event) string { return ev.Process.Name })),
	"process.executable":        eql.StringField(str(func(ev *Event) string { return ev.Process.Executable })),
	"process.args":              eql.StringsField(strs(func(ev *Event) []string { return ev.Process.Args })),
	"process.args_count":        intOf(func(ev *Event) int { return len(ev.Process.Args) }, func(ev *Event) bool { return len(ev.Process.Args) > 0 }),
	"process.command_line":      eql.StringField(str(func(ev *Event) string { return CommandLine(ev.Process.Args) })),
	"process.working_directory": eql.StringField(str(func(ev *Event) string { return ev.Process.WorkingDir })),
	"process.user.id":           eql.StringField(str(func(ev *Event) string { return strconv.FormatUint(uint64(ev.Process.UID), 10) })),
	"user.id":                   eql.StringField(str(func(ev *Event) string { return strconv.FormatUint(uint64(ev.Process.UID), 10) })),
	"process.Ext.ancestry":      eql.StringsField(strs(func(ev *Event) []string { return ev.Process.Ancestry })),

	"process.parent.pid":          intOf(func(ev *Event) int { return ev.Process.Parent.PID }, func(ev *Event) bool { return ev.Process.Parent.PID > 0 }),
	"process.parent.entity_id":    eql.StringField(str(func(ev *Event) string { return ev.Process.Parent.EntityID })),
	"process.parent.name":         eql.StringField(str(func(ev *Event) string { return ev.Process.Parent.Name })),
	"process.parent.executable":   eql.StringField(str(func(ev *Event) string { return ev.Process.Parent.Executable })),
	"process.parent.args":         eql.StringsField(strs(func(ev *Event) []string { return ev.Process.Parent.Args })),
	"process.parent.args_count":   intOf(func(ev *Event) int { return len(ev.Process.Parent.Args) }, func(ev *Event) bool { return len(ev.Process.Parent.Args) > 0 }),
	"process.parent.command_line": eql.StringField(str(func(ev *Event) string { return CommandLine(ev.Process.Parent.Args) })),

	// An IPv4-mapped IPv6 destination (::ffff:127.0.0.1, what an AF_INET6
	// socket connecting to an IPv4 peer puts in its sockaddr, ipv6(7)) is the
	// IPv4 address it carries, as Elasticsearch indexes an ip field, so the
	// loopback and private-range exclusions of rules cannot be bypassed with
	// it; an IPv6 zone (fe80::1%eth0) is not part of the ip.
	"destination.ip": eql.IPField(func(ev *Event) netip.Addr {
		return ev.Destination.Addr().Unmap().WithZone("")
	}),
	"destination.port": intOf(func(ev *Event) int { return int(ev.Destination.Port()) }, func(ev *Event) bool { return ev.Destination.IsValid() }),

	"file.path":      eql.StringField(str(func(ev *Event) string { return ev.File.Path })),
	"file.name":      eql.StringField(str(func(ev *Event) string { return fileName(ev.File.Path) })),
	"file.directory": eql.StringField(str(func(ev *Event) string { return fileDir(ev.File.Path) })),
	"file.extension": eql.StringField(str(func(ev *Event) string { return fileExt(ev.File.Path) })),
}

var categoryList = map[string][]string{
	CategoryProcess: {CategoryProcess},
	CategoryNetwork: {CategoryNetwork},
	CategoryFile:    {CategoryFile},
}

func fileName(p string) string {
	if p == "" {
		return ""
	}
	return path.Base(p)
}

func fileDir(p string) string {
	if p == "" {
		return ""
	}
	return path.Dir(p)
}

func fileExt(p string) string {
	return strings.TrimPrefix(path.Ext(fileName(p)), ".")
}

// FieldNames returns the ECS field names rules may test, sorted.
func FieldNames() []string {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// cloneEvent deep-copies ev: strings are immutable, but argv slices may be
// buffers the sensor reuses.
func cloneEvent(ev *Event) Event {
	c := *ev
	c.Process.Args = slices.Clone(ev.Process.Args)
	c.Process.Parent.Args = slices.Clone(ev.Process.Parent.Args)
	c.Process.Ancestry = slices.Clone(ev.Process.Ancestry)
	return c
}
