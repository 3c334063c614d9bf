package eql

import (
	"strconv"
	"strings"
	"time"
)

// maxDepth bounds nesting, so a hostile query cannot exhaust the stack.
const maxDepth = 200

// unsupportedKeywords are EQL features outside the subset, refused by name.
var unsupportedKeywords = map[string]string{
	"join":   "join queries are not supported",
	"sample": "sample queries are not supported",
	"head":   "pipes (| head) are not supported",
	"tail":   "pipes (| tail) are not supported",
}

type parser struct {
	toks  []token
	i     int
	depth int
}

// Parse parses a query into its AST.
func Parse(src string) (*AST, error) {
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	ast, err := p.query()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		if t.kind == tOp && t.text == "|" {
			return nil, errAt(t.pos, "pipes (|) are not supported")
		}
		return nil, errAt(t.pos, "unexpected %s after the end of the query", t.describe())
	}
	return ast, nil
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tString:
		return strconv.Quote(t.text)
	default:
		return "\"" + t.text + "\""
	}
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekN(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) take() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// isKw reports whether t is the keyword kw (keywords are case-insensitive
// in EQL) written without '?' or backticks.
func isKw(t token, kw string) bool {
	return t.kind == tIdent && !t.optional && strings.EqualFold(t.text, kw)
}

func isOp(t token, op string) bool { return t.kind == tOp && t.text == op }

func (p *parser) expectOp(op string) (token, error) {
	t := p.take()
	if !isOp(t, op) {
		return t, errAt(t.pos, "want %q, got %s", op, t.describe())
	}
	return t, nil
}

func (p *parser) expectKw(kw string) (token, error) {
	t := p.take()
	if !isKw(t, kw) {
		return t, errAt(t.pos, "want %q, got %s", kw, t.describe())
	}
	return t, nil
}

func (p *parser) query() (*AST, error) {
	t := p.peek()
	if t.kind == tIdent {
		if msg, ok := unsupportedKeywords[strings.ToLower(t.text)]; ok && !t.optional {
			return nil, errAt(t.pos, "%s", msg)
		}
	}
	if isKw(t, "sequence") {
		s, err := p.sequence()
		if err != nil {
			return nil, err
		}
		return &AST{Sequence: s}, nil
	}
	q, err := p.eventQuery()
	if err != nil {
		return nil, err
	}
	return &AST{Event: q}, nil
}

func (p *parser) sequence() (*Sequence, error) {
	s := &Sequence{Pos: p.take().pos}
	for range 2 { // "by" and "with" in either order
		switch t := p.peek(); {
		case isKw(t, "by") && s.By == nil:
			p.take()
			keys, err := p.keys()
			if err != nil {
				return nil, err
			}
			s.By = keys
		case isKw(t, "with") && s.MaxSpan == 0:
			p.take()
			if _, err := p.expectKw("maxspan"); err != nil {
				return nil, err
			}
			if _, err := p.expectOp("="); err != nil {
				return nil, err
			}
			d, err := p.duration()
			if err != nil {
				return nil, err
			}
			s.MaxSpan = d
		}
	}
	for isOp(p.peek(), "[") {
		st, err := p.step(true)
		if err != nil {
			return nil, err
		}
		s.Steps = append(s.Steps, st)
	}
	if len(s.Steps) < 2 {
		n := 0
		for _, st := range s.Steps {
			n += max(st.Runs, 1)
		}
		if n < 2 {
			return nil, errAt(p.peek().pos, "a sequence needs at least 2 steps, got %d", len(s.Steps))
		}
	}
	if t := p.peek(); isKw(t, "until") {
		p.take()
		st, err := p.step(false)
		if err != nil {
			return nil, err
		}
		s.Until = st
	}
	return s, nil
}

