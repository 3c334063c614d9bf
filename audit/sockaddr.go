package audit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Address families from include/linux/socket.h.
const (
	FamilyUnspec  uint16 = 0
	FamilyUnix    uint16 = 1
	FamilyInet    uint16 = 2
	FamilyInet6   uint16 = 10
	FamilyNetlink uint16 = 16
)

// ErrNotInet is returned by DecodeSockaddr for a well-formed address of a
// family other than AF_INET and AF_INET6 (AF_UNIX, AF_NETLINK, AF_UNSPEC...):
// not a network destination.
var ErrNotInet = errors.New("sockaddr is not AF_INET or AF_INET6")

// maxSockaddrLen is sizeof(struct sockaddr_storage): the kernel copies at
// most this much (net/socket.c, move_addr_to_kernel) and logs what it copied.
const maxSockaddrLen = 128

// DecodeSockaddr decodes the raw struct sockaddr the kernel logs in the
// SOCKADDR record (hex in saddr=). The family is a host-endian u16 (the
// sensor reads its own kernel's records, so the native order is the right
// one); ports are big-endian (network order). For AF_INET it needs the 8
// bytes up to the address, for AF_INET6 the 24 bytes up to the address (the
// minimum inet6 connect accepts, SIN6_LEN_RFC2133). The IPv6 scope id is not
// kept. Other families return the family and an error wrapping ErrNotInet.
func DecodeSockaddr(raw []byte) (family uint16, dest netip.AddrPort, err error) {
	if len(raw) < 2 {
		return 0, netip.AddrPort{}, fmt.Errorf("%w: sockaddr of %d bytes has no family", ErrMalformed, len(raw))
	}
	family = binary.NativeEndian.Uint16(raw)
	switch family {
	case FamilyInet:
		// struct sockaddr_in: family, port, in_addr (include/uapi/linux/in.h).
		if len(raw) < 8 {
			return family, netip.AddrPort{}, fmt.Errorf("%w: AF_INET sockaddr of %d bytes, need 8", ErrMalformed, len(raw))
		}
		port := binary.BigEndian.Uint16(raw[2:4])
		addr := netip.AddrFrom4([4]byte(raw[4:8]))
		return family, netip.AddrPortFrom(addr, port), nil
	case FamilyInet6:
		// struct sockaddr_in6: family, port, flowinfo, in6_addr, scope_id
		// (include/uapi/linux/in6.h).
		if len(raw) < 24 {
			return family, netip.AddrPort{}, fmt.Errorf("%w: AF_INET6 sockaddr of %d bytes, need 24", ErrMalformed, len(raw))
		}
		port := binary.BigEndian.Uint16(raw[2:4])
		addr := netip.AddrFrom16([16]byte(raw[8:24]))
		return family, netip.AddrPortFrom(addr, port), nil
	}
	return family, netip.AddrPort{}, fmt.Errorf("family %d: %w", family, ErrNotInet)
}

// decodeSaddrField hex-decodes a saddr= value into buf and decodes it.
func decodeSaddrField(buf *[maxSockaddrLen]byte, f field) (uint16, netip.AddrPort, error) {
	if f.Quoted || len(f.Val) > 2*maxSockaddrLen {
		return 0, netip.AddrPort{}, fmt.Errorf("%w: saddr is not hex of at most %d bytes", ErrMalformed, maxSockaddrLen)
	}
	raw, err := appendHex(buf[:0], f.Val)
	if err != nil {
		return 0, netip.AddrPort{}, fmt.Errorf("saddr: %w", err)
	}
	return DecodeSockaddr(raw)
}
