package audit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/mmsg"
	"golang.org/x/sys/unix"
)

// controlTimeout bounds every control request: the kernel answers at once,
// so a silent socket means something is wrong and must not hang the sensor.
const controlTimeout = 5 * time.Second

// client is the control socket: status, settings and rules. It is separate
// from the data socket so that no record is read (and dropped) while waiting
// for an ACK. Requests are serialized; after a failed receive the socket is
// replaced so that a late reply can never be taken for the next request's.
//
// Like the data socket it lives outside the runtime's poller
// (internal/mmsg), and its replies are read with raw system calls: the
// sensor checks the kernel's state every second, and a system call made
// the runtime's way wakes the runtime's monitor thread, which then polls
// every 20 µs for a millisecond, on a calm host most of the sensor's
// thread switches.
type client struct {
	mu  sync.Mutex
	rd  *mmsg.Reader
	seq uint32
	// rawSend, when set and true, lets a request be sent with a raw system
	// call. The kernel makes a request's sender sleep up to
	// backlog_wait_time when its backlog is over the limit (kernel/audit.c
	// audit_receive); a raw call would hold the runtime's P meanwhile, so
	// only a caller that knows the backlog is short may say so.
	rawSend func() bool
}

// controlSlots bounds the replies one read takes: a rule list comes one
// rule a datagram.
const controlSlots = 64

// dialClient opens a NETLINK_AUDIT control socket.
func dialClient() (*client, error) {
	rd, err := dialControl()
	if err != nil {
		return nil, err
	}
	return &client{rd: rd}, nil
}

func dialControl() (*mmsg.Reader, error) {
	fd, err := mmsg.Dial(unix.NETLINK_AUDIT)
	if err != nil {
		return nil, fmt.Errorf("audit: dial control socket: %w", err)
	}
	rd, err := mmsg.NewReader(fd, controlSlots, slotSize, 0)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("audit: control socket: %w", err)
	}
	return rd, nil
}

// close closes the socket; it is safe to call twice.
func (c *client) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rd == nil {
		return nil
	}
	err := c.rd.Close()
	c.rd = nil
	return err
}

// redial replaces the socket after a failed exchange. Caller holds mu.
func (c *client) redial() {
	if c.rd != nil {
		_ = c.rd.Close()
	}
	c.rd, _ = dialControl()
}

// reply is one netlink message that answers a request.
type reply struct {
	typ  uint16
	data []byte // a copy
}

// exchange sends one request and collects what belongs to it.
//
// Replies are requested without NLM_F_ACK for AUDIT_GET and AUDIT_LIST_RULES
// (the kernel still answers an error with NLMSG_ERROR, net/netlink/af_netlink.c
// netlink_rcv_skb), because the reply is built in a kernel thread and may
// arrive after the ACK (kernel/audit.c audit_send_reply). For the other
// requests the ACK is the whole answer. A rule list is one message per
// rule, then NLMSG_DONE; an empty list is NLMSG_DONE alone.
func (c *client) exchange(typ uint16, payload []byte, wantAck bool) ([]reply, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rd == nil {
		return nil, ErrClosed
	}
	flags := uint16(unix.NLM_F_REQUEST)
	if wantAck {
		flags |= unix.NLM_F_ACK
	}
	c.seq++
	if err := c.send(typ, flags, payload); err != nil {
		return nil, mapPermission(err)
	}
	deadline := time.Now().Add(controlTimeout)
	var replies []reply
	for {
		n, errno, err := c.rd.ReadUntil(deadline)
		if err == nil && errno != 0 {
			err = os.NewSyscallError("recvmmsg", errno)
		}
		if err != nil {
			// A timeout or broken socket: nothing read later can be
			// trusted to belong to the next request.
			c.redial()
			return nil, err
		}
		for i := range n {
			b, cut, sender := c.rd.Datagram(i)
			if cut || sender != 0 {
				continue
			}
			for len(b) > 0 {
				hdr, data, rest, err := mmsg.NextMessage(b)
				if err != nil {
					break
				}
				b = rest
				if hdr.Seq != c.seq {
					continue // the answer to an older request
				}
				switch hdr.Type {
				case nlmsgError:
					if len(data) < 4 {
						return nil, fmt.Errorf("short NLMSG_ERROR of %d bytes", len(data))
					}
					if code := int32(binary.NativeEndian.Uint32(data)); code != 0 {
						return nil, mapPermission(unix.Errno(-code))
					}
					if wantAck {
						return replies, nil
					}
				case nlmsgDone:
					return replies, nil
				default:
					replies = append(replies, reply{typ: hdr.Type, data: bytes.Clone(data)})
					if typ != msgListRules && !wantAck {
						return replies, nil
					}
				}
			}
		}
	}
}

