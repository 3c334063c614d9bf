package eql

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"
)

// evalFn evaluates a compiled expression on one event.
type evalFn[E any] func(*E) value

// cexpr is a compiled expression with its static type.
type cexpr[E any] struct {
	typ  vkind // vBool for a condition; vNull for null or an unknown field
	eval evalFn[E]
	lit  *Literal  // set when the expression is a literal
	fld  *Field[E] // set when the expression is a known field
	// konst is set when a condition has the same value for every event.
	konst *value
}

// keyFn returns a join key value; ok=false when the field is null.
type keyFn[E any] func(*E) (string, bool)

// maxKeys bounds the join keys of a step (sequence by + step by).
const maxKeys = 4

// cstep is a compiled sequence step or event query.
type cstep[E any] struct {
	pos      Pos
	category string // "" matches any
	cond     evalFn[E]
	keys     []keyFn[E]
	// alt is the index in keys of the one key with alternatives (`by a or
	// b`, or a multi-valued field), -1 if none; keys[alt] is nil and alts
	// give its values.
	alt  int
	alts []altFn[E]
}

// altFn is one field of a join key with alternatives: a single-valued one
// (one) or a multi-valued one (many), whose every value is a candidate.
type altFn[E any] struct {
	one  keyFn[E]
	many func(*E) []string
}

// Query is a compiled query: an event query (one step, no keys) or a
// sequence. A Query is immutable once compiled except for the lineage sets
// it owns, which the Runner feeding it updates.
type Query[E any] struct {
	// Source is the query text it was compiled from.
	Source string
	// Warnings are compile warnings (unknown fields) with their positions.
	Warnings []*Error
	// Sequence reports a sequence query; MaxSpan is its maxspan (0: none).
	Sequence bool
	MaxSpan  time.Duration

	steps    []*cstep[E]
	until    *cstep[E]
	trackers []*tracker[E]
	schema   *Schema[E]
}

// Steps returns the number of steps (runs expanded); 1 for an event query.
func (q *Query[E]) Steps() int { return len(q.steps) }

// Condition is a compiled where clause, used for exceptions.
type Condition[E any] struct {
	Source   string
	Warnings []*Error
	cond     evalFn[E]
	trackers []*tracker[E]
}

// Compile parses and compiles src against schema.
func Compile[E any](src string, schema Schema[E]) (q *Query[E], err error) {
	defer func() {
		// Compilation is written not to panic; this only turns a bug into
		// an error instead of crashing the sensor on a rule file.
		if r := recover(); r != nil {
			q, err = nil, fmt.Errorf("eql: internal error compiling query: %v", r)
		}
	}()
	ast, err := Parse(src)
	if err != nil {
		return nil, err
	}
	c := &compiler[E]{schema: &schema}
	q = &Query[E]{Source: src, schema: &schema}
	if ast.Event != nil {
		st, err := c.step(ast.Event, nil, nil, false)
		if err != nil {
			return nil, err
		}
		q.steps = []*cstep[E]{st}
	} else {
		s := ast.Sequence
		q.Sequence, q.MaxSpan = true, s.MaxSpan
		for i, ps := range s.Steps {
			st, err := c.step(ps.Query, s.By, ps.By, i > 0)
			if err != nil {
				return nil, err
			}
			for range max(ps.Runs, 1) {
				q.steps = append(q.steps, st)
			}
		}
		nkeys := len(q.steps[0].keys)
		for i, st := range q.steps {
			if len(st.keys) != nkeys {
				return nil, errAt(s.Steps[min(i, len(s.Steps)-1)].Pos, "every step needs the same number of join keys (%d), this one has %d", nkeys, len(st.keys))
			}
		}
		if s.Until != nil {
			if q.until, err = c.step(s.Until.Query, s.By, s.Until.By, false); err != nil {
				return nil, err
			}
			if len(q.until.keys) != nkeys {
				return nil, errAt(s.Until.Pos, "until needs the same number of join keys (%d) as the steps, has %d", nkeys, len(q.until.keys))
			}
		}
	}
	q.Warnings, q.trackers = c.warnings, c.trackers
	return q, nil
}

