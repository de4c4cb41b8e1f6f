// Package fanout carries real-time events between the replicas of one
// installation, so a webhook received by one replica reaches a WebSocket
// held by another. It moves opaque payloads; the hub decides what they
// mean.
//
// Every Bus delivers each published payload to every running replica, the
// publisher included, unless the publisher asked Postgres or Redis to skip
// its own (SkipOwn): the real-time hub then delivers its own events to its
// sockets directly, as values, instead of reading back and decoding every
// batch it wrote.
// Three transports: Local (one process, SQLite), Postgres (LISTEN/NOTIFY
// over a small table that lets a replica catch up after a dropped
// connection) and Redis (a capped stream, read from the last id seen).
package fanout

import "context"

// Bus publishes payloads to every replica.
type Bus interface {
	// Publish sends payload to every replica's Run, this one's included
	// (see SkipOwn above).
	Publish(ctx context.Context, payload []byte) error
	// Run calls deliver for every payload any replica publishes, one at a
	// time, until ctx ends. Payloads published before Run started are not
	// delivered.
	Run(ctx context.Context, deliver func(payload []byte)) error
}
