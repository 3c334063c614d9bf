package eql

import "time"

// Node is an expression of a where clause.
type Node interface{ nodePos() Pos }

// Literal is a string, number, boolean or null constant.
type Literal struct {
	Pos Pos
	// Kind is one of litString, litInt, litBool, litNull.
	Kind litKind
	Str  string
	Int  int64
	Bool bool
}

type litKind int

const (
	litNull litKind = iota
	litString
	litInt
	litBool
)

// FieldRef names an event field.
type FieldRef struct {
	Pos      Pos
	Name     string
	Optional bool // written ?name
}

// Not is `not X`.
type Not struct {
	Pos Pos
	X   Node
}

// Logic is `X and Y` or `X or Y`.
type Logic struct {
	Pos  Pos
	Op   string // "and" or "or"
	X, Y Node
}

// Compare is X op Y for ==, !=, <, <=, >, >=.
type Compare struct {
	Pos  Pos
	Op   string
	X, Y Node
}

// MatchOp is X `:`/in/in~/like/like~/regex/regex~ (list), optionally negated
// (`not in`).
type MatchOp struct {
	Pos     Pos
	Op      string // ":", "in", "like", "regex"
	Fold    bool   // case-insensitive (`:`, in~, like~, regex~)
	Negated bool   // not in
	X       Node
	List    []Node
}

// Call is a function call.
type Call struct {
	Pos  Pos
	Name string
	Fold bool // name~ (case-insensitive variant)
	Args []Node
}

// Lineage is `child of [q]`, `descendant of [q]` or `event of [q]`.
type Lineage struct {
	Pos   Pos
	Kind  string // "child", "descendant", "event"
	Inner *EventQuery
}

func (n *Literal) nodePos() Pos  { return n.Pos }
func (n *FieldRef) nodePos() Pos { return n.Pos }
func (n *Not) nodePos() Pos      { return n.Pos }
func (n *Logic) nodePos() Pos    { return n.Pos }
func (n *Compare) nodePos() Pos  { return n.Pos }
func (n *MatchOp) nodePos() Pos  { return n.Pos }
func (n *Call) nodePos() Pos     { return n.Pos }
func (n *Lineage) nodePos() Pos  { return n.Pos }

// EventQuery is `category where condition`; Category "any" matches all.
type EventQuery struct {
	Pos      Pos
	Category string
	Where    Node
}

// JoinKey is one key of a `by` clause: a field, or (an aptsentinel
// extension, see compile.go joinKey) alternatives `f1 or f2 ...`, whose
// values all stand for the key.
type JoinKey struct {
	Pos    Pos
	Fields []*FieldRef // at least one
}

// Step is one bracketed query of a sequence.
type Step struct {
	Pos   Pos
	Query *EventQuery
	By    []*JoinKey
	Runs  int // with runs=N; 0 means 1
}

// Sequence is `sequence [by ...] [with maxspan=...] steps... [until [...]]`.
type Sequence struct {
	Pos     Pos
	By      []*JoinKey
	MaxSpan time.Duration // 0: none
	Steps   []*Step
	Until   *Step
}

// AST is a parsed query: exactly one of Event and Sequence is set.
type AST struct {
	Event    *EventQuery
	Sequence *Sequence
}