// CompileCondition compiles a bare where clause (no category), for
// exceptions that are added to a rule as `and not (condition)`.
func CompileCondition[E any](src string, schema Schema[E]) (cd *Condition[E], err error) {
	defer func() {
		if r := recover(); r != nil {
			cd, err = nil, fmt.Errorf("eql: internal error compiling condition: %v", r)
		}
	}()
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, errAt(t.pos, "unexpected %s after the end of the condition", t.describe())
	}
	c := &compiler[E]{schema: &schema}
	ce, err := c.condition(n)
	if err != nil {
		return nil, err
	}
	return &Condition[E]{Source: src, Warnings: c.warnings, cond: ce, trackers: c.trackers}, nil
}

// Except returns a copy of q whose step (counting from 0; -1 for every
// step) also requires `not (cd)`. Lineage sets are shared with q.
func (q *Query[E]) Except(step int, cd *Condition[E]) (*Query[E], error) {
	if step < -1 || step >= len(q.steps) {
		return nil, fmt.Errorf("eql: exception for step %d of a query with %d steps", step+1, len(q.steps))
	}
	out := *q
	out.steps = slices.Clone(q.steps)
	out.trackers = append(slices.Clip(q.trackers), cd.trackers...)
	for i, st := range out.steps {
		if step != -1 && i != step {
			continue
		}
		inner, ex := st.cond, cd.cond
		ns := *st
		ns.cond = func(e *E) value { return andv(inner(e), func() value { return notv(ex(e)) }) }
		out.steps[i] = &ns
	}
	return &out, nil
}

// Matches reports whether event e satisfies step i's category and
// condition (without join keys or sequence state); for tests and tools.
func (q *Query[E]) Matches(i int, e *E) bool {
	if i < 0 || i >= len(q.steps) || e == nil {
		return false
	}
	st := q.steps[i]
	if st.category != "" && q.schema.Category(e) != st.category {
		return false
	}
	return isTrue(st.cond(e))
}

type compiler[E any] struct {
	schema   *Schema[E]
	warnings []*Error
	trackers []*tracker[E]
}

// step compiles one query with its join keys; joins says whether it is a
// step after the first, the only place a key with alternatives may be.
func (c *compiler[E]) step(q *EventQuery, seqBy, stepBy []*JoinKey, joins bool) (*cstep[E], error) {
	st := &cstep[E]{pos: q.Pos, alt: -1}
	cat := strings.ToLower(q.Category)
	switch {
	case cat == "any":
	case slices.Contains(c.schema.Categories, cat):
		st.category = cat
	default:
		return nil, errAt(q.Pos, "unknown event category %q (known: any, %s)", q.Category, strings.Join(c.schema.Categories, ", "))
	}
	cond, err := c.condition(q.Where)
	if err != nil {
		return nil, err
	}
	st.cond = cond
	keys := append(slices.Clip(seqBy), stepBy...)
	if len(keys) > maxKeys {
		return nil, errAt(keys[maxKeys].Pos, "more than %d join keys are not supported", maxKeys)
	}
	for i, k := range keys {
		if len(k.Fields) == 1 && c.kind(k.Fields[0]) != KindStrings {
			kf, err := c.key(k.Fields[0])
			if err != nil {
				return nil, err
			}
			st.keys = append(st.keys, kf)
			continue
		}
		// A key with alternatives, or a multi-valued field, has several
		// values: on a later step the event joins the pending sequence of
		// any of them. A first step (or until) would not know which value
		// names the sequence it starts (or clears), so it is refused there.
		switch {
		case !joins:
			return nil, errAt(k.Pos, "join key %s: a key with alternatives (or) or a multi-valued field may only join a step after the first (aptsentinel extension), not start or clear a sequence", keyName(k))
		case st.alt >= 0:
			return nil, errAt(k.Pos, "join key %s: only one key of a step may have alternatives or many values", keyName(k))
		}
		alts, err := c.alternatives(k)
		if err != nil {
			return nil, err
		}
		st.alt, st.alts = i, alts
		st.keys = append(st.keys, nil)
	}
	return st, nil
}

// keyName is a join key as written.
func keyName(k *JoinKey) string {
	names := make([]string, len(k.Fields))
	for i, f := range k.Fields {
		names[i] = f.Name
	}
	return strings.Join(names, " or ")
}

