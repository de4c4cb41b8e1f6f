package fanout

import (
	"context"
)

// Local is the Bus of a single process: Publish hands the payload to Run's
// deliver through a buffered queue, so a slow subscriber never blocks the
// publisher's request for long.
type Local struct {
	ch chan []byte
}

// NewLocal returns a Local bus buffering up to size payloads.
func NewLocal(size int) *Local { return &Local{ch: make(chan []byte, max(size, 1))} }

// Publish implements Bus. It waits while the queue is full (back-pressure)
// until ctx ends.
func (l *Local) Publish(ctx context.Context, payload []byte) error {
	select {
	case l.ch <- payload:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run implements Bus.
func (l *Local) Run(ctx context.Context, deliver func([]byte)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case p := <-l.ch:
			deliver(p)
		}
	}
}
