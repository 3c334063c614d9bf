// Package reftest checks package eql against a slow reference evaluator
// written here from the Elasticsearch EQL reference, independently of the
// engine: it imports nothing of eql's internals, builds random expressions
// as its own trees, prints them as EQL text for the engine, and evaluates
// the trees itself.
package reftest

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/aptsentinel/aptsentinel/eql"
)

// event is the reference's event; zero values are missing fields.
type event struct {
	name string
	args []string
	pid  int64
	ip   netip.Addr
}

var schema = eql.Schema[event]{
	Fields: map[string]eql.Field[event]{
		"process.name": eql.StringField(func(e *event) string { return e.name }),
		"process.args": eql.StringsField(func(e *event) []string { return e.args }),
		"process.pid":  eql.IntField(func(e *event) (int64, bool) { return e.pid, e.pid != 0 }),
		"destination.ip": eql.IPField(func(e *event) netip.Addr {
			return e.ip
		}),
	},
	Categories: []string{"process"},
	Category:   func(*event) string { return "process" },
	Time:       func(*event) time.Time { return time.Time{} },
}

// tri is a three-valued truth: 't', 'f' or 'n' (null).
type tri byte

// node is a reference expression tree.
type node struct {
	kind  string // cmp, in, colon, not, and, or, cidr, starts, nulllit
	field string
	op    string
	fold  bool
	neg   bool
	lits  []string
	num   int64
	x, y  *node
}

var (
	strPool  = []string{"sh", "SH", "bash", "-c", "s*", "*h", "?h", "", "curl x", "Sh", "*", "c?rl*"}
	cidrPool = []string{"10.0.0.0/8", "127.0.0.1", "::1", "fe80::/10", "0.0.0.0/0", "192.168.1.0/24"}
	ipPool   = []string{"", "10.1.2.3", "127.0.0.1", "::1", "fe80::1", "8.8.8.8", "::ffff:10.0.0.1", "192.168.1.7"}
	namePool = []string{"", "sh", "SH", "bash", "curl x", "h"}
)

type gen struct {
	b []byte
	i int
}

func (g *gen) next(n int) int {
	if g.i >= len(g.b) || n <= 0 {
		return 0
	}
	v := int(g.b[g.i]) % n
	g.i++
	return v
}

func (g *gen) node(depth int) *node {
	k := g.next(9)
	if depth > 4 {
		k %= 4
	}
	strField := []string{"process.name", "process.args"}[g.next(2)]
	switch k {
	case 0:
		return &node{kind: "cmp", field: strField, op: []string{"==", "!="}[g.next(2)], lits: []string{strPool[g.next(len(strPool))]}}
	case 1:
		n := &node{kind: "in", field: strField, fold: g.next(2) == 1, neg: g.next(3) == 0}
		for range 1 + g.next(3) {
			n.lits = append(n.lits, strPool[g.next(len(strPool))])
		}
		return n
	case 2:
		n := &node{kind: "colon", field: strField}
		for range 1 + g.next(2) {
			n.lits = append(n.lits, strPool[g.next(len(strPool))])
		}
		return n
	case 3:
		return &node{kind: "cidr", lits: []string{cidrPool[g.next(len(cidrPool))]}}
	case 4:
		return &node{kind: "not", x: g.node(depth + 1)}
	case 5:
		return &node{kind: "and", x: g.node(depth + 1), y: g.node(depth + 1)}
	case 6:
		return &node{kind: "or", x: g.node(depth + 1), y: g.node(depth + 1)}
	case 7:
		return &node{kind: "starts", field: strField, fold: g.next(2) == 1, lits: []string{strPool[g.next(len(strPool))]}}
	}
	return &node{kind: "pid", op: []string{"==", "<", ">=", "!="}[g.next(4)], num: int64(g.next(5))}
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

func quoteAll(ls []string) string {
	q := make([]string, len(ls))
	for i, l := range ls {
		q[i] = quote(l)
	}
	return strings.Join(q, ", ")
}

// text prints n as EQL.
func (n *node) text() string {
	switch n.kind {
	case "cmp":
		return n.field + " " + n.op + " " + quote(n.lits[0])
	case "in":
		op := "in"
		if n.fold {
			op = "in~"
		}
		if n.neg {
			op = "not " + op
		}
		return n.field + " " + op + " (" + quoteAll(n.lits) + ")"
	case "colon":
		return n.field + " : (" + quoteAll(n.lits) + ")"
	case "cidr":
		return "cidrmatch(destination.ip, " + quote(n.lits[0]) + ")"
	case "not":
		return "not (" + n.x.text() + ")"
	case "and", "or":
		return "(" + n.x.text() + ") " + n.kind + " (" + n.y.text() + ")"
	case "starts":
		f := "startsWith"
		if n.fold {
			f += "~"
		}
		return f + "(" + n.field + ", " + quote(n.lits[0]) + ")"
	case "pid":
		return fmt.Sprintf("process.pid %s %d", n.op, n.num)
	}
	panic(n.kind)
}

// values returns a string field's values; nil is null.
func values(e *event, field string) []string {
	if field == "process.name" {
		if e.name == "" {
			return nil
		}
		return []string{e.name}
	}
	return e.args
}

func anyOf(vs []string, f func(string) bool) bool {
	for _, v := range vs {
		if f(v) {
			return true
		}
	}
	return false
}

// wildcard is a plain recursive matcher: * any run, ? one character.
func wildcard(p, s []rune, fold bool) bool {
	if len(p) == 0 {
		return len(s) == 0
	}
	switch p[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if wildcard(p[1:], s[i:], fold) {
				return true
			}
		}
		return false
	case '?':
		return len(s) > 0 && wildcard(p[1:], s[1:], fold)
	}
	if len(s) == 0 {
		return false
	}
	a, b := p[0], s[0]
	if fold {
		a, b = unicode.ToLower(a), unicode.ToLower(b)
	}
	return a == b && wildcard(p[1:], s[1:], fold)
}

