package fanout

import "sync"

// ownIDs are the ids of what a bus published itself, once SkipOwn turned
// it on. publish holds mu from before the payload is committed until its
// id is recorded, and has takes mu too, so a notification or stream entry
// that beats the publisher's answer still finds its id recorded.
type ownIDs[K comparable] struct {
	mu  sync.Mutex
	ids *seenSet[K] // nil: this bus delivers its own payloads like any other
}

// ownWindow is how many of its own publications a bus remembers: far more
// than a reconnection's look-back or the notifications in flight.
const ownWindow = 20000

func (o *ownIDs[K]) enable() { o.ids = newSeenSet[K](ownWindow) }

// publish calls add, which publishes and returns the new payload's id,
// and records that id. A publication whose answer was lost after it
// committed is not recorded: it comes back, and the hub, which delivered
// it already, recognises its own replica in it and drops it.
func (o *ownIDs[K]) publish(add func() (K, error)) error {
	if o.ids == nil {
		_, err := add()
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	id, err := add()
	if err == nil {
		o.ids.add(id)
	}
	return err
}

// has reports whether id is one this bus published (always false before
// SkipOwn).
func (o *ownIDs[K]) has(id K) bool {
	if o.ids == nil {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ids.has(id)
}
