package eql

import (
	"net/netip"
	"slices"
	"time"
)

// tev is the event type of this package's tests.
type tev struct {
	cat    string
	at     time.Time
	name   string
	exe    string
	args   []string
	pid    int64
	ip     netip.Addr
	host   string
	id     string
	parent string
	anc    []string
	action string
}

var testSchema = Schema[tev]{
	Fields: map[string]Field[tev]{
		"process.name":       StringField(func(e *tev) string { return e.name }),
		"process.executable": StringField(func(e *tev) string { return e.exe }),
		"process.args":       StringsField(func(e *tev) []string { return e.args }),
		"process.pid":        IntField(func(e *tev) (int64, bool) { return e.pid, e.pid != 0 }),
		"destination.ip":     IPField(func(e *tev) netip.Addr { return e.ip }),
		"host.id":            StringField(func(e *tev) string { return e.host }),
		"process.entity_id":  StringField(func(e *tev) string { return e.id }),
		"process.parent.entity_id": StringField(func(e *tev) string {
			return e.parent
		}),
		"event.action":         StringField(func(e *tev) string { return e.action }),
		"process.Ext.ancestry": StringsField(func(e *tev) []string { return e.anc }),
		"host.os.type":         ConstStringField[tev]("linux"),
	},
	Categories:     []string{"process", "network", "file"},
	Category:       func(e *tev) string { return e.cat },
	Time:           func(e *tev) time.Time { return e.at },
	EntityID:       func(e *tev) string { return e.id },
	ParentEntityID: func(e *tev) string { return e.parent },
	Ancestry:       func(e *tev) []string { return e.anc },
	Clone: func(e *tev) tev {
		c := *e
		c.args = slices.Clone(e.args)
		return c
	},
}