// kind is a known field's Kind, 0 for an unknown one (which key() and
// alternatives() report).
func (c *compiler[E]) kind(r *FieldRef) Kind {
	if f, ok := c.schema.Fields[r.Name]; ok {
		return f.Kind
	}
	return 0
}

// alternatives compiles the fields of a key with alternatives; an unknown
// field gives no values (and a warning), as it is always null.
func (c *compiler[E]) alternatives(k *JoinKey) ([]altFn[E], error) {
	var out []altFn[E]
	for _, r := range k.Fields {
		f, ok := c.field(r)
		switch {
		case !ok:
			continue
		case f.Kind == KindStrings:
			out = append(out, altFn[E]{many: f.Strings})
			continue
		}
		kf, err := c.key(r)
		if err != nil {
			return nil, err
		}
		out = append(out, altFn[E]{one: kf})
	}
	return out, nil
}

func (c *compiler[E]) key(k *FieldRef) (keyFn[E], error) {
	f, ok := c.field(k)
	if !ok {
		return func(*E) (string, bool) { return "", false }, nil
	}
	switch f.Kind {
	case KindString:
		return f.String, nil
	case KindInt:
		get := f.Int
		return func(e *E) (string, bool) {
			n, ok := get(e)
			return fmt.Sprint(n), ok
		}, nil
	case KindIP:
		get := f.IP
		return func(e *E) (string, bool) {
			a, ok := get(e)
			return a.String(), ok
		}, nil
	}
	return nil, errAt(k.Pos, "join key %s: a boolean field cannot be a join key", k.Name)
}

// field looks a field up, recording a warning for an unknown one.
func (c *compiler[E]) field(r *FieldRef) (Field[E], bool) {
	f, ok := c.schema.Fields[r.Name]
	if !ok && !r.Optional {
		c.warnings = append(c.warnings, errAt(r.Pos, "field %s is never filled by this sensor: it is always null", r.Name))
	}
	return f, ok
}

// condition compiles a node that must be a condition.
func (c *compiler[E]) condition(n Node) (evalFn[E], error) {
	x, err := c.expr(n)
	if err != nil {
		return nil, err
	}
	if x.typ != vBool && x.typ != vNull {
		return nil, errAt(n.nodePos(), "want a condition, got a value (compare it with ==, : or in)")
	}
	return x.eval, nil
}

func constant[E any](v value) evalFn[E] { return func(*E) value { return v } }

func (c *compiler[E]) expr(n Node) (cexpr[E], error) {
	switch n := n.(type) {
	case *Literal:
		var v value
		switch n.Kind {
		case litString:
			v = value{k: vStr, s: n.Str}
		case litInt:
			v = value{k: vInt, i: n.Int}
		case litBool:
			v = boolv(n.Bool)
		}
		return cexpr[E]{typ: v.k, eval: constant[E](v), lit: n}, nil
	case *FieldRef:
		return c.fieldExpr(n), nil
	case *Not:
		x, err := c.condition(n.X)
		if err != nil {
			return cexpr[E]{}, err
		}
		return cexpr[E]{typ: vBool, eval: func(e *E) value { return notv(x(e)) }}, nil
	case *Logic:
		return c.logic(n)
	case *Compare:
		return c.compare(n)
	case *MatchOp:
		return c.match(n)
	case *Call:
		return c.call(n)
	case *Lineage:
		return c.lineage(n)
	}
	return cexpr[E]{}, errAt(n.nodePos(), "unsupported expression")
}

// notv is `not`: null stays null.
func notv(v value) value {
	if v.k != vBool {
		return null
	}
	return boolv(!v.b)
}

// andv is three-valued `and`, evaluating y only when x is not false.
func andv(x value, y func() value) value {
	if x.k == vBool && !x.b {
		return vFalse
	}
	yv := y()
	if yv.k == vBool && !yv.b {
		return vFalse
	}
	if x.k != vBool || yv.k != vBool {
		return null
	}
	return vTrue
}

func (c *compiler[E]) fieldExpr(r *FieldRef) cexpr[E] {
	f, ok := c.field(r)
	if !ok {
		return cexpr[E]{typ: vNull, eval: constant[E](null)}
	}
	x := c.fieldValue(f)
	x.fld = &f
	return x
}

