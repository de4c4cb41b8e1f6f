package fanout

import (
	"context"
)

// Local is the Bus of a single process: Publish hands the payload to Run's
// deliver through a buffered queue, so a slow subscriber never blocks the
// publisher's request for long.
//
// Since every replica it reaches is this process, Local also carries Go
// values as they are (PublishValue, RunValues): what would only be
// encoded to be decoded again on the other side of the queue is not
// encoded at all.
type Local struct {
	ch chan localItem
}

// localItem is a payload or, when isValue, a value.
type localItem struct {
	payload []byte
	value   any
	isValue bool
}

// NewLocal returns a Local bus buffering up to size payloads and values.
func NewLocal(size int) *Local { return &Local{ch: make(chan localItem, max(size, 1))} }

// Publish implements Bus. It waits while the queue is full (back-pressure)
// until ctx ends.
func (l *Local) Publish(ctx context.Context, payload []byte) error {
	return l.put(ctx, localItem{payload: payload})
}

// PublishValue queues v for RunValues, in order with the payloads, waiting
// like Publish while the queue is full. v is handed over, not copied: the
// publisher must not change it afterwards.
func (l *Local) PublishValue(ctx context.Context, v any) error {
	return l.put(ctx, localItem{value: v, isValue: true})
}

func (l *Local) put(ctx context.Context, it localItem) error {
	select {
	case l.ch <- it:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run implements Bus. Values have nowhere to go and are skipped: a process
// that publishes values reads with RunValues.
func (l *Local) Run(ctx context.Context, deliver func([]byte)) error {
	return l.RunValues(ctx, deliver, func(any) {})
}

// RunValues is Run that also calls deliverValue with every value
// published, one at a time and in publication order with the payloads,
// until ctx ends.
func (l *Local) RunValues(ctx context.Context, deliver func([]byte), deliverValue func(any)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case it := <-l.ch:
			if it.isValue {
				deliverValue(it.value)
			} else {
				deliver(it.payload)
			}
		}
	}
}
