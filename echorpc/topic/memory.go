package topic

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// Memory is the engine of one process: each topic's log is a [Ring] of the
// last MaxLen items. Its ids are "start-n", start being when it was made
// (ms), so an id from an earlier process (a client that reconnects after a
// restart) is a gap, not a place in this log.
type Memory struct {
	maxLen int
	start  uint64
	mu     sync.Mutex
	topics map[string]*memoryTopic
}

type memoryTopic struct {
	ring *Ring
	seq  uint64
	subs int
}

// NewMemory makes a memory engine that keeps the last maxLen items of each
// topic (maxLen <= 0: 1,000). A topic keeps its items while the process
// runs, with or without subscribers, so that one that reconnects resumes:
// bound the number of topic names you publish to. A topic that has no
// item is forgotten when its last subscriber leaves, so subscribers of
// topics of their own (a topic per session, say) that get nothing cost
// nothing once gone.
func NewMemory(maxLen int) *Memory {
	if maxLen <= 0 {
		maxLen = 1000
	}
	return &Memory{maxLen: maxLen, start: uint64(time.Now().UnixMilli()), topics: map[string]*memoryTopic{}}
}

func (m *Memory) topic(name string) *memoryTopic {
	t := m.topics[name]
	if t == nil {
		t = &memoryTopic{ring: NewRing(m.maxLen, ID{Ms: m.start})}
		m.topics[name] = t
	}
	return t
}

// Publish appends data to topic's ring.
func (m *Memory) Publish(_ context.Context, topic string, data []byte) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.topic(topic)
	t.seq++
	id := strconv.FormatUint(m.start, 10) + "-" + strconv.FormatUint(t.seq, 10)
	t.ring.Append(Item{ID: id, Data: data})
	return id, nil
}

// Subscribe subscribes to topic after the id after: ErrGap for an id of
// another process or older than the ring.
func (m *Memory) Subscribe(_ context.Context, topic, after string) (Subscription, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.topic(topic)
	var c Cursor
	if after == "" {
		c, _ = t.ring.Cursor(t.ring.Last())
	} else {
		id, ok := ParseID(after)
		ok = ok && id.Ms == m.start && !t.ring.Last().Less(id)
		if ok {
			c, ok = t.ring.Cursor(id)
		}
		if !ok {
			m.forget(topic, t)
			return nil, ErrGap
		}
	}
	t.subs++
	return &memorySub{m: m, name: topic, t: t, c: c}, nil
}

type memorySub struct {
	m    *Memory
	name string
	t    *memoryTopic
	c    Cursor
	done bool
}

func (s *memorySub) Next(ctx context.Context) ([]Item, error) {
	items, ok, err := s.t.ring.Read(ctx, &s.c, 256)
	if !ok {
		return nil, ErrGap // fell behind the retention
	}
	return items, err
}

func (s *memorySub) Close() {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if !s.done {
		s.done = true
		s.t.subs--
		s.m.forget(s.name, s.t)
	}
}

// forget drops a topic that has neither subscribers nor items: there is
// nothing in it to resume from. m.mu is held.
func (m *Memory) forget(name string, t *memoryTopic) {
	if t.subs == 0 && t.seq == 0 && m.topics[name] == t {
		delete(m.topics, name)
	}
}