func (c *compiler[E]) fieldValue(f Field[E]) cexpr[E] {
	switch f.Kind {
	case KindString:
		get := f.String
		return cexpr[E]{typ: vStr, eval: func(e *E) value {
			if s, ok := get(e); ok {
				return value{k: vStr, s: s}
			}
			return null
		}}
	case KindStrings:
		get := f.Strings
		return cexpr[E]{typ: vStrs, eval: func(e *E) value {
			if ss := get(e); len(ss) > 0 {
				return value{k: vStrs, ss: ss}
			}
			return null
		}}
	case KindInt:
		get := f.Int
		return cexpr[E]{typ: vInt, eval: func(e *E) value {
			if n, ok := get(e); ok {
				return value{k: vInt, i: n}
			}
			return null
		}}
	case KindIP:
		get := f.IP
		return cexpr[E]{typ: vIP, eval: func(e *E) value {
			if a, ok := get(e); ok {
				return value{k: vIP, ip: a}
			}
			return null
		}}
	case KindBool:
		get := f.Bool
		return cexpr[E]{typ: vBool, eval: func(e *E) value {
			if b, ok := get(e); ok {
				return boolv(b)
			}
			return null
		}}
	}
	return cexpr[E]{typ: vNull, eval: constant[E](null)}
}

// compare compiles ==, !=, <, <=, >, >=. A comparison with the literal null
// tests presence; otherwise a null operand makes == and the orderings false
// and != true (see the package comment).
func (c *compiler[E]) compare(n *Compare) (cexpr[E], error) {
	x, err := c.expr(n.X)
	if err != nil {
		return cexpr[E]{}, err
	}
	y, err := c.expr(n.Y)
	if err != nil {
		return cexpr[E]{}, err
	}
	isNullLit := func(e cexpr[E]) bool { return e.lit != nil && e.lit.Kind == litNull }
	if isNullLit(x) || isNullLit(y) {
		other := x
		if isNullLit(x) {
			other = y
		}
		switch n.Op {
		case "==":
			return cexpr[E]{typ: vBool, eval: func(e *E) value { return boolv(other.eval(e).k == vNull) }}, nil
		case "!=":
			return cexpr[E]{typ: vBool, eval: func(e *E) value { return boolv(other.eval(e).k != vNull) }}, nil
		}
		return cexpr[E]{}, errAt(n.Pos, "%s null: only == and != compare with null", n.Op)
	}
	// An ip field compared with a string literal: parse the literal once.
	for _, pair := range [][2]*cexpr[E]{{&x, &y}, {&y, &x}} {
		ipSide, litSide := pair[0], pair[1]
		if ipSide.typ == vIP && litSide.lit != nil && litSide.lit.Kind == litString {
			a, err := netip.ParseAddr(litSide.lit.Str)
			if err != nil {
				return cexpr[E]{}, errAt(litSide.lit.Pos, "%q is not an IP address", litSide.lit.Str)
			}
			a = a.Unmap().WithZone("")
			*litSide = cexpr[E]{typ: vIP, eval: constant[E](value{k: vIP, ip: a})}
		}
	}
	if !comparable(x.typ, y.typ) {
		return cexpr[E]{}, errAt(n.Pos, "cannot compare %s with %s", kindName(x.typ), kindName(y.typ))
	}
	op := n.Op
	if op != "==" && op != "!=" && (x.typ == vBool || y.typ == vBool || x.typ == vIP || y.typ == vIP) {
		return cexpr[E]{}, errAt(n.Pos, "%s does not order %s values", op, kindName(x.typ))
	}
	if fast, ok := fastEquals(op, x, y); ok {
		return fast, nil
	}
	xe, ye := x.eval, y.eval
	if op == "!=" {
		return cexpr[E]{typ: vBool, eval: func(e *E) value { return boolv(!compareValues("==", xe(e), ye(e))) }}, nil
	}
	return cexpr[E]{typ: vBool, eval: func(e *E) value { return boolv(compareValues(op, xe(e), ye(e))) }}, nil
}

func kindName(k vkind) string {
	return [...]string{"null", "string", "string array", "number", "ip", "boolean"}[k]
}

// comparable reports whether values of static kinds a and b may be compared.
func comparable(a, b vkind) bool {
	str := func(k vkind) bool { return k == vStr || k == vStrs }
	switch {
	case a == vNull || b == vNull:
		return true
	case str(a) && str(b):
		return true
	}
	return a == b
}

