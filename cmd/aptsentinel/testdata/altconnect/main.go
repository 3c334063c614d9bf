// Command altconnect opens one TCP connection without connect(2):
// `altconnect MODE ADDR:PORT`, MODE one of conntest.Modes (TCP Fast Open
// sendto/sendmsg, io_uring inline, SQPOLL or io-wq). The end-to-end tests
// run it from an apt hook; it prints the result and exits 0 either way
// (a failed attempt, ENETUNREACH offline, is still an attempt).
package main

import (
	"fmt"
	"net/netip"
	"os"

	"github.com/aptsentinel/aptsentinel/internal/conntest"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintf(os.Stderr, "usage: altconnect MODE ADDR:PORT (MODE: %q)\n", conntest.Modes)
		os.Exit(2)
	}
	addr, err := netip.ParseAddrPort(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "altconnect:", err)
		os.Exit(2)
	}
	fmt.Printf("altconnect %s %s: %v\n", os.Args[1], addr, conntest.Connect(os.Args[1], addr))
}
