package realtime

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// socket is the hijacked connection under a WebSocket. The hub writes its
// own text frames straight to it, a batch in one system call with the
// events' shared bodies referenced rather than copied; coder/websocket
// writes only control frames (ping, pong, close) through Write. Both hold
// mu for a whole frame or batch, so frames never interleave.
//
// Why not coder/websocket's Write: it flushes every message with its own
// system call and copies it twice, and a busy queue's events go to every
// agent at once, so per-frame writes were most of the hub's cost.
type socket struct {
	net.Conn
	vectored bool // the connection writes net.Buffers with one writev (TCP; TLS does not)

	aborted atomic.Bool // set without mu: a stuck write holds it

	mu       sync.Mutex
	deadline time.Time // the write deadline in force
	closing  bool      // a close frame went out: no data frame may follow
}

// writeTimeout bounds one write to the network: a client that does not
// read is dropped after it.
const writeTimeout = 10 * time.Second

var errSocketClosing = errors.New("realtime: socket closing")

// armLocked makes sure a write starting now has at least half of
// writeTimeout before its deadline. Moving the deadline on every write
// costs two runtime timer updates per write; a deadline moved only every
// writeTimeout/2 costs next to nothing and bounds a stuck write just the
// same (between writeTimeout/2 and writeTimeout). It reports false when the socket was aborted: checked after the
// deadline moves, so an abort racing with it always leaves the past
// deadline in force.
func (s *socket) armLocked() bool {
	now := time.Now()
	if s.deadline.Sub(now) < writeTimeout/2 {
		s.deadline = now.Add(writeTimeout)
		_ = s.Conn.SetWriteDeadline(s.deadline)
	}
	return !s.aborted.Load()
}

// Write is coder/websocket's path: control frames, and the few small
// frames written before the hub's writer starts (auth errors). Each fits
// coder/websocket's 4 KB write buffer and is flushed whole, so every call
// starts a frame, and a close frame is known by its first byte.
func (s *socket) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(p) > 0 && p[0]&0x0f == 0x8 {
		s.closing = true
	}
	if !s.armLocked() {
		return 0, net.ErrClosed
	}
	return s.Conn.Write(p)
}

// abort makes a write in progress, and every later one, fail at once.
func (s *socket) abort() {
	s.aborted.Store(true)
	_ = s.Conn.SetWriteDeadline(time.Unix(1, 0))
}

// frameBatch is the scratch of one writeFrames call, pooled so that an idle
// socket holds none.
type frameBatch struct {
	heads []byte      // every frame's WebSocket header and own bytes
	bufs  net.Buffers // what goes out, in order
	ends  []int       // where each frame's own bytes end in heads
}

var batchPool = sync.Pool{New: func() any { return new(frameBatch) }}

// writeFrames writes frames as unmasked, unfragmented text messages
// (RFC 6455 §5.2: a server does not mask) in as few system calls as the
// connection allows.
func (s *socket) writeFrames(frames []outFrame) error {
	if len(frames) == 0 {
		return nil
	}
	b := batchPool.Get().(*frameBatch)
	defer func() {
		clear(b.bufs[:cap(b.bufs)]) // let the events' bodies go
		b.heads, b.bufs, b.ends = b.heads[:0], b.bufs[:0], b.ends[:0]
		batchPool.Put(b)
	}()
	for _, f := range frames {
		b.heads = f.appendHead(b.heads)
		b.ends = append(b.ends, len(b.heads))
	}
	start := 0
	for i, f := range frames {
		b.bufs = append(b.bufs, b.heads[start:b.ends[i]])
		if len(f.tail) > 0 {
			b.bufs = append(b.bufs, f.tail)
		}
		start = b.ends[i]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || !s.armLocked() {
		return errSocketClosing
	}
	if !s.vectored {
		var one []byte
		for _, p := range b.bufs {
			one = append(one, p...)
		}
		_, err := s.Conn.Write(one)
		return err
	}
	bufs := b.bufs // WriteTo consumes its receiver
	_, err := bufs.WriteTo(s.Conn)
	return err
}

// appendHead appends f's WebSocket header and the bytes of f that are its
// recipient's own: the whole frame outside the stream, or the event's
// start and the recipient's seq.
func (f outFrame) appendHead(b []byte) []byte {
	var seq [20]byte
	digits := seq[:0]
	if f.seq > 0 {
		digits = strconv.AppendUint(digits, f.seq, 10)
	}
	n := len(f.head) + len(digits) + len(f.tail)
	b = append(b, 0x80|0x1) // FIN, text
	switch {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, f.head...)
	return append(b, digits...)
}

// hijacker hands coder/websocket the hijacked connection wrapped in a
// socket.
type hijacker struct {
	http.ResponseWriter
	socket *socket
}

func (w *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil {
		return nil, nil, err
	}
	s := &socket{Conn: nc}
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
		s.vectored = true
	}
	w.socket = s
	brw.Writer.Reset(s)
	return s, brw, nil
}
