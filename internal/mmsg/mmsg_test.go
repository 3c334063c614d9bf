package mmsg

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pair returns a Reader on one end of a datagram socket pair (blocking, as
// Dial's sockets are: outside the runtime's poller) and the other end to
// send from.
func pair(t *testing.T, window time.Duration) (*Reader, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[1]) })
	r, err := NewReader(fds[0], 8, 64, window)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, fds[1]
}

func send(t *testing.T, fd int, s string) {
	t.Helper()
	if err := unix.Send(fd, []byte(s), 0); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, r *Reader) []string {
	t.Helper()
	n, errno, err := r.Read()
	if err != nil || errno != 0 {
		t.Fatalf("Read: %v %v", err, errno)
	}
	var got []string
	for i := range n {
		b, _, _ := r.Datagram(i)
		got = append(got, string(b))
	}
	return got
}

// A datagram after a calm is read at once, however long the window.
func TestLoneDatagramReadAtOnce(t *testing.T) {
	r, peer := pair(t, time.Second)
	go func() {
		time.Sleep(20 * time.Millisecond)
		send(t, peer, "a")
	}()
	start := time.Now()
	if got := read(t, r); len(got) != 1 || got[0] != "a" {
		t.Fatalf("read %q", got)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("a lone datagram waited %v (window 1s)", d)
	}
}

// While datagrams keep coming, a read that emptied the socket makes the
// next wait for the window's end: datagrams sent 20 ms apart come in one
// read with a 300 ms window, in two without one.
func TestWindowGathersAStream(t *testing.T) {
	for _, tc := range []struct {
		window time.Duration
		want   int
	}{{300 * time.Millisecond, 2}, {0, 1}} {
		r, peer := pair(t, tc.window)
		// Two reads close together: a stream.
		send(t, peer, "1")
		read(t, r)
		send(t, peer, "2")
		read(t, r)
		// Start just after a window's end, so the next lies 280 ms ahead.
		for tc.window > 0 && time.Since(epoch)%tc.window > 20*time.Millisecond {
			time.Sleep(time.Millisecond)
		}
		sent := make(chan error, 1)
		go func() {
			time.Sleep(5 * time.Millisecond)
			err := unix.Send(peer, []byte("3"), 0)
			time.Sleep(20 * time.Millisecond)
			sent <- errors.Join(err, unix.Send(peer, []byte("4"), 0))
		}()
		got := read(t, r)
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
		if len(got) != tc.want {
			t.Errorf("window %v: read %q, want %d datagrams in one read", tc.window, got, tc.want)
		}
	}
}

// Wake ends a waiting Read with ErrWoken, and every Read until ClearWake.
func TestWake(t *testing.T) {
	r, peer := pair(t, 50*time.Millisecond)
	time.AfterFunc(20*time.Millisecond, r.Wake)
	if _, _, err := r.Read(); !errors.Is(err, ErrWoken) {
		t.Fatalf("Read after Wake: %v, want ErrWoken", err)
	}
	send(t, peer, "x")
	if _, _, err := r.Read(); !errors.Is(err, ErrWoken) {
		t.Fatalf("second Read before ClearWake: %v, want ErrWoken", err)
	}
	r.ClearWake()
	if got := read(t, r); len(got) != 1 || got[0] != "x" {
		t.Fatalf("read after ClearWake: %q", got)
	}
}

// ReadUntil returns os.ErrDeadlineExceeded on a silent socket, reads a
// datagram that comes in time, and leaves no timer armed behind it.
func TestReadUntil(t *testing.T) {
	r, peer := pair(t, 0)
	if _, _, err := r.ReadUntil(time.Now().Add(10 * time.Millisecond)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadUntil on a silent socket: %v, want os.ErrDeadlineExceeded", err)
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		unix.Send(peer, []byte("z"), 0)
	}()
	if n, errno, err := r.ReadUntil(time.Now().Add(time.Second)); n != 1 || errno != 0 || err != nil {
		t.Fatalf("ReadUntil with a datagram coming: %d %v %v", n, errno, err)
	}
	var cur unix.ItimerSpec
	if err := unix.TimerfdGettime(r.timer, &cur); err != nil {
		t.Fatal(err)
	}
	if cur.Value.Nano() != 0 {
		t.Errorf("timer still armed (%v left) after ReadUntil returned", time.Duration(cur.Value.Nano()))
	}
}

func TestNextMessageSkipsPadding(t *testing.T) {
	dgram := AppendMessage(AppendMessage(nil, unix.NLMSG_DONE, 0, 1, []byte("abc")), unix.NLMSG_DONE, 0, 2, []byte("defgh"))
	var got []string
	for b := dgram; len(b) > 0; {
		hdr, payload, rest, err := NextMessage(b)
		if err != nil {
			t.Fatalf("NextMessage: %v", err)
		}
		if hdr.Type != unix.NLMSG_DONE {
			t.Errorf("type %d, want NLMSG_DONE", hdr.Type)
		}
		got, b = append(got, string(payload)), rest
	}
	if len(got) != 2 || got[0] != "abc" || got[1] != "defgh" {
		t.Errorf("payloads %q, want abc and defgh", got)
	}
}

