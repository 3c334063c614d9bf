package eql

import (
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

type vkind uint8

const (
	vNull vkind = iota
	vStr
	vStrs
	vInt
	vIP
	vBool
)

// value is the result of evaluating an expression; it is passed by value
// so evaluation does not allocate.
type value struct {
	k  vkind
	b  bool
	i  int64
	s  string
	ss []string
	ip netip.Addr
}

var (
	vTrue  = value{k: vBool, b: true}
	vFalse = value{k: vBool}
	null   = value{}
)

func boolv(b bool) value {
	if b {
		return vTrue
	}
	return vFalse
}

// globMatch reports whether s matches pattern, where * matches any run of
// characters and ? exactly one (EQL wildcards); fold compares
// case-insensitively by Unicode simple folding. It backtracks only to the
// last *, so it runs in O(len(pattern)*len(s)) at worst and never allocates.
func globMatch(p, s string, fold bool) bool {
	px, sx := 0, 0
	starPx, starSx := -1, 0
	for sx < len(s) {
		if px < len(p) {
			switch p[px] {
			case '*':
				starPx, starSx = px, sx
				px++
				continue
			case '?':
				_, n := utf8.DecodeRuneInString(s[sx:])
				px++
				sx += n
				continue
			default:
				pr, pn := utf8.DecodeRuneInString(p[px:])
				sr, sn := utf8.DecodeRuneInString(s[sx:])
				if pr == sr || (fold && foldEq(pr, sr)) {
					px += pn
					sx += sn
					continue
				}
			}
		}
		if starPx < 0 {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starSx:])
		starSx += n
		px, sx = starPx+1, starSx
	}
	for px < len(p) && p[px] == '*' {
		px++
	}
	return px == len(p)
}

// foldEq reports whether two runes are equal under simple case folding.
func foldEq(a, b rune) bool {
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}

// hasWildcard reports whether a pattern has * or ?.
func hasWildcard(p string) bool { return strings.ContainsAny(p, "*?") }

// isTrue reports whether v is the boolean true (not false, not null).
func isTrue(v value) bool { return v.k == vBool && v.b }
