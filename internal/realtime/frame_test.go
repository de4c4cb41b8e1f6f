package realtime

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
)

// wholeFrame is what a recipient gets for f, without the WebSocket header.
func wholeFrame(f outFrame) []byte {
	head := f.appendHead(nil)
	_, n := frameHeader(head)
	return append(head[n:], f.tail...)
}

// frameHeader decodes a server frame's header: payload length, header size.
func frameHeader(b []byte) (int, int) {
	switch n := int(b[1] & 0x7f); n {
	case 126:
		return int(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		return int(binary.BigEndian.Uint64(b[2:])), 10
	default:
		return n, 2
	}
}

// One encoding serves every recipient: each frame is the same JSON as
// encoding the event for that recipient alone, with its own seq.
func TestSharedEncodingSplicesEachSeq(t *testing.T) {
	data := json.RawMessage(`{"conversationId":"c1","message":{"text":"olá \"x\""}}`)
	enc := encodeEvent("new_message", data)
	for _, seq := range []uint64{1, 9, 10, 123456789} {
		got := wholeFrame(outFrame{head: enc.head, seq: seq, tail: enc.tail})
		want := fmt.Sprintf(`{"event":"new_message","seq":%d,"data":%s}`, seq, data)
		if string(got) != want {
			t.Errorf("seq %d: %s, want %s", seq, got, want)
		}
	}
	if got := wholeFrame(outFrame{head: reply("pong", nil)}); string(got) != `{"event":"pong"}` {
		t.Errorf("reply: %s", got)
	}
}

// The header carries the payload length in all three of RFC 6455's sizes,
// and a batch is written as consecutive, unmasked, final text frames.
func TestWriteFramesLengths(t *testing.T) {
	t.Run("writev", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		server, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer server.Close()
		testWriteFrames(t, &socket{Conn: server, vectored: true}, client)
	})
	t.Run("one buffer", func(t *testing.T) {
		server, client := net.Pipe()
		defer server.Close()
		testWriteFrames(t, &socket{Conn: server}, client)
	})
}

func testWriteFrames(t *testing.T, s *socket, client net.Conn) {
	var frames []outFrame
	var want []string
	for _, n := range []int{0, 90, 125, 126, 65535 - 60, 70000} {
		enc := encodeEvent("e", json.RawMessage(`"`+strings.Repeat("x", n)+`"`))
		f := outFrame{head: enc.head, seq: 7, tail: enc.tail}
		frames = append(frames, f)
		want = append(want, string(wholeFrame(f)))
	}
	errc := make(chan error, 1)
	go func() { errc <- s.writeFrames(frames) }()
	var all bytes.Buffer
	buf := make([]byte, 64<<10)
	for got := 0; got < len(want); {
		n, err := client.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(buf[:n])
		for b := all.Bytes(); len(b) >= 10; b = all.Bytes() {
			if b[0] != 0x81 || b[1]&0x80 != 0 {
				t.Fatalf("frame %d header % x: want a final, unmasked text frame", got, b[:2])
			}
			n, hl := frameHeader(b)
			if len(b) < hl+n {
				break
			}
			if string(b[hl:hl+n]) != want[got] {
				t.Fatalf("frame %d: %d bytes, want %d", got, n, len(want[got]))
			}
			all.Next(hl + n)
			got++
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// The ring keeps the last Ring frames across its wrap-around, in order.
func TestRingReplay(t *testing.T) {
	h := &Hub{opts: Options{Ring: 4}}
	st := &userState{conns: map[*conn]struct{}{}}
	enc := encodeEvent("e", nil)
	for range 10 {
		st.push(h, enc, nil)
	}
	for since := uint64(0); since <= 11; since++ {
		frames, ok := st.replay(since)
		if wantOK := since >= 6 && since <= 10; ok != wantOK {
			t.Fatalf("since %d: ok %v", since, ok)
		}
		for i, f := range frames {
			if f.seq != since+1+uint64(i) {
				t.Fatalf("since %d: frame %d has seq %d", since, i, f.seq)
			}
		}
		if ok && len(frames) != int(10-since) {
			t.Fatalf("since %d: %d frames", since, len(frames))
		}
	}
}
