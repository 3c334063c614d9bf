package eql

import (
	"net/netip"
	"strings"
	"testing"
)

// The sections cited are those of Elasticsearch's "EQL syntax reference"
// (eql-syntax) and "EQL function reference" (eql-function-ref).
const (
	secCompare  = "eql-syntax: Operators / Comparison operators"
	secLookup   = "eql-syntax: Operators / Lookup operators"
	secLogical  = "eql-syntax: Operators / Logical operators"
	secWildcard = "eql-syntax: Wildcards"
	secNull     = "eql-syntax: Null values / Comparison operators note on null"
	secArrays   = "eql-syntax: Operators (multi-value fields match if any value does)"
	secStrings  = "eql-syntax: Strings / Escape characters, Raw strings"
	secOptional = "eql-syntax: Optional fields"
	secComments = "eql-syntax: Comments"
	secCIDR     = "eql-function-ref: cidrMatch"
	secStarts   = "eql-function-ref: startsWith"
	secEnds     = "eql-function-ref: endsWith"
	secContains = "eql-function-ref: stringContains"
	secLength   = "eql-function-ref: length"
	secMath     = "eql-function-ref: add, subtract"
	secCaseIns  = "eql-syntax: Operators / case-insensitive ~ variants"
)

// base is the event most rows evaluate.
func base() *tev {
	return &tev{cat: "process", name: "sh", exe: "/usr/bin/dash", args: []string{"/bin/sh", "-c", "curl x"},
		pid: 42, ip: netip.MustParseAddr("10.1.2.3")}
}

// eval compiles `any where src` and returns "true", "false" or "null".
func eval(t *testing.T, src string, e *tev) string {
	t.Helper()
	q, err := Compile("any where "+src, testSchema)
	if err != nil {
		t.Fatalf("compile %q: %v", src, err)
	}
	v := q.steps[0].cond(e)
	switch {
	case v.k == vNull:
		return "null"
	case v.k == vBool && v.b:
		return "true"
	case v.k == vBool:
		return "false"
	}
	t.Fatalf("%q evaluated to a non-boolean %+v", src, v)
	return ""
}

