package eql

import (
	"net/netip"
	"time"
)

// Kind is the type of a field's value.
type Kind int

// Field kinds.
const (
	KindString  Kind = iota + 1 // keyword
	KindStrings                 // multi-valued keyword (process.args)
	KindInt
	KindIP
	KindBool
)

// Field is a typed accessor of one ECS field of E. Exactly the function of
// its Kind is set; ok=false (or a nil slice) means the field is null.
type Field[E any] struct {
	Kind    Kind
	String  func(*E) (string, bool)
	Strings func(*E) []string
	Int     func(*E) (int64, bool)
	IP      func(*E) (netip.Addr, bool)
	Bool    func(*E) (bool, bool)

	// constant is the value of a field that is the same for every event
	// (ConstStringField); comparisons with a literal fold at compile time.
	constant *string
}

// ConstStringField is a keyword field with the same value for every event
// of this sensor (host.os.type is "linux"): `field == "literal"` is decided
// when the query compiles and costs nothing per event.
func ConstStringField[E any](v string) Field[E] {
	return Field[E]{Kind: KindString, constant: &v, String: func(*E) (string, bool) { return v, v != "" }}
}

// StringField is a keyword field whose empty value is null: an ECS document
// omits a field the sensor could not fill.
func StringField[E any](get func(*E) string) Field[E] {
	return Field[E]{Kind: KindString, String: func(e *E) (string, bool) {
		s := get(e)
		return s, s != ""
	}}
}

// StringsField is a multi-valued keyword field; an empty list is null.
func StringsField[E any](get func(*E) []string) Field[E] {
	return Field[E]{Kind: KindStrings, Strings: get}
}

// IntField is a numeric field; ok=false is null.
func IntField[E any](get func(*E) (int64, bool)) Field[E] {
	return Field[E]{Kind: KindInt, Int: get}
}

// IPField is an ip field; an invalid netip.Addr is null.
func IPField[E any](get func(*E) netip.Addr) Field[E] {
	return Field[E]{Kind: KindIP, IP: func(e *E) (netip.Addr, bool) {
		a := get(e)
		return a, a.IsValid()
	}}
}

// BoolField is a boolean field.
func BoolField[E any](get func(*E) (bool, bool)) Field[E] {
	return Field[E]{Kind: KindBool, Bool: get}
}

// Schema describes the event type E to the compiler.
type Schema[E any] struct {
	// Fields maps ECS names to accessors. A name not here compiles with a
	// warning and evaluates as null.
	Fields map[string]Field[E]
	// Categories are the event categories a query may name besides "any";
	// another name is a compile error.
	Categories []string
	// Category returns an event's category (process, network, file...).
	Category func(*E) string
	// Time is the event's own time (@timestamp): sequences match on it.
	Time func(*E) time.Time
	// EntityID, ParentEntityID and Ancestry answer lineage: the event's
	// process, its parent at fork, and its ancestors nearest first. Any may
	// be nil when the schema has no lineage; lineage then never matches.
	EntityID, ParentEntityID func(*E) string
	Ancestry                 func(*E) []string
	// Clone copies an event the engine keeps (a pending sequence's events);
	// nil means a shallow copy.
	Clone func(*E) E
}
