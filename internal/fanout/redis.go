package fanout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the Bus of replicas sharing a Redis server (REDIS_URL). Payloads
// go through a stream capped near streamLen entries rather than pub/sub, so
// a replica whose connection dropped reads on from the last id it saw
// instead of losing what was published meanwhile.
type Redis struct {
	client *redis.Client
	stream string
	log    *slog.Logger

	own ownIDs[string] // after SkipOwn
}

// SkipOwn makes Run leave out what this bus published itself (see
// Postgres.SkipOwn). Call it before Publish and Run.
func (r *Redis) SkipOwn() { r.own.enable() }

// readBlock bounds each blocking read: go-redis does not interrupt one
// when the context is cancelled, so this is also how long Run may take to
// return.
const readBlock = time.Second

// streamLen caps the stream (approximately): minutes of events at any
// realistic rate, a few megabytes of memory.
const streamLen = 20000

// NewRedis connects to url (redis://…); stream names the key, so several
// installations may share one server.
func NewRedis(url, stream string, log *slog.Logger) (*Redis, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	return &Redis{client: redis.NewClient(opts), stream: stream, log: log}, nil
}

// Close releases the connections.
func (r *Redis) Close() error { return r.client.Close() }

// Delete removes the stream (tests, uninstalling).
func (r *Redis) Delete(ctx context.Context) error { return r.client.Del(ctx, r.stream).Err() }

// Ping checks the server answers.
func (r *Redis) Ping(ctx context.Context) error { return r.client.Ping(ctx).Err() }

// Publish implements Bus.
func (r *Redis) Publish(ctx context.Context, payload []byte) error {
	return r.own.publish(func() (string, error) {
		id, err := r.client.XAdd(ctx, &redis.XAddArgs{Stream: r.stream, MaxLen: streamLen, Approx: true,
			Values: []any{"p", payload}}).Result()
		if err != nil {
			return "", fmt.Errorf("fanout publish: %w", err)
		}
		return id, nil
	})
}

// Run implements Bus.
func (r *Redis) Run(ctx context.Context, deliver func([]byte)) error {
	last := "$" // only what is published from now on
	// "$" is resolved by each XREAD call, so pin it to the stream's current
	// last id first: a reconnect must not skip what came in between.
	if info, err := r.client.XInfoStream(ctx, r.stream).Result(); err == nil {
		last = info.LastGeneratedID
	} else if !isNoSuchKey(err) {
		return fmt.Errorf("fanout: %w", err)
	} else {
		last = "0-0"
	}
	for ctx.Err() == nil {
		res, err := r.client.XRead(ctx, &redis.XReadArgs{Streams: []string{r.stream, last}, Count: 500, Block: readBlock}).Result()
		switch {
		case errors.Is(err, redis.Nil):
			continue // nothing within Block
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			r.log.WarnContext(ctx, "fanout: Redis read", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for _, s := range res {
			for _, m := range s.Messages {
				last = m.ID
				if r.own.has(m.ID) {
					continue
				}
				if p, ok := m.Values["p"].(string); ok {
					deliver([]byte(p))
				}
			}
		}
	}
	return nil
}

func isNoSuchKey(err error) bool {
	return err != nil && err.Error() == "ERR no such key"
}
