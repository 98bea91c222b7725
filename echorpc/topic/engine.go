package topic

import (
	"context"
	"errors"

	jsonv2 "github.com/go-json-experiment/json"
)

// Item is one item of a topic: its id in the topic's log (the stream's
// event id) and its JSON, shared by every subscriber: do not modify Data.
type Item struct {
	ID   string
	Data []byte
}

// ErrGap is the error of [Engine.Subscribe] and [Subscription.Next] when
// items after the subscriber's id are lost: the log no longer holds them
// (retention passed) or lost them (Redis restarted without its data). A
// stream served by [Serve] ends with a 410 error event.
var ErrGap = errors.New("topic: items after this id are no longer in the log")

// Engine keeps the topics' logs and delivers their items. Implementations
// are safe for concurrent use.
type Engine interface {
	// Publish appends data (JSON) to topic's log and returns its id.
	Publish(ctx context.Context, topic string, data []byte) (id string, err error)
	// Subscribe subscribes to topic's items after the id after ("": from
	// now on). It fails with ErrGap when items after it are lost.
	Subscribe(ctx context.Context, topic, after string) (Subscription, error)
}

// Subscription is one subscriber's place in a topic. It is used by one
// goroutine at a time.
type Subscription interface {
	// Next waits for the items after the last one it returned, and returns
	// them in order, or ErrGap, or ctx's error.
	Next(ctx context.Context) ([]Item, error)
	// Close ends the subscription.
	Close()
}

// Publish encodes v once, as JSON, and publishes it to topic.
func Publish[T any](ctx context.Context, e Engine, topic string, v T) (string, error) {
	data, err := jsonv2.Marshal(v)
	if err != nil {
		return "", err
	}
	return e.Publish(ctx, topic, data)
}
