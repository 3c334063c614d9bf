// Command connect386 makes one TCP connect() to its argument. Built for
// GOARCH=386 it runs under the kernel's IA32 emulation, where Go's runtime
// connects through socketcall(SYS_CONNECT): the 32-bit audit rules' path
// (`strace -f -n` shows it as syscall [102], i386 socketcall).
package main

import (
	"net"
	"os"
	"time"
)

func main() {
	c, err := net.DialTimeout("tcp", os.Args[1], time.Second)
	if err == nil {
		c.Close()
	}
}
