package audit

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// controlTimeout bounds every control request: the kernel answers at once,
// so a silent socket means something is wrong and must not hang the sensor.
const controlTimeout = 5 * time.Second

// client is the control socket: status, settings and rules. It is separate
// from the data socket so that no record is read (and dropped) while waiting
// for an ACK. Requests are serialized; after a failed receive the socket is
// replaced so that a late reply can never be taken for the next request's.
type client struct {
	mu   sync.Mutex
	conn *netlink.Conn
}

// dialClient opens a NETLINK_AUDIT control socket.
func dialClient() (*client, error) {
	conn, err := netlink.Dial(unix.NETLINK_AUDIT, nil)
	if err != nil {
		return nil, fmt.Errorf("audit: dial control socket: %w", err)
	}
	return &client{conn: conn}, nil
}

// close closes the socket; it is safe to call twice.
func (c *client) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}

// redial replaces the socket after a failed exchange. Caller holds mu.
func (c *client) redial() {
	if c.conn != nil {
		_ = c.conn.Close()
	}
	c.conn, _ = netlink.Dial(unix.NETLINK_AUDIT, nil)
}

// exchange sends one request and collects what belongs to it.
//
// Replies are requested without NLM_F_ACK for AUDIT_GET and AUDIT_LIST_RULES
// (the kernel still answers an error with NLMSG_ERROR, net/netlink/af_netlink.c
// netlink_rcv_skb), because the reply is built in a kernel thread and may
// arrive after the ACK (kernel/audit.c audit_send_reply). For the other
// requests the ACK is the whole answer. The netlink package folds a
// multi-part list into one Receive and drops its NLMSG_DONE, so an empty rule
// list is a Receive that returns no message.
func (c *client) exchange(typ uint16, payload []byte, wantAck bool) ([]netlink.Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil, ErrClosed
	}
	flags := netlink.Request
	if wantAck {
		flags |= netlink.Acknowledge
	}
	req, err := c.conn.Send(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(typ), Flags: flags},
		Data:   payload,
	})
	if err != nil {
		return nil, mapPermission(err)
	}
	if err := c.conn.SetReadDeadline(time.Now().Add(controlTimeout)); err != nil {
		return nil, err
	}
	var replies []netlink.Message
	for {
		msgs, err := c.conn.Receive()
		if err != nil {
			if !isErrno(err) {
				// A timeout or broken socket: nothing read later can be
				// trusted to belong to the next request.
				c.redial()
			}
			return nil, mapPermission(err)
		}
		if typ == msgListRules {
			// The whole (possibly empty) multi-part list came in one Receive.
			return keepSequence(msgs, req.Header.Sequence), nil
		}
		for _, m := range keepSequence(msgs, req.Header.Sequence) {
			if m.Header.Type == netlink.Error {
				// Receive returned an error for a non-zero code; this is an ACK.
				if wantAck {
					return replies, nil
				}
				continue
			}
			replies = append(replies, m)
			if !wantAck {
				return replies, nil
			}
		}
	}
}

// keepSequence drops messages that answer another request.
func keepSequence(msgs []netlink.Message, seq uint32) []netlink.Message {
	out := msgs[:0]
	for _, m := range msgs {
		if m.Header.Sequence == seq {
			out = append(out, m)
		}
	}
	return out
}

// isErrno reports whether err carries an error number from the kernel
// (an NLMSG_ERROR answer), as opposed to a timeout or a closed socket.
func isErrno(err error) bool {
	var errno unix.Errno
	return errors.As(err, &errno) && !errors.Is(err, os.ErrDeadlineExceeded)
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
		if m.Header.Type == msgGet {
			var s Status
			if err := s.UnmarshalBinary(m.Data); err != nil {
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
		if m.Header.Type == msgListRules {
			rules = append(rules, m.Data)
		}
	}
	return rules, nil
}
