// Command flood connect()s new TCP sockets to 127.0.0.1:9 as fast as it can
// for a given time, then writes how many it made to a file. The flood test
// runs three from an apt hook. Usage: flood SECONDS COUNTFILE
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: flood SECONDS COUNTFILE")
		os.Exit(2)
	}
	secs, err := strconv.ParseFloat(os.Args[1], 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		os.Exit(2)
	}
	to := &unix.SockaddrInet4{Port: 9, Addr: [4]byte{127, 0, 0, 1}}
	end := time.Now().Add(time.Duration(secs * float64(time.Second)))
	n := 0
	for time.Now().Before(end) {
		for range 100 {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				fmt.Fprintln(os.Stderr, "flood: socket:", err)
				os.Exit(1)
			}
			_ = unix.Connect(fd, to) // refused or unreachable: the attempt is the point
			unix.Close(fd)
		}
		n += 100
	}
	if err := os.WriteFile(os.Args[2], []byte(strconv.Itoa(n)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		os.Exit(1)
	}
}
