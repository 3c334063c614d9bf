// Command connect386 makes one TCP connect() to its argument. Built for
// GOARCH=386 it runs under the kernel's IA32 emulation, where Go's runtime
// connects through socketcall(SYS_CONNECT): the 32-bit audit rules' path
// (`strace -f -n` shows it as syscall [102], i386 socketcall).
//
// Without an argument it prints "i386 ok" and exits: the tests' probe of
// whether this kernel runs 32-bit programs at all.
package main

import (
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Println("i386 ok")
		return
	}
	c, err := net.DialTimeout("tcp", os.Args[1], time.Second)
	if err == nil {
		c.Close()
	}
}