// send sends one request: with a raw system call when rawSend allows,
// else the runtime's way.
func (c *client) send(typ, flags uint16, payload []byte) error {
	if c.rawSend != nil && c.rawSend() {
		return mmsg.SendRaw(c.rd.FD(), typ, flags, c.seq, payload)
	}
	return mmsg.Send(c.rd.FD(), typ, flags, c.seq, payload)
}

// mapPermission adds ErrPermission to an EPERM answer, so callers get one
// clear sentence; errors.Is(err, unix.EPERM) still holds.
func mapPermission(err error) error {
	if errors.Is(err, unix.EPERM) && !errors.Is(err, ErrPermission) {
		return fmt.Errorf("%w: %w", ErrPermission, err)
	}
	return err
}

// GetStatus returns the kernel's audit status (AUDIT_GET).
func GetStatus() (Status, error) {
	c, err := dialClient()
	if err != nil {
		return Status{}, err
	}
	defer c.close()
	return c.status()
}

// status asks the kernel for audit_status (AUDIT_GET).
func (c *client) status() (Status, error) {
	msgs, err := c.exchange(msgGet, nil, false)
	if err != nil {
		return Status{}, fmt.Errorf("audit: get status: %w", err)
	}
	for _, m := range msgs {
		if m.typ == msgGet {
			var s Status
			if err := s.UnmarshalBinary(m.data); err != nil {
				return Status{}, fmt.Errorf("audit: get status: %w", err)
			}
			return s, nil
		}
	}
	return Status{}, errors.New("audit: get status: kernel sent no status reply")
}

// set sends an AUDIT_SET; s.Mask selects the fields that change. The full
// current struct size is sent: kernels copy min(sizeof, len) and older ones
// refuse backlog_wait_time in a message shorter than their struct
// (kernel/audit.c audit_receive_msg, case AUDIT_SET).
func (c *client) set(s Status, what string) error {
	s.Size = StatusSizeV4
	b, err := s.MarshalBinary()
	if err != nil {
		return fmt.Errorf("audit: set %s: %w", what, err)
	}
	if _, err := c.exchange(msgSet, b, true); err != nil {
		return fmt.Errorf("audit: set %s: %w", what, err)
	}
	return nil
}

// addRule installs one rule in audit_rule_data wire format.
func (c *client) addRule(wire []byte) error {
	if _, err := c.exchange(msgAddRule, wire, true); err != nil {
		return fmt.Errorf("audit: add rule: %w", err)
	}
	return nil
}

// deleteRule removes one rule given exactly as the kernel listed it.
func (c *client) deleteRule(wire []byte) error {
	if _, err := c.exchange(msgDelRule, wire, true); err != nil {
		return fmt.Errorf("audit: delete rule: %w", err)
	}
	return nil
}

// listRules returns every rule the kernel has, in audit_rule_data wire
// format, in list order.
func (c *client) listRules() ([][]byte, error) {
	msgs, err := c.exchange(msgListRules, nil, false)
	if err != nil {
		return nil, fmt.Errorf("audit: list rules: %w", err)
	}
	var rules [][]byte
	for _, m := range msgs {
		if m.typ == msgListRules {
			rules = append(rules, m.data)
		}
	}
	return rules, nil
}