func TestNextMessageRefusesBadLengths(t *testing.T) {
	for name, b := range map[string][]byte{
		"short header":  make([]byte, 10),
		"len too small": func() []byte { b := make([]byte, 20); binary.NativeEndian.PutUint32(b, 8); return b }(),
		"len past end":  func() []byte { b := make([]byte, 20); binary.NativeEndian.PutUint32(b, 64); return b }(),
	} {
		if _, _, _, err := NextMessage(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzNextMessage: any bytes split without panic, and every split makes
// progress, so a datagram loop ends.
func FuzzNextMessage(f *testing.F) {
	f.Add(AppendMessage(nil, unix.NLMSG_DONE, 0, 1, []byte("abc")))
	f.Add(AppendMessage(AppendMessage(nil, unix.NLMSG_DONE, 0, 1, []byte{1, 2, 3, 4, 5}), unix.NLMSG_DONE, 0, 2, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		for len(b) > 0 {
			_, payload, rest, err := NextMessage(b)
			if err != nil {
				return
			}
			if len(rest) >= len(b) || len(payload) > len(b) {
				t.Fatalf("no progress: %d bytes, rest %d", len(b), len(rest))
			}
			b = rest
		}
	})
}

// Hurry ends a window under way: a datagram queued meanwhile is read at
// once, not at the window's end.
func TestHurry(t *testing.T) {
	r, peer := pair(t, time.Second)
	send(t, peer, "1")
	read(t, r)
	send(t, peer, "2")
	read(t, r) // a stream: the next read waits for the window's end
	for time.Since(epoch)%time.Second > 100*time.Millisecond {
		time.Sleep(time.Millisecond)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		r.Hurry(time.Second)
		time.Sleep(20 * time.Millisecond)
		unix.Send(peer, []byte("3"), 0)
	}()
	start := time.Now()
	got := read(t, r)
	if d := time.Since(start); d > 500*time.Millisecond || len(got) != 1 || got[0] != "3" {
		t.Fatalf("read %q after %v, want \"3\" well before the window's end (900 ms away)", got, d)
	}
}

// readNow reads f without waiting and returns what it held.
func readNow(t *testing.T, f *Reader) []string {
	t.Helper()
	var got []string
	for {
		n, errno, ok := f.ReadNow()
		if !ok {
			return got
		}
		if errno != 0 {
			t.Fatalf("ReadNow: %v", errno)
		}
		for i := range n {
			b, _, _ := f.Datagram(i)
			got = append(got, string(b))
		}
	}
}

// A calm reader that follows another wakes for the followed socket's
// datagram at once and returns none of its own; while its own datagrams
// keep coming, the followed socket's wait for its window's end and come
// with them.
func TestFollow(t *testing.T) {
	r, peer := pair(t, 300*time.Millisecond)
	f, fpeer := pair(t, 0)
	if err := r.Follow(f); err != nil {
		t.Fatal(err)
	}
	if got := readNow(t, f); got != nil {
		t.Fatalf("ReadNow on an empty socket: %q", got)
	}

	// Calm: the followed socket's datagram ends the wait at once.
	go func() {
		time.Sleep(20 * time.Millisecond)
		send(t, fpeer, "f1")
	}()
	start := time.Now()
	if got := read(t, r); got != nil {
		t.Fatalf("Read woken by the followed socket returned %q, want none of its own", got)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("the followed socket's datagram woke the reader after %v", d)
	}
	if got := readNow(t, f); len(got) != 1 || got[0] != "f1" {
		t.Fatalf("followed socket held %q, want [f1]", got)
	}

	// A stream of its own: the next read waits for the window's end,
	// and the followed socket's datagram does not end the wait.
	for time.Since(epoch)%(300*time.Millisecond) > 50*time.Millisecond {
		time.Sleep(time.Millisecond)
	}
	send(t, peer, "1")
	read(t, r)
	send(t, peer, "2")
	read(t, r)
	go func() {
		time.Sleep(20 * time.Millisecond)
		send(t, fpeer, "f2")
		time.Sleep(20 * time.Millisecond)
		send(t, peer, "3")
	}()
	start = time.Now()
	got := read(t, r)
	d := time.Since(start)
	if len(got) != 1 || got[0] != "3" {
		t.Fatalf("read %q at the window's end, want [3]", got)
	}
	if d < 100*time.Millisecond {
		t.Errorf("the followed socket's datagram ended the window after %v", d)
	}
	if got := readNow(t, f); len(got) != 1 || got[0] != "f2" {
		t.Fatalf("followed socket held %q, want [f2]", got)
	}

	// A window that gathered nothing of its own still ends the wait, so
	// the followed socket's datagrams are read then.
	send(t, peer, "4")
	read(t, r) // still a stream
	go func() {
		time.Sleep(20 * time.Millisecond)
		send(t, fpeer, "f3")
	}()
	if got := read(t, r); got != nil {
		t.Fatalf("window's end with nothing of its own returned %q", got)
	}
	if got := readNow(t, f); len(got) != 1 || got[0] != "f3" {
		t.Fatalf("followed socket held %q, want [f3]", got)
	}
}