func boolTri(b bool) tri {
	if b {
		return 't'
	}
	return 'f'
}

// eval is the reference semantics: comparisons of a missing field are
// false (negations true), functions of null are null, three-valued logic.
func (n *node) eval(e *event) tri {
	switch n.kind {
	case "cmp":
		eq := anyOf(values(e, n.field), func(v string) bool { return v == n.lits[0] })
		return boolTri(eq != (n.op == "!="))
	case "in":
		in := anyOf(values(e, n.field), func(v string) bool {
			for _, l := range n.lits {
				if v == l || (n.fold && strings.EqualFold(v, l)) {
					return true
				}
			}
			return false
		})
		return boolTri(in != n.neg)
	case "colon":
		return boolTri(anyOf(values(e, n.field), func(v string) bool {
			for _, l := range n.lits {
				if wildcard([]rune(l), []rune(v), true) {
					return true
				}
			}
			return false
		}))
	case "cidr":
		if !e.ip.IsValid() {
			return 'n'
		}
		a := e.ip.Unmap()
		l := n.lits[0]
		if !strings.Contains(l, "/") {
			return boolTri(netip.MustParseAddr(l) == a)
		}
		return boolTri(netip.MustParsePrefix(l).Contains(a))
	case "not":
		switch n.x.eval(e) {
		case 't':
			return 'f'
		case 'f':
			return 't'
		}
		return 'n'
	case "and":
		x, y := n.x.eval(e), n.y.eval(e)
		if x == 'f' || y == 'f' {
			return 'f'
		}
		if x == 'n' || y == 'n' {
			return 'n'
		}
		return 't'
	case "or":
		x, y := n.x.eval(e), n.y.eval(e)
		if x == 't' || y == 't' {
			return 't'
		}
		if x == 'n' || y == 'n' {
			return 'n'
		}
		return 'f'
	case "starts":
		vs := values(e, n.field)
		if vs == nil {
			return 'n'
		}
		return boolTri(anyOf(vs, func(v string) bool {
			p := n.lits[0]
			if n.fold {
				return strings.HasPrefix(strings.ToLower(v), strings.ToLower(p))
			}
			return strings.HasPrefix(v, p)
		}))
	case "pid":
		if e.pid == 0 {
			return boolTri(n.op == "!=")
		}
		switch n.op {
		case "==":
			return boolTri(e.pid == n.num)
		case "!=":
			return boolTri(e.pid != n.num)
		case "<":
			return boolTri(e.pid < n.num)
		}
		return boolTri(e.pid >= n.num)
	}
	panic(n.kind)
}

// engineTri asks the engine for expr's truth: null is neither expr nor
// `not (expr)` matching.
func engineTri(t *testing.T, expr string, e *event) tri {
	t.Helper()
	pos, err := eql.Compile("process where "+expr, schema)
	if err != nil {
		t.Fatalf("compile %q: %v", expr, err)
	}
	neg, err := eql.Compile("process where not ("+expr+")", schema)
	if err != nil {
		t.Fatalf("compile not %q: %v", expr, err)
	}
	p, n := pos.Matches(0, e), neg.Matches(0, e)
	switch {
	case p && n:
		t.Fatalf("%q and its negation both match", expr)
	case p:
		return 't'
	case n:
		return 'f'
	}
	return 'n'
}

func FuzzAgainstReference(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{5, 4, 3, 1, 0, 2, 6, 7, 3, 2, 1, 0, 8, 1, 2})
	f.Add([]byte{6, 3, 2, 4, 3, 1, 2, 1, 1, 0, 0, 7, 1, 1, 11})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 4 {
			return
		}
		e := &event{name: namePool[int(data[0])%len(namePool)], pid: int64(data[1] % 4)}
		if a := ipPool[int(data[2])%len(ipPool)]; a != "" {
			e.ip = netip.MustParseAddr(a)
		}
		switch data[3] % 3 {
		case 1:
			e.args = []string{"sh", "-c", "curl x"}
		case 2:
			e.args = []string{"Bash"}
		}
		g := &gen{b: data[4:]}
		n := g.node(0)
		expr := n.text()
		if got, want := engineTri(t, expr, e), n.eval(e); got != want {
			t.Fatalf("%s\n event %+v\n engine %c, reference %c", expr, e, got, want)
		}
	})
}
