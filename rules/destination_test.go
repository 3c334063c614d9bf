package rules

import (
	"net/netip"
	"strings"
	"testing"
)

// aptNetconExcludedDestinations is the cidrmatch() list of event 2 as
// DESIGN.md states upstream version 10's; the shipped file must exclude
// exactly these (tested below at both ends of every prefix).
var aptNetconExcludedDestinations = []string{
	"10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
	"192.0.0.0/29", "192.0.0.8/32", "192.0.0.9/32", "192.0.0.10/32", "192.0.0.170/32",
	"192.0.0.171/32", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24",
	"192.168.0.0/16", "192.88.99.0/24", "224.0.0.0/4", "100.64.0.0/10",
	"192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
	"240.0.0.0/4", "::1", "FE80::/10", "FF00::/8", "172.31.0.0/16",
}

var aptNetconExcludedPrefixes = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range aptNetconExcludedDestinations {
		if !strings.Contains(s, "/") {
			a := netip.MustParseAddr(s)
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		out = append(out, netip.MustParsePrefix(s).Masked())
	}
	return out
}()

// TestExcludedListInFile pins the shipped query's cidrmatch list to the
// DESIGN.md list, in order.
func TestExcludedListInFile(t *testing.T) {
	var quoted []string
	for _, s := range aptNetconExcludedDestinations {
		quoted = append(quoted, `"`+s+`"`)
	}
	flat := strings.Join(strings.Fields(seed.QueryText), " ")
	if !strings.Contains(flat, "cidrmatch(destination.ip, "+strings.Join(quoted, ", ")+")") {
		t.Errorf("shipped query does not hold the v10 cidrmatch list in order:\n%s", seed.QueryText)
	}
}

// TestExcludedPrefixesEnds checks the first and last address of every
// listed prefix, plain and (for IPv4) IPv4-mapped.
func TestExcludedPrefixesEnds(t *testing.T) {
	for _, p := range aptNetconExcludedPrefixes {
		first := p.Masked().Addr()
		last := lastAddr(p)
		for _, a := range []netip.Addr{first, last} {
			if destinationIsRemote(a) {
				t.Errorf("%s (in %s) judged remote", a, p)
			}
			if a.Is4() {
				mapped := netip.AddrFrom16(a.As16())
				if destinationIsRemote(mapped) {
					t.Errorf("%s (mapped, in %s) judged remote", mapped, p)
				}
			}
		}
	}
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestDestinationIsRemote(t *testing.T) {
	tests := []struct {
		ip     string // "" is the zero Addr (destination.ip null)
		remote bool
	}{
		// null and unspecified
		{"", false},
		{"0.0.0.0", false},
		{"::ffff:0.0.0.0", false},
		{"0.0.0.1", true}, // upstream excludes only 0.0.0.0 itself
		{"::", true},      // upstream excludes only the IPv4 unspecified address
		// public addresses match
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"2001:4860:4860::8888", true},
		{"::ffff:8.8.8.8", true},
		// 10.0.0.0/8
		{"9.255.255.255", true}, {"10.0.0.0", false}, {"10.255.255.255", false}, {"11.0.0.0", true},
		// 127.0.0.0/8, also IPv4-mapped (the loopback bypass)
		{"126.255.255.255", true}, {"127.0.0.0", false}, {"127.0.0.1", false}, {"127.255.255.255", false}, {"128.0.0.0", true},
		{"::ffff:127.0.0.1", false}, {"::ffff:127.255.255.255", false}, {"::ffff:128.0.0.0", true},
		// 100.64.0.0/10
		{"100.63.255.255", true}, {"100.64.0.0", false}, {"100.127.255.255", false}, {"100.128.0.0", true},
		// 169.254.0.0/16
		{"169.253.255.255", true}, {"169.254.0.0", false}, {"169.254.255.255", false}, {"169.255.0.0", true},
		// 172.16.0.0/12 (172.31.0.0/16 inside it is listed too)
		{"172.15.255.255", true}, {"172.16.0.0", false}, {"172.31.255.255", false}, {"172.32.0.0", true},
		// 192.0.0.0/24 and its listed sub-prefixes
		{"191.255.255.255", true}, {"192.0.0.0", false}, {"192.0.0.170", false}, {"192.0.0.255", false}, {"192.0.1.0", true},
		// 192.0.2.0/24 (TEST-NET-1)
		{"192.0.1.255", true}, {"192.0.2.0", false}, {"192.0.2.255", false}, {"192.0.3.0", true},
		// 192.31.196.0/24, 192.52.193.0/24, 192.175.48.0/24
		{"192.31.195.255", true}, {"192.31.196.0", false}, {"192.31.196.255", false}, {"192.31.197.0", true},
		{"192.52.192.255", true}, {"192.52.193.0", false}, {"192.52.193.255", false}, {"192.52.194.0", true},
		{"192.175.47.255", true}, {"192.175.48.0", false}, {"192.175.48.255", false}, {"192.175.49.0", true},
		// 192.88.99.0/24
		{"192.88.98.255", true}, {"192.88.99.0", false}, {"192.88.99.255", false}, {"192.88.100.0", true},
		// 192.168.0.0/16
		{"192.167.255.255", true}, {"192.168.0.0", false}, {"192.168.255.255", false}, {"192.169.0.0", true},
		// 198.18.0.0/15
		{"198.17.255.255", true}, {"198.18.0.0", false}, {"198.19.255.255", false}, {"198.20.0.0", true},
		// 198.51.100.0/24, 203.0.113.0/24
		{"198.51.99.255", true}, {"198.51.100.0", false}, {"198.51.100.255", false}, {"198.51.101.0", true},
		{"203.0.112.255", true}, {"203.0.113.0", false}, {"203.0.113.255", false}, {"203.0.114.0", true},
		// 224.0.0.0/4 and 240.0.0.0/4 are adjacent: everything from 224/8 up
		{"223.255.255.255", true}, {"224.0.0.0", false}, {"239.255.255.255", false}, {"240.0.0.0", false}, {"255.255.255.255", false},
		// ::1 is a single address
		{"::1", false}, {"::2", true}, {"::ffff:0.0.0.1", true},
		// fe80::/10
		{"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true}, {"fe80::", false}, {"fe80::1", false}, {"FE80::1", false},
		{"fe80::1%eth0", false}, {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false}, {"fec0::", true},
		// ff00::/8
		{"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true}, {"ff00::", false}, {"ff02::1", false}, {"ff02::1%eth0", false},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
	}
	for _, tt := range tests {
		var a netip.Addr
		if tt.ip != "" {
			a = netip.MustParseAddr(tt.ip)
		}
		if got := destinationIsRemote(a); got != tt.remote {
			t.Errorf("destinationIsRemote(%q) = %v, want %v", tt.ip, got, tt.remote)
		}
	}
}

func BenchmarkDestinationIsRemote(b *testing.B) {
	for _, ip := range []string{"8.8.8.8", "::ffff:8.8.8.8", "2001:4860:4860::8888"} {
		b.Run(ip, func(b *testing.B) {
			ev := connectFrom("h", "p", ip, 0)
			b.ReportAllocs()
			for b.Loop() {
				if !isRemoteConnectAttempt(ev) {
					b.Fatal("public address judged local")
				}
			}
		})
	}
}