// duration parses N followed by ms, s, m, h or d (a separate token or glued).
func (p *parser) duration() (time.Duration, error) {
	t := p.take()
	if t.kind != tNumber {
		return 0, errAt(t.pos, "want a duration such as 5s, got %s", t.describe())
	}
	text := t.text
	i := 0
	for i < len(text) && text[i] >= '0' && text[i] <= '9' {
		i++
	}
	num, unit := text[:i], text[i:]
	if unit == "" && p.peek().kind == tIdent {
		unit = p.take().text
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > 1e9 {
		return 0, errAt(t.pos, "bad duration %q", t.text)
	}
	var u time.Duration
	switch unit {
	case "ms":
		u = time.Millisecond
	case "s":
		u = time.Second
	case "m":
		u = time.Minute
	case "h":
		u = time.Hour
	case "d":
		u = 24 * time.Hour
	default:
		return 0, errAt(t.pos, "duration %q: want a unit of ms, s, m, h or d", text+unit)
	}
	return time.Duration(n) * u, nil
}

// keys parses `k, k, ...` after by, each k a field or alternatives
// `field or field ...` (nothing else may follow a key with "or").
func (p *parser) keys() ([]*JoinKey, error) {
	var out []*JoinKey
	for {
		t := p.take()
		if t.kind != tIdent {
			return nil, errAt(t.pos, "want a field name after by, got %s", t.describe())
		}
		k := &JoinKey{Pos: t.pos, Fields: []*FieldRef{{Pos: t.pos, Name: t.text, Optional: t.optional}}}
		for isKw(p.peek(), "or") {
			p.take()
			t := p.take()
			if t.kind != tIdent {
				return nil, errAt(t.pos, "want a field name after or in a join key, got %s", t.describe())
			}
			k.Fields = append(k.Fields, &FieldRef{Pos: t.pos, Name: t.text, Optional: t.optional})
		}
		out = append(out, k)
		if !isOp(p.peek(), ",") {
			return out, nil
		}
		p.take()
	}
}

// step parses `[query] [by keys] [with runs=N]`.
func (p *parser) step(allowRuns bool) (*Step, error) {
	open, err := p.expectOp("[")
	if err != nil {
		return nil, err
	}
	q, err := p.eventQuery()
	if err != nil {
		return nil, err
	}
	if _, err := p.expectOp("]"); err != nil {
		return nil, err
	}
	st := &Step{Pos: open.pos, Query: q}
	if isKw(p.peek(), "by") {
		p.take()
		if st.By, err = p.keys(); err != nil {
			return nil, err
		}
	}
	if isKw(p.peek(), "with") && allowRuns {
		p.take()
		if _, err := p.expectKw("runs"); err != nil {
			return nil, err
		}
		if _, err := p.expectOp("="); err != nil {
			return nil, err
		}
		t := p.take()
		n, err := strconv.Atoi(t.text)
		if t.kind != tNumber || err != nil || n < 1 || n > 100 {
			return nil, errAt(t.pos, "runs=%s: want 1 to 100", t.text)
		}
		st.Runs = n
	}
	return st, nil
}

func (p *parser) eventQuery() (*EventQuery, error) {
	t := p.take()
	if t.kind != tIdent && t.kind != tString {
		return nil, errAt(t.pos, "want an event category (process, network, file, any), got %s", t.describe())
	}
	q := &EventQuery{Pos: t.pos, Category: t.text}
	if _, err := p.expectKw("where"); err != nil {
		return nil, err
	}
	w, err := p.expr()
	if err != nil {
		return nil, err
	}
	q.Where = w
	return q, nil
}

func (p *parser) enter(at Pos) error {
	p.depth++
	if p.depth > maxDepth {
		return errAt(at, "expression nested deeper than %d", maxDepth)
	}
	return nil
}

func (p *parser) expr() (Node, error) {
	if err := p.enter(p.peek().pos); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	x, err := p.and()
	if err != nil {
		return nil, err
	}
	for isKw(p.peek(), "or") {
		t := p.take()
		y, err := p.and()
		if err != nil {
			return nil, err
		}
		x = &Logic{Pos: t.pos, Op: "or", X: x, Y: y}
	}
	return x, nil
}

func (p *parser) and() (Node, error) {
	x, err := p.not()
	if err != nil {
		return nil, err
	}
	for isKw(p.peek(), "and") {
		t := p.take()
		y, err := p.not()
		if err != nil {
			return nil, err
		}
		x = &Logic{Pos: t.pos, Op: "and", X: x, Y: y}
	}
	return x, nil
}

func (p *parser) not() (Node, error) {
	if t := p.peek(); isKw(t, "not") {
		p.take()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return &Not{Pos: t.pos, X: x}, nil
	}
	return p.predicate()
}

// matchOps are the keyword operators and whether each has a ~ variant.
var matchOps = map[string]bool{"in": true, "like": true, "regex": true}

func (p *parser) predicate() (Node, error) {
	x, err := p.operand()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	switch {
	case t.kind == tOp && (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">="):
		p.take()
		y, err := p.operand()
		if err != nil {
			return nil, err
		}
		return &Compare{Pos: t.pos, Op: t.text, X: x, Y: y}, nil
	case isOp(t, "="):
		return nil, errAt(t.pos, "single = is not a comparison: use == (case-sensitive) or : (case-insensitive)")
	case isOp(t, ":"):
		p.take()
		list, err := p.matchList()
		if err != nil {
			return nil, err
		}
		return &MatchOp{Pos: t.pos, Op: ":", Fold: true, X: x, List: list}, nil
	case isKw(t, "not") && isKw(p.peekN(1), "in"):
		p.take()
		m, err := p.matchOp(x)
		if err != nil {
			return nil, err
		}
		m.Negated = true
		return m, nil
	case t.kind == tIdent && !t.optional && matchOps[strings.ToLower(t.text)]:
		return p.matchOp(x)
	case isKw(t, "with") || isKw(t, "of"):
		return nil, errAt(t.pos, "unexpected %q here", t.text)
	case t.kind == tOp && strings.Contains("+-*/%", t.text):
		return nil, errAt(t.pos, "arithmetic operator %q is not supported: use add() or subtract()", t.text)
	}
	return x, nil
}

// matchOp parses in/in~/like/like~/regex/regex~ and its list.
func (p *parser) matchOp(x Node) (*MatchOp, error) {
	t := p.take()
	m := &MatchOp{Pos: t.pos, Op: strings.ToLower(t.text), X: x}
	if isOp(p.peek(), "~") && p.peek().pos.Off == t.pos.Off+len(t.text) {
		p.take()
		m.Fold = true
	}
	var err error
	if m.Op == "in" {
		if !isOp(p.peek(), "(") {
			return nil, errAt(p.peek().pos, "want ( after in")
		}
	}
	m.List, err = p.matchList()
	return m, err
}

// matchList parses one operand or a parenthesised list of literals.
func (p *parser) matchList() ([]Node, error) {
	if !isOp(p.peek(), "(") {
		x, err := p.operand()
		if err != nil {
			return nil, err
		}
		return []Node{x}, nil
	}
	p.take()
	var list []Node
	for {
		x, err := p.operand()
		if err != nil {
			return nil, err
		}
		list = append(list, x)
		t := p.take()
		if isOp(t, ")") {
			return list, nil
		}
		if !isOp(t, ",") {
			return nil, errAt(t.pos, "want , or ) in a list, got %s", t.describe())
		}
	}
}

func (p *parser) operand() (Node, error) {
	t := p.take()
	switch t.kind {
	case tString:
		return &Literal{Pos: t.pos, Kind: litString, Str: t.text}, nil
	case tNumber:
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, errAt(t.pos, "number %q: only integers are supported", t.text)
		}
		return &Literal{Pos: t.pos, Kind: litInt, Int: n}, nil
	case tEOF:
		return nil, errAt(t.pos, "unexpected end of query")
	case tOp:
		switch t.text {
		case "(":
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			if _, err := p.expectOp(")"); err != nil {
				return nil, err
			}
			return x, nil
		case "-":
			n := p.take()
			v, err := strconv.ParseInt("-"+n.text, 10, 64)
			if n.kind != tNumber || err != nil {
				return nil, errAt(t.pos, "want a number after -")
			}
			return &Literal{Pos: t.pos, Kind: litInt, Int: v}, nil
		}
		return nil, errAt(t.pos, "unexpected %s", t.describe())
	}
	// Identifier: keyword literal, lineage, function call or field.
	if !t.optional {
		switch strings.ToLower(t.text) {
		case "true", "false":
			return &Literal{Pos: t.pos, Kind: litBool, Bool: strings.EqualFold(t.text, "true")}, nil
		case "null":
			return &Literal{Pos: t.pos, Kind: litNull}, nil
		case "child", "descendant", "event":
			if isKw(p.peek(), "of") {
				p.take()
				if _, err := p.expectOp("["); err != nil {
					return nil, err
				}
				q, err := p.eventQuery()
				if err != nil {
					return nil, err
				}
				if _, err := p.expectOp("]"); err != nil {
					return nil, err
				}
				return &Lineage{Pos: t.pos, Kind: strings.ToLower(t.text), Inner: q}, nil
			}
		case "and", "or", "not", "where", "by", "with", "until", "sequence", "in", "like", "regex", "of":
			return nil, errAt(t.pos, "unexpected keyword %q", t.text)
		}
	}
	next := p.peek()
	if !t.optional && (isOp(next, "(") || (isOp(next, "~") && isOp(p.peekN(1), "("))) {
		c := &Call{Pos: t.pos, Name: t.text}
		if isOp(next, "~") {
			p.take()
			c.Fold = true
		}
		p.take()
		if isOp(p.peek(), ")") {
			p.take()
			return c, nil
		}
		for {
			a, err := p.expr()
			if err != nil {
				return nil, err
			}
			c.Args = append(c.Args, a)
			s := p.take()
			if isOp(s, ")") {
				return c, nil
			}
			if !isOp(s, ",") {
				return nil, errAt(s.pos, "want , or ) in the arguments of %s, got %s", c.Name, s.describe())
			}
		}
	}
	return &FieldRef{Pos: t.pos, Name: t.text, Optional: t.optional}, nil
}
