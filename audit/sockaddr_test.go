package audit

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
)

func TestDecodeSockaddr(t *testing.T) {
	// Real saddr= values from testdata/records (x86_64, little-endian).
	tests := []struct {
		name   string
		hex    string
		family uint16
		dest   string
		err    error
	}{
		{"v4 dns", "02000035080808080000000000000000", FamilyInet, "8.8.8.8:53", nil},
		{"v4 loopback", "020000097F0000010000000000000000", FamilyInet, "127.0.0.1:9", nil},
		{"v4 without padding", "020000097F000001", FamilyInet, "127.0.0.1:9", nil},
		{"v6", "0A000035000000002001486048600000000000000000888800000000", FamilyInet6, "[2001:4860:4860::8888]:53", nil},
		{"v6 loopback", "0A000009000000000000000000000000000000000000000100000000", FamilyInet6, "[::1]:9", nil},
		{"v6 rfc2133 length", "0A00000900000000000000000000000000000000000000FF", FamilyInet6, "[::ff]:9", nil},
		{"v4-mapped", "0A0000090000000000000000000000000000FFFF7F00000100000000", FamilyInet6, "[::ffff:127.0.0.1]:9", nil},
		{"unix", "01002F72756E2F6E6F6E6578697374656E742E736F636B00", FamilyUnix, "", ErrNotInet},
		{"netlink", "100000000000000000000000", FamilyNetlink, "", ErrNotInet},
		{"unspec", "0000", FamilyUnspec, "", ErrNotInet},
		{"v4 short", "02000035080808", FamilyInet, "", ErrMalformed},
		{"v6 short", "0A000035000000002001486048600000000000000000", FamilyInet6, "", ErrMalformed},
		{"one byte", "02", 0, "", ErrMalformed},
		{"empty", "", 0, "", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := hex.DecodeString(tt.hex)
			if err != nil {
				t.Fatal(err)
			}
			family, dest, err := DecodeSockaddr(raw)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if family != tt.family {
				t.Errorf("family = %d, want %d", family, tt.family)
			}
			if tt.dest != "" && dest != netip.MustParseAddrPort(tt.dest) {
				t.Errorf("dest = %v, want %s", dest, tt.dest)
			}
		})
	}
}

func TestDecodeSaddrField(t *testing.T) {
	var buf [maxSockaddrLen]byte
	long := make([]byte, 2*maxSockaddrLen+2)
	for i := range long {
		long[i] = '0'
	}
	for _, bad := range []field{
		{Key: []byte("saddr"), Val: []byte("0200003508080808"), Quoted: true},
		{Key: []byte("saddr"), Val: []byte("020000350808080")},
		{Key: []byte("saddr"), Val: []byte("02000035080808GG")},
		{Key: []byte("saddr"), Val: long},
	} {
		if _, _, err := decodeSaddrField(&buf, bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("decodeSaddrField(%q) err = %v, want ErrMalformed", clip(bad.Val), err)
		}
	}
}
