package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// conn is a minimal HTTP/1.1 keep-alive client on one TCP connection, for
// one goroutine. The load generator shares the CPU it measures, and
// net/http's client spends several goroutine hand-offs, a header map and a
// request and response object on every request; conn writes the request
// bytes it is given in one call and reads the answer straight off a
// bufio.Reader. It understands what a Go server can answer: a status line,
// headers, then a body sized by Content-Length, chunked, or running to the
// end of the connection. It redials after an error or a Connection: close.
type conn struct {
	ctx  context.Context // cancelling it fails the request in flight
	addr string
	c    net.Conn
	br   *bufio.Reader
	stop func() bool // unhooks c from ctx
}

// errProtocol wraps every answer conn refuses to read.
var errProtocol = errors.New("bench client: unreadable response")

// do sends req, a whole request (request line, headers, blank line and
// body), and reads the whole answer, discarding its body. It returns the
// status code, or an error when the request could not be sent or the answer
// read; the connection is then closed and the next call redials. Like
// net/http's client, it sends a request once more on a new connection when
// a kept-alive one turns out to be closed before any of the answer came,
// never once the answer has begun.
func (c *conn) do(req []byte) (int, error) {
	for retried := false; ; retried = true {
		reused := c.c != nil
		if !reused {
			var d net.Dialer
			nc, err := d.DialContext(c.ctx, "tcp", c.addr)
			if err != nil {
				return 0, err
			}
			c.c = nc
			c.stop = context.AfterFunc(c.ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
			if c.br == nil {
				c.br = bufio.NewReaderSize(nc, 4096)
			} else {
				c.br.Reset(nc)
			}
		}
		status, keep, unanswered, err := c.roundTrip(req)
		if err != nil || !keep {
			c.close()
		}
		if err != nil && unanswered && reused && !retried && c.ctx.Err() == nil &&
			(errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)) {
			continue
		}
		return status, err
	}
}

// roundTrip sends req and reads its answer. unanswered reports an error
// that came before any byte of the answer: only then can the server have
// dropped the connection without reading req (a kept-alive connection it
// closed as idle). Once the answer has begun, the server has req, and a
// reset or cut past that point must not have it sent again.
func (c *conn) roundTrip(req []byte) (status int, keep, unanswered bool, err error) {
	if _, err := c.c.Write(req); err != nil {
		return 0, false, true, err
	}
	if _, err := c.br.Peek(1); err != nil {
		return 0, false, true, err
	}
	status, keep, err = readResponse(c.br)
	return status, keep, false, err
}

// close drops the connection; the next do redials.
func (c *conn) close() {
	if c.c != nil {
		c.stop()
		c.c.Close()
		c.c = nil
	}
}

// readResponse reads one response, body included, and reports whether the
// connection can carry another request.
func readResponse(br *bufio.Reader) (status int, keep bool, err error) {
	line, err := readLine(br)
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return 0, false, fmt.Errorf("%w: status line %q", errProtocol, line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil || status < 200 || status > 599 {
		// 1xx answers only come to requests that ask for them.
		return 0, false, fmt.Errorf("%w: status line %q", errProtocol, line)
	}
	keep = line[7] == '1' // HTTP/1.0 closes by default
	length, chunked := int64(-1), false
	for {
		line, err := readLine(br)
		if err != nil {
			return 0, false, unexpectedEOF(err)
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, false, fmt.Errorf("%w: header line %q", errProtocol, line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || (length >= 0 && n != length) {
				return 0, false, fmt.Errorf("%w: Content-Length %q", errProtocol, value)
			}
			length = n
		case asciiEqualFold(name, "Transfer-Encoding"):
			if !asciiEqualFold(value, "chunked") {
				return 0, false, fmt.Errorf("%w: Transfer-Encoding %q", errProtocol, value)
			}
			chunked = true
		case asciiEqualFold(name, "Connection"):
			if asciiEqualFold(value, "close") {
				keep = false
			}
		}
	}
	switch {
	case status == 204 || status == 304:
	case chunked:
		err = readChunked(br)
	case length >= 0:
		err = discard(br, length)
	default: // the body runs to the end of the connection
		_, err = io.Copy(io.Discard, br)
		keep = false
	}
	if err != nil {
		return 0, false, unexpectedEOF(err)
	}
	return status, keep, nil
}

// unexpectedEOF turns io.EOF into io.ErrUnexpectedEOF: past the status
// line, the answer is cut short. (io.EOF from readResponse means that none
// of it came, which do may retry.)
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readChunked discards a chunked body and its trailers.
func readChunked(br *bufio.Reader) error {
	for {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: chunk size %q", errProtocol, line)
		}
		if n == 0 {
			for { // trailers, up to the blank line
				line, err := readLine(br)
				if err != nil {
					return err
				}
				if len(line) == 0 {
					return nil
				}
			}
		}
		if err := discard(br, n); err != nil {
			return err
		}
		if line, err := readLine(br); err != nil {
			return err
		} else if len(line) != 0 {
			return fmt.Errorf("%w: chunk not followed by CRLF", errProtocol)
		}
	}
}

// discard skips n bytes of body.
func discard(br *bufio.Reader, n int64) error {
	_, err := br.Discard(int(n))
	return err
}

// readLine returns the next line without its CRLF; it is valid until the
// next read. A line longer than the buffer is an error.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			err = fmt.Errorf("%w: line over %d bytes", errProtocol, br.Size())
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func asciiEqualFold(b []byte, s string) bool {
	return len(b) == len(s) && strings.EqualFold(string(b), s)
}
