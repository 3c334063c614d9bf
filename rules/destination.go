package rules

import (
	"net/netip"
	"strings"
)

// aptNetconExcludedDestinations is the cidrmatch() list of event 2 of
// "Suspicious APT Package Manager Network Connection" version 10 (upstream
// elastic/detection-rules, rules/linux/persistence_apt_package_manager_netcon.toml,
// updated 2026-03-24), in upstream order. Entries without a prefix length
// are single addresses, as cidrmatch() treats them.
var aptNetconExcludedDestinations = []string{
	"10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
	"192.0.0.0/29", "192.0.0.8/32", "192.0.0.9/32", "192.0.0.10/32", "192.0.0.170/32",
	"192.0.0.171/32", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24",
	"192.168.0.0/16", "192.88.99.0/24", "224.0.0.0/4", "100.64.0.0/10",
	"192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
	"240.0.0.0/4", "::1", "FE80::/10", "FF00::/8", "172.31.0.0/16",
}

// aptNetconExcludedPrefixes is aptNetconExcludedDestinations parsed once at
// package initialisation, so the per-event check does no parsing; it is
// split by family because a prefix never contains an address of the other
// family (netip.Prefix.Contains), so each check scans only its own.
var (
	aptNetconExcludedPrefixes = mustParsePrefixes(aptNetconExcludedDestinations)
	excludedV4, excludedV6    = splitByFamily(aptNetconExcludedPrefixes)
)

// unspecifiedIPv4 is 0.0.0.0, which the rule excludes by equality.
var unspecifiedIPv4 = netip.IPv4Unspecified()

// mustParsePrefixes parses a fixed list of CIDRs or single addresses. It
// panics only on a bad literal in this package's source, which the tests
// catch; it never sees runtime input.
func mustParsePrefixes(list []string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		if !strings.Contains(s, "/") {
			a := netip.MustParseAddr(s)
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		out = append(out, netip.MustParsePrefix(s).Masked())
	}
	return out
}

// splitByFamily returns the IPv4 and the IPv6 prefixes of list, in order.
func splitByFamily(list []netip.Prefix) (v4, v6 []netip.Prefix) {
	for _, p := range list {
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	return v4, v6
}

// destinationIsRemote reports whether addr passes the destination.ip part of
// event 2: not null, not "0.0.0.0", and not in any excluded CIDR.
//
// Two normalisations keep the exclusions from being bypassed:
//   - an IPv4-mapped IPv6 address (::ffff:127.0.0.1, what an AF_INET6 socket
//     connecting to an IPv4 peer puts in its sockaddr, see ipv6(7)) is judged
//     as the IPv4 address it carries. Elasticsearch does the same when it
//     indexes an ip field (an IPv4-mapped address is stored and shown as
//     IPv4), so this is also what the upstream rule sees;
//   - an IPv6 zone (fe80::1%eth0) is dropped, because netip.Prefix.Contains
//     is false for any zoned address and the zone is not part of the ip.
//
// The zero netip.Addr is the rule's null: no destination, no match. "::" is
// not excluded, exactly as upstream excludes only the IPv4 "0.0.0.0".
func destinationIsRemote(addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	addr = addr.Unmap().WithZone("")
	if addr == unspecifiedIPv4 {
		return false
	}
	excluded := excludedV6
	if addr.Is4() {
		excluded = excludedV4
	}
	for _, p := range excluded {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}
