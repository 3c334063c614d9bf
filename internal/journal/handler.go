package journal

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Sink takes encoded entries; *Spool is one.
type Sink interface {
	Enqueue(b []byte)
}

// HandlerOptions configure a Handler.
type HandlerOptions struct {
	// Level is the least severe level written (default Info).
	Level slog.Leveler
	// Identifier is SYSLOG_IDENTIFIER (required: a valid value, e.g.
	// "aptsentinel").
	Identifier string
	// FieldPrefix prefixes the field names made from attribute keys
	// (default "APTSENTINEL_"); it must be a valid name.
	FieldPrefix string
	// Static fields added to every entry, e.g. APTSENTINEL_KIND=log, so
	// logs are told from alerts sent with the same identifier.
	Static map[string]string
}

// Handler is a slog.Handler that writes each record as one journal entry:
// MESSAGE is the record's message, PRIORITY its level (LevelPriority),
// attributes become fields named FieldPrefix + the key upper-cased with
// every character outside A-Z0-9 replaced by _ (groups joined by _).
// Attribute values are data: they go in the length-prefixed form when they
// hold a newline, so no value can forge a field.
type Handler struct {
	sink   Sink
	opts   HandlerOptions
	static []field // Identifier and Static, then WithAttrs fields
	group  string  // field name prefix for attrs, groups included
}

type field struct{ name, value string }

var entryPool = sync.Pool{New: func() any { return new(Entry) }}

// NewHandler returns a Handler writing to sink.
func NewHandler(sink Sink, opts HandlerOptions) *Handler {
	if opts.Level == nil {
		opts.Level = slog.LevelInfo
	}
	if opts.FieldPrefix == "" {
		opts.FieldPrefix = "APTSENTINEL_"
	}
	h := &Handler{sink: sink, opts: opts, group: opts.FieldPrefix}
	h.static = append(h.static, field{"SYSLOG_IDENTIFIER", opts.Identifier})
	for name, value := range opts.Static {
		h.static = append(h.static, field{name, value})
	}
	return h
}

// Enabled reports whether l is at least the configured level.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.opts.Level.Level()
}

// Handle writes r as one entry. An entry that cannot be built (a Static
// name that is not valid) is an error; nothing is sent.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	e := entryPool.Get().(*Entry)
	defer func() { e.Reset(); entryPool.Put(e) }()
	e.Add("MESSAGE", r.Message)
	e.Add("PRIORITY", LevelPriority(r.Level).String())
	for _, f := range h.static {
		e.Add(f.name, f.value)
	}
	if !r.Time.IsZero() {
		e.Add(h.opts.FieldPrefix+"TIME", r.Time.UTC().Format(time.RFC3339Nano))
	}
	e.Add(h.opts.FieldPrefix+"LEVEL", r.Level.String())
	r.Attrs(func(a slog.Attr) bool {
		collectAttr(h.group, a, e.Add)
		return true
	})
	b, err := e.Bytes()
	if err != nil {
		return err
	}
	h.sink.Enqueue(b)
	return nil
}

// WithAttrs returns a Handler adding attrs to every entry.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	h2.static = append([]field(nil), h.static...)
	for _, a := range attrs {
		collectAttr(h.group, a, func(name, value string) {
			h2.static = append(h2.static, field{name, value})
		})
	}
	return &h2
}

// WithGroup returns a Handler whose later attributes are named under name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.group = SanitizeName(h.group, name) + "_"
	return &h2
}

// collectAttr flattens a into fields passed to add; groups nest their keys
// with _.
func collectAttr(prefix string, a slog.Attr, add func(name, value string)) {
	v := a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if v.Kind() == slog.KindGroup {
		sub := prefix
		if a.Key != "" {
			sub = SanitizeName(prefix, a.Key) + "_"
		}
		for _, g := range v.Group() {
			collectAttr(sub, g, add)
		}
		return
	}
	add(SanitizeName(prefix, strings.TrimSpace(a.Key)), v.String())
}