// compareValues applies op to x and y; any element of an array matches.
func compareValues(op string, x, y value) bool {
	if x.k == vNull || y.k == vNull {
		return false
	}
	if x.k == vStrs {
		for _, s := range x.ss {
			if compareValues(op, value{k: vStr, s: s}, y) {
				return true
			}
		}
		return false
	}
	if y.k == vStrs {
		for _, s := range y.ss {
			if compareValues(op, x, value{k: vStr, s: s}) {
				return true
			}
		}
		return false
	}
	var c int
	switch {
	case x.k == vStr && y.k == vStr:
		c = strings.Compare(x.s, y.s)
	case x.k == vInt && y.k == vInt:
		c = cmpInt(x.i, y.i)
	case x.k == vIP && y.k == vIP:
		c = x.ip.Compare(y.ip)
	case x.k == vBool && y.k == vBool:
		if x.b != y.b {
			c = 1
		}
	default:
		return false
	}
	switch op {
	case "==":
		return c == 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// match compiles `:`, in, in~, like, like~, regex, regex~ and not in.
func (c *compiler[E]) match(n *MatchOp) (cexpr[E], error) {
	x, err := c.expr(n.X)
	if err != nil {
		return cexpr[E]{}, err
	}
	if x.typ == vBool {
		return cexpr[E]{}, errAt(n.Pos, "%s needs a value on its left, not a condition", n.Op)
	}
	var strs []string
	var ints []int64
	for _, item := range n.List {
		lit, ok := item.(*Literal)
		if !ok {
			return cexpr[E]{}, errAt(item.nodePos(), "%s takes literal values only", n.Op)
		}
		switch lit.Kind {
		case litString:
			strs = append(strs, lit.Str)
		case litInt:
			if n.Op != "in" {
				return cexpr[E]{}, errAt(lit.Pos, "%s takes strings", n.Op)
			}
			ints = append(ints, lit.Int)
		default:
			return cexpr[E]{}, errAt(lit.Pos, "%s: null and booleans cannot be in the list", n.Op)
		}
	}
	if len(strs) > 0 && len(ints) > 0 {
		return cexpr[E]{}, errAt(n.Pos, "%s: a list mixes strings and numbers", n.Op)
	}
	var matchStr func(string) bool
	switch n.Op {
	case "in":
		set := strs
		if n.Fold {
			matchStr = func(s string) bool {
				for _, w := range set {
					if strings.EqualFold(s, w) {
						return true
					}
				}
				return false
			}
		} else {
			matchStr = func(s string) bool { return slices.Contains(set, s) }
		}
	case ":", "like":
		pats := strs
		fold := n.Fold
		matchStr = func(s string) bool {
			for _, p := range pats {
				if globMatch(p, s, fold) {
					return true
				}
			}
			return false
		}
	case "regex":
		var res []*regexp.Regexp
		for i, p := range strs {
			re, err := compileRegex(p, n.Fold)
			if err != nil {
				return cexpr[E]{}, errAt(n.List[i].nodePos(), "%v", err)
			}
			res = append(res, re)
		}
		matchStr = func(s string) bool {
			for _, re := range res {
				if re.MatchString(s) {
					return true
				}
			}
			return false
		}
	}
	// An ip on the left of in: compare parsed addresses.
	var ips []netip.Addr
	if x.typ == vIP && n.Op == "in" {
		for i, s := range strs {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return cexpr[E]{}, errAt(n.List[i].nodePos(), "%q is not an IP address", s)
			}
			ips = append(ips, a.Unmap().WithZone(""))
		}
	}
	xe, neg := x.eval, n.Negated
	test := func(v value) bool {
		switch v.k {
		case vStr:
			return matchStr != nil && len(strs) > 0 && matchStr(v.s)
		case vStrs:
			for _, s := range v.ss {
				if len(strs) > 0 && matchStr(s) {
					return true
				}
			}
		case vInt:
			return slices.Contains(ints, v.i)
		case vIP:
			if ips != nil {
				return slices.Contains(ips, v.ip)
			}
			return len(strs) > 0 && matchStr(v.ip.String())
		}
		return false
	}
	return cexpr[E]{typ: vBool, eval: func(e *E) value { return boolv(test(xe(e)) != neg) }}, nil
}

// compileRegex compiles an EQL regex (anchored, as Elasticsearch's regexp
// query is) with RE2, naming what RE2 cannot express.
func compileRegex(p string, fold bool) (*regexp.Regexp, error) {
	for _, bad := range []struct{ s, what string }{
		{"(?=", "lookahead"}, {"(?!", "negative lookahead"}, {"(?<=", "lookbehind"}, {"(?<!", "negative lookbehind"},
		{`\1`, "backreferences"}, {`\2`, "backreferences"}, {"(?>", "atomic groups"}, {"*+", "possessive quantifiers"}, {"++", "possessive quantifiers"},
	} {
		if strings.Contains(p, bad.s) {
			return nil, fmt.Errorf("regex %q uses %s, which RE2 (Go's regexp) cannot express", p, bad.what)
		}
	}
	flags := ""
	if fold {
		flags = "(?i)"
	}
	re, err := regexp.Compile(flags + "^(?:" + p + ")$")
	if err != nil {
		return nil, fmt.Errorf("regex %q: RE2 cannot compile it: %v", p, err)
	}
	return re, nil
}

// fastEquals compiles `field == "literal"` and `field != "literal"` on a
// keyword field without going through value, the common case of rules.
func fastEquals[E any](op string, x, y cexpr[E]) (cexpr[E], bool) {
	if op != "==" && op != "!=" {
		return cexpr[E]{}, false
	}
	if x.lit != nil {
		x, y = y, x
	}
	if x.fld == nil || y.lit == nil || y.lit.Kind != litString {
		return cexpr[E]{}, false
	}
	want, neg := y.lit.Str, op == "!="
	if k := x.fld.constant; k != nil {
		v := boolv((*k != "" && *k == want) != neg)
		return cexpr[E]{typ: vBool, eval: constant[E](v), konst: &v}, true
	}
	switch x.fld.Kind {
	case KindString:
		get := x.fld.String
		return cexpr[E]{typ: vBool, eval: func(e *E) value {
			s, ok := get(e)
			return boolv((ok && s == want) != neg)
		}}, true
	case KindStrings:
		get := x.fld.Strings
		return cexpr[E]{typ: vBool, eval: func(e *E) value {
			return boolv(slices.Contains(get(e), want) != neg)
		}}, true
	}
	return cexpr[E]{}, false
}

// logic compiles a chain of `and` (or of `or`) as one loop over its
// operands, flattened: the hottest path of a rule that does not match, so
// it avoids a closure frame per operator.
func (c *compiler[E]) logic(n *Logic) (cexpr[E], error) {
	var nodes []Node
	var walk func(Node)
	walk = func(x Node) {
		if l, ok := x.(*Logic); ok && l.Op == n.Op {
			walk(l.X)
			walk(l.Y)
			return
		}
		nodes = append(nodes, x)
	}
	walk(n)
	decide := n.Op == "or" // the operand value that decides the result
	ops := make([]evalFn[E], 0, len(nodes))
	for _, x := range nodes {
		ce, err := c.expr(x)
		if err != nil {
			return cexpr[E]{}, err
		}
		if ce.typ != vBool && ce.typ != vNull {
			return cexpr[E]{}, errAt(x.nodePos(), "want a condition, got a value (compare it with ==, : or in)")
		}
		if k := ce.konst; k != nil && k.k == vBool {
			if k.b == decide {
				v := boolv(decide)
				return cexpr[E]{typ: vBool, eval: constant[E](v), konst: &v}, nil
			}
			continue // an operand that cannot change the result
		}
		ops = append(ops, ce.eval)
	}
	if len(ops) == 0 {
		v := boolv(!decide)
		return cexpr[E]{typ: vBool, eval: constant[E](v), konst: &v}, nil
	}
	// In three-valued logic `and` is false if any operand is false, else
	// null if any is null, else true; `or` the dual. Operands have no side
	// effects, so stopping at the first deciding operand is exact.
	return cexpr[E]{typ: vBool, eval: func(e *E) value {
		sawNull := false
		for _, op := range ops {
			v := op(e)
			if v.k != vBool {
				sawNull = true
				continue
			}
			if v.b == decide {
				return boolv(decide)
			}
		}
		if sawNull {
			return null
		}
		return boolv(!decide)
	}}, nil
}
