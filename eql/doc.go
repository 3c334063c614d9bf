// Package eql is the Event Query Language of aptsentinel's rules: a lexer,
// a parser that keeps line:column positions, a compiler that turns a query
// into closures over the caller's own event type, and the sequence state
// machine that runs compiled sequences over a stream of events.
//
// The language is the subset of Elasticsearch EQL that Linux detection
// rules use, with Elasticsearch's semantics, plus the lineage operators of
// Endgame's EQL (`child of`, `descendant of`, `event of`). Anything outside
// the subset is refused at compile time with its position and a name for
// what is unsupported.
//
// The package knows nothing of the sensor: a Schema maps ECS field names to
// typed accessors of the event type E, and gives each event's category,
// timestamp and lineage keys.
//
// Null semantics, as Elasticsearch evaluates a where clause:
//   - a comparison (==, :, in, like, regex, <, ...) of a missing field is
//     false, as a term query on a document without the field is; its
//     negation (!=, not in, not ...) is therefore true, as a must_not term
//     query matches a document without the field;
//   - `field == null` and `field != null` test whether the field is there;
//   - functions of a null argument return null (cidrmatch(null, ...) is
//     null), `not null` is null, and `and`/`or` follow three-valued logic;
//     a where clause whose value is null does not match.
//
// Array fields (process.args) match when any element does.
//
// One extension of aptsentinel's own: the join key of a sequence step
// after the first may have alternatives, `by process.entity_id or
// process.Ext.ancestry`, or be a multi-valued field; the event joins the
// pending sequence of any of its values (each such sequence, so one event
// may complete several). EQL has no "this process or one of its ancestors"
// join; this is the smallest one that keeps sequence state keyed by one
// value. A first step, `sequence by` and `until` refuse such a key: the
// value that names the sequence they start or clear must be one.
package eql