func TestExpressions(t *testing.T) {
	noName := func(e *tev) { e.name = "" }
	noIP := func(e *tev) { e.ip = netip.Addr{} }
	noArgs := func(e *tev) { e.args = nil }
	tests := []struct {
		sec    string
		expr   string
		modify func(*tev)
		want   string
	}{
		{secCompare, `process.name == "sh"`, nil, "true"},
		{secCompare, `process.name == "SH"`, nil, "false"},
		{secCompare, `process.name == "s*"`, nil, "false"},
		{secCompare, `process.name != "sh"`, nil, "false"},
		{secCompare, `process.name != "bash"`, nil, "true"},
		{secCompare, `"sh" == process.name`, nil, "true"},
		{secCompare, `process.pid == 42`, nil, "true"},
		{secCompare, `process.pid < 43 and process.pid <= 42 and process.pid > 41 and process.pid >= 42`, nil, "true"},
		{secCompare, `process.pid > 42`, nil, "false"},
		{secCompare, `process.name < "t"`, nil, "true"},
		{secCompare, `destination.ip == "10.1.2.3"`, nil, "true"},
		{secCompare, `destination.ip == "::ffff:10.1.2.3"`, nil, "true"},
		{secCompare, `process.name == process.name`, nil, "true"},
		{secNull, `process.name == null`, noName, "true"},
		{secNull, `process.name != null`, noName, "false"},
		{secNull, `process.name == null`, nil, "false"},
		{secNull, `null == process.name`, noName, "true"},
		{secNull, `process.name == "sh"`, noName, "false"},
		{secNull, `process.name != "sh"`, noName, "true"},
		{secNull, `not process.name == "sh"`, noName, "true"},
		{secNull, `process.pid > 1`, func(e *tev) { e.pid = 0 }, "false"},
		{secNull, `destination.ip == null`, noIP, "true"},
		{secLogical, `not null`, nil, "null"},
		{secLogical, `null and true`, nil, "null"},
		{secLogical, `null and false`, nil, "false"},
		{secLogical, `false and null`, nil, "false"},
		{secLogical, `null or true`, nil, "true"},
		{secLogical, `null or false`, nil, "null"},
		{secLogical, `true and not false`, nil, "true"},
		{secLogical, `not true or true and false`, nil, "false"},
		{secLogical, `not (true or true) and false`, nil, "false"},
		{secLogical, `true or true and false`, nil, "true"},
		{secLookup, `process.name in ("bash", "sh")`, nil, "true"},
		{secLookup, `process.name in ("SH")`, nil, "false"},
		{secLookup, `process.name in~ ("SH")`, nil, "true"},
		{secLookup, `process.name not in ("bash")`, nil, "true"},
		{secLookup, `process.name not in ("sh")`, nil, "false"},
		{secLookup, `process.name in ("sh")`, noName, "false"},
		{secLookup, `process.name not in ("sh")`, noName, "true"},
		{secLookup, `process.pid in (1, 42)`, nil, "true"},
		{secLookup, `destination.ip in ("10.1.2.3", "::1")`, nil, "true"},
		{secLookup, `process.name : "SH"`, nil, "true"},
		{secLookup, `process.name : "s"`, nil, "false"},
		{secLookup, `process.name : ("bash", "zsh")`, nil, "false"},
		{secWildcard, `process.name : "S*"`, nil, "true"},
		{secWildcard, `process.name : ("bash", "?H")`, nil, "true"},
		{secWildcard, `process.executable : "*/DASH"`, nil, "true"},
		{secWildcard, `process.executable : "/usr/*/d?sh"`, nil, "true"},
		{secWildcard, `process.executable : "/usr/*/d?h"`, nil, "false"},
		{secWildcard, `process.executable : "*"`, nil, "true"},
		{secWildcard, `process.executable : "*"`, func(e *tev) { e.exe = "" }, "false"},
		{secLookup, `process.name like "s*"`, nil, "true"},
		{secLookup, `process.name like "S*"`, nil, "false"},
		{secCaseIns, `process.name like~ "S*"`, nil, "true"},
		{secLookup, `process.name regex "s[hk]"`, nil, "true"},
		{secLookup, `process.name regex "s"`, nil, "false"},
		{secCaseIns, `process.name regex~ "S[H]"`, nil, "true"},
		{secLookup, `process.name regex ("x", "s.")`, nil, "true"},
		{secArrays, `process.args == "-c"`, nil, "true"},
		{secArrays, `process.args != "-c"`, nil, "false"},
		{secArrays, `process.args == "-C"`, nil, "false"},
		{secArrays, `process.args : "-C"`, nil, "true"},
		{secArrays, `process.args : "curl *"`, nil, "true"},
		{secArrays, `process.args in ("x", "-c")`, nil, "true"},
		{secArrays, `process.args == "-c"`, noArgs, "false"},
		{secArrays, `process.args == null`, noArgs, "true"},
		{secArrays, `startsWith(process.args, "/bin")`, nil, "true"},
		{secCIDR, `cidrmatch(destination.ip, "10.0.0.0/8")`, nil, "true"},
		{secCIDR, `cidrmatch(destination.ip, "192.168.0.0/16", "10.1.2.3")`, nil, "true"},
		{secCIDR, `cidrmatch(destination.ip, "192.168.0.0/16")`, nil, "false"},
		{secCIDR, `cidrmatch(destination.ip, "10.0.0.0/8")`, noIP, "null"},
		{secCIDR, `not cidrmatch(destination.ip, "10.0.0.0/8")`, noIP, "null"},
		{secCIDR, `cidrmatch(destination.ip, "10.0.0.0/8")`, func(e *tev) { e.ip = netip.MustParseAddr("::ffff:10.0.0.1") }, "true"},
		{secCIDR, `cidrmatch(destination.ip, "fe80::/10")`, func(e *tev) { e.ip = netip.MustParseAddr("fe80::1%eth0") }, "true"},
		{secStarts, `startsWith(process.name, "s")`, nil, "true"},
		{secStarts, `startsWith(process.name, "S")`, nil, "false"},
		{secCaseIns, `startsWith~(process.name, "S")`, nil, "true"},
		{secStarts, `startsWith(process.name, "s")`, noName, "null"},
		{secEnds, `endsWith(process.executable, "/dash")`, nil, "true"},
		{secEnds, `endsWith~(process.executable, "/DASH")`, nil, "true"},
		{secContains, `stringContains(process.executable, "bin/d")`, nil, "true"},
		{secContains, `stringContains(process.executable, "BIN")`, nil, "false"},
		{secCaseIns, `stringContains~(process.executable, "BIN")`, nil, "true"},
		{secLength, `length(process.name) == 2`, nil, "true"},
		{secLength, `length(process.name) == 2`, noName, "false"},
		{secMath, `add(process.pid, 1) == 43`, nil, "true"},
		{secMath, `subtract(process.pid, 2) == 40`, nil, "true"},
		{secMath, `add(process.pid, 1) == 43`, func(e *tev) { e.pid = 0 }, "false"},
		{secStrings, `process.name == "\u{73}h"`, nil, "true"},
		{secStrings, `process.name == "a\tb"`, func(e *tev) { e.name = "a\tb" }, "true"},
		{secStrings, `process.name == """a\tb"""`, func(e *tev) { e.name = `a\tb` }, "true"},
		{secStrings, `process.name == "q\"q"`, func(e *tev) { e.name = `q"q` }, "true"},
		{secOptional, `?no.such.field == null`, nil, "true"},
		{secOptional, `?no.such.field == "x"`, nil, "false"},
		{secCompare, `host.os.type == "linux"`, nil, "true"},
		{secCompare, `host.os.type != "linux"`, nil, "false"},
		{secLogical, `host.os.type == "windows" and null`, nil, "false"},
		{secLogical, `host.os.type == "linux" and null`, nil, "null"},
		{secLogical, `host.os.type == "linux" or null`, nil, "true"},
		{secLogical, `process.name == "sh" and host.os.type == "linux"`, nil, "true"},
		{secLogical, `process.name == "sh" and host.os.type == "linux"`, noName, "false"},
		{secLogical, `not (host.os.type == "linux" and process.name == "x")`, nil, "true"},
		{secComments, "process.name == \"sh\" // trailing\n and /* inline */ true", nil, "true"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e := base()
			if tt.modify != nil {
				tt.modify(e)
			}
			if got := eval(t, tt.expr, e); got != tt.want {
				t.Errorf("%s\n  %s = %s, want %s", tt.sec, tt.expr, got, tt.want)
			}
		})
	}
}

