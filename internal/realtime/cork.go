package realtime

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"
)

// corkedConn lets the writer send a batch of frames in one system call:
// coder/websocket flushes every message to the socket, and a busy queue's
// events reach every agent at once, so per-frame writes would be most of
// the hub's cost. Between cork and uncork, writes gather in a buffer.
type corkedConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	buf    []byte
}

// maxCork bounds what one batch gathers before it is written anyway.
const maxCork = 64 << 10

func (c *corkedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked && len(c.buf)+len(p) <= maxCork {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	// Every write that reaches the network has a deadline: the writer
	// hands coder/websocket no context deadline (that costs a timer per
	// frame), so a client that does not read is caught here.
	_ = c.Conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	defer func() { _ = c.Conn.SetWriteDeadline(time.Time{}) }()
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// writeTimeout bounds one write to the network.
const writeTimeout = 10 * time.Second

func (c *corkedConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork writes what gathered, within timeout: a client that does not read
// must not hold the writer (coder/websocket's own write timeouts do not
// cover this write).
func (c *corkedConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	if len(c.buf) == 0 {
		return nil
	}
	_ = c.Conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	err := c.flushLocked()
	_ = c.Conn.SetWriteDeadline(time.Time{})
	return err
}

func (c *corkedConn) flushLocked() error {
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf)
	c.buf = nil // an idle socket keeps no buffer
	return err
}

// corkingWriter hands coder/websocket the hijacked connection wrapped in a
// corkedConn.
type corkingWriter struct {
	http.ResponseWriter
	conn *corkedConn
}

func (w *corkingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil {
		return nil, nil, err
	}
	w.conn = &corkedConn{Conn: nc}
	brw.Writer.Reset(w.conn)
	return w.conn, brw, nil
}
