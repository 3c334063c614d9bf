package eql

import (
	"net/netip"
	"strings"
	"unicode/utf8"
)

// unsupportedFuncs are Elasticsearch EQL functions outside the subset,
// refused by name rather than as unknown.
var unsupportedFuncs = []string{"between", "concat", "indexOf", "number", "string", "substring", "modulo", "multiply", "divide", "wildcard", "arrayContains", "arraySearch", "arrayCount"}

func (c *compiler[E]) call(n *Call) (cexpr[E], error) {
	args := make([]cexpr[E], len(n.Args))
	for i, a := range n.Args {
		x, err := c.expr(a)
		if err != nil {
			return cexpr[E]{}, err
		}
		args[i] = x
	}
	want := func(k int) error {
		if len(args) != k {
			return errAt(n.Pos, "%s takes %d arguments, got %d", n.Name, k, len(args))
		}
		return nil
	}
	switch strings.ToLower(n.Name) {
	case "cidrmatch":
		return c.cidrmatch(n, args)
	case "startswith", "endswith", "stringcontains":
		if err := want(2); err != nil {
			return cexpr[E]{}, err
		}
		var f func(s, sub string) bool
		switch strings.ToLower(n.Name) {
		case "startswith":
			f = strings.HasPrefix
			if n.Fold {
				f = func(s, p string) bool { return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) }
			}
		case "endswith":
			f = strings.HasSuffix
			if n.Fold {
				f = func(s, p string) bool { return len(s) >= len(p) && strings.EqualFold(s[len(s)-len(p):], p) }
			}
		default:
			f = strings.Contains
			if n.Fold {
				f = func(s, p string) bool { return globMatch("*"+escapeGlob(p)+"*", s, true) }
			}
		}
		for _, a := range args {
			if a.typ != vStr && a.typ != vStrs && a.typ != vNull {
				return cexpr[E]{}, errAt(n.Pos, "%s takes strings, got %s", n.Name, kindName(a.typ))
			}
		}
		s, sub := args[0].eval, args[1].eval
		return cexpr[E]{typ: vBool, eval: func(e *E) value {
			sv, pv := s(e), sub(e)
			if sv.k == vNull || pv.k == vNull {
				return null
			}
			return boolv(anyPair(sv, pv, f))
		}}, nil
	case "length":
		if err := want(1); err != nil {
			return cexpr[E]{}, err
		}
		if args[0].typ != vStr && args[0].typ != vNull {
			return cexpr[E]{}, errAt(n.Pos, "length takes a string, got %s", kindName(args[0].typ))
		}
		x := args[0].eval
		return cexpr[E]{typ: vInt, eval: func(e *E) value {
			v := x(e)
			if v.k != vStr {
				return null
			}
			return value{k: vInt, i: int64(utf8.RuneCountInString(v.s))}
		}}, nil
	case "add", "subtract":
		if err := want(2); err != nil {
			return cexpr[E]{}, err
		}
		for _, a := range args {
			if a.typ != vInt && a.typ != vNull {
				return cexpr[E]{}, errAt(n.Pos, "%s takes numbers, got %s", n.Name, kindName(a.typ))
			}
		}
		x, y := args[0].eval, args[1].eval
		sign := int64(1)
		if strings.EqualFold(n.Name, "subtract") {
			sign = -1
		}
		return cexpr[E]{typ: vInt, eval: func(e *E) value {
			a, b := x(e), y(e)
			if a.k != vInt || b.k != vInt {
				return null
			}
			return value{k: vInt, i: a.i + sign*b.i}
		}}, nil
	}
	for _, u := range unsupportedFuncs {
		if strings.EqualFold(u, n.Name) {
			return cexpr[E]{}, errAt(n.Pos, "function %s is not supported", n.Name)
		}
	}
	return cexpr[E]{}, errAt(n.Pos, "unknown function %s", n.Name)
}

// escapeGlob makes p match literally in globMatch. Patterns with * or ? in
// a literal cannot be expressed, so they are replaced by ? (any one
// character), which only widens the match for that one character.
func escapeGlob(p string) string {
	return strings.NewReplacer("*", "?").Replace(p)
}

// anyPair applies f to each string of s and p (arrays: any element).
func anyPair(s, p value, f func(string, string) bool) bool {
	ss := s.ss
	if s.k == vStr {
		ss = []string{s.s}
	}
	ps := p.ss
	if p.k == vStr {
		ps = []string{p.s}
	}
	for _, a := range ss {
		for _, b := range ps {
			if f(a, b) {
				return true
			}
		}
	}
	return false
}

// cidrmatch(ip, "cidr", ...): the CIDRs must be literals, parsed once and
// split by family. cidrmatch of null is null.
func (c *compiler[E]) cidrmatch(n *Call, args []cexpr[E]) (cexpr[E], error) {
	if len(args) < 2 {
		return cexpr[E]{}, errAt(n.Pos, "cidrmatch takes an address and at least one CIDR")
	}
	if t := args[0].typ; t != vIP && t != vStr && t != vNull {
		return cexpr[E]{}, errAt(n.Pos, "cidrmatch takes an ip, got %s", kindName(t))
	}
	var v4, v6 []netip.Prefix
	for i, a := range args[1:] {
		if a.lit == nil || a.lit.Kind != litString {
			return cexpr[E]{}, errAt(n.Args[i+1].nodePos(), "cidrmatch takes literal CIDR strings")
		}
		p, err := parsePrefix(a.lit.Str)
		if err != nil {
			return cexpr[E]{}, errAt(a.lit.Pos, "%q is not a CIDR or an address", a.lit.Str)
		}
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	x := args[0].eval
	return cexpr[E]{typ: vBool, eval: func(e *E) value {
		v := x(e)
		var a netip.Addr
		switch v.k {
		case vIP:
			a = v.ip
		case vStr:
			var err error
			if a, err = netip.ParseAddr(v.s); err != nil {
				return vFalse
			}
		default:
			return null
		}
		a = a.Unmap().WithZone("")
		list := v6
		if a.Is4() {
			list = v4
		}
		for _, p := range list {
			if p.Contains(a) {
				return vTrue
			}
		}
		return vFalse
	}}, nil
}

// parsePrefix parses a CIDR, or a single address as its full-length prefix.
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		a = a.Unmap().WithZone("")
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return p.Masked(), nil
}