// TestCompileErrors: what is outside the subset is refused with its
// position and a name for what is unsupported.
func TestCompileErrors(t *testing.T) {
	tests := []struct {
		src, pos, msg string
	}{
		{`process where process.name = "sh"`, "1:28", "single ="},
		{`process where process.name == 'sh'`, "1:31", "single-quoted"},
		{`process where process.name == "sh" | head 1`, "1:36", "pipes"},
		{`join [process where true] [network where true]`, "1:1", "join"},
		{`sample by host.id [process where true] [process where true]`, "1:1", "sample"},
		{`process where process.pid + 1 == 2`, "1:27", "arithmetic"},
		{"process where\n  process.name regex \"(?=x)\"", "2:22", "lookahead"},
		{`process where process.name regex "a\\1"`, "1:34", "backreferences"},
		{`process where between(process.name, "a", "b") == "x"`, "1:15", "between is not supported"},
		{`process where frobnicate(process.name)`, "1:15", "unknown function"},
		{`registry where true`, "1:1", "unknown event category"},
		{`sequence [process where true]`, "1:30", "at least 2 steps"},
		{`sequence with maxspan=5x [process where true] [process where true]`, "1:23", "unit"},
		{`process where process.name == "sh`, "1:31", "unterminated string"},
		{`process where process.name`, "1:15", "want a condition"},
		{`process where destination.ip == "not-an-ip"`, "1:33", "not an IP"},
		{`process where cidrmatch(destination.ip, "10.0.0.0/99")`, "1:41", "not a CIDR"},
		{`process where process.name in (process.name)`, "1:32", "literal"},
		{`sequence by process.args [process where true] [process where true]`, "1:13", "join key"},
		{`sequence [process where true] by process.name [process where true]`, "1:47", "same number of join keys"},
		{`process where /* open`, "1:15", "unterminated"},
		{`process where process.name == "\q"`, "1:32", "unknown escape"},
		{`process where true and`, "1:23", "end of query"},
		{"process where " + strings.Repeat("(", 300) + "true" + strings.Repeat(")", 300), "", "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := Compile(tt.src, testSchema)
			if err == nil {
				t.Fatalf("compiled; want an error with %q", tt.msg)
			}
			if !strings.Contains(err.Error(), tt.msg) || (tt.pos != "" && !strings.HasPrefix(err.Error(), tt.pos+":")) {
				t.Errorf("error %q, want %s: ...%s...", err, tt.pos, tt.msg)
			}
		})
	}
}

func TestUnknownFieldWarns(t *testing.T) {
	q, err := Compile("process where\n  process.nmae == \"sh\" and ?process.other == null", testSchema)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Warnings) != 1 || q.Warnings[0].Pos.String() != "2:3" || !strings.Contains(q.Warnings[0].Msg, "process.nmae") {
		t.Fatalf("warnings %v, want one for process.nmae at 2:3", q.Warnings)
	}
	if q.Matches(0, base()) {
		t.Error("a condition on an unknown field matched")
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		p, s string
		fold bool
		want bool
	}{
		{"", "", false, true}, {"*", "", false, true}, {"?", "", false, false},
		{"a*b*c", "aXbYc", false, true}, {"a*b*c", "aXbY", false, false},
		{"*a", "bbbba", false, true}, {"**", "x", false, true}, {"?é?", "xéy", false, true},
		{"ÉCOLE", "école", true, true}, {"ÉCOLE", "école", false, false}, {"*ß", "xß", true, true},
		{"a*a*a*a*b", strings.Repeat("a", 100), false, false},
	}
	for _, tt := range tests {
		if got := globMatch(tt.p, tt.s, tt.fold); got != tt.want {
			t.Errorf("globMatch(%q, %q, %v) = %v, want %v", tt.p, tt.s, tt.fold, got, tt.want)
		}
	}
}
