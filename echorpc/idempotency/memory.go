package idempotency

import (
	"container/list"
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// Memory is a Store in the instance's memory, bounded in keys and bytes:
// the default store, for one instance. Its records go with the process, so
// a fleet needs a shared store (package idemredis). Make one with
// [NewMemory].
type Memory struct {
	maxKeys  int
	maxBytes int
	now      func() time.Time

	mu    sync.Mutex
	keys  map[string]*list.Element // of *memoryEntry
	order list.List                // oldest first
	bytes int
}

type memoryEntry struct {
	key     string
	token   string
	rec     Record
	expires time.Time
	size    int
}

// Default bounds of [NewMemory].
const (
	DefaultMaxKeys  = 10_000
	DefaultMaxBytes = 32 << 20
)

// NewMemory returns a memory store of at most maxKeys records and
// maxBytes of outcomes (keys, fingerprints, messages and data counted); 0
// or less takes DefaultMaxKeys and DefaultMaxBytes. When a new key would
// pass a bound, the oldest records go first (a finished one, or a lease
// that has ended); when only running calls' leases are left, Begin returns
// [ErrFull]. An outcome larger than maxBytes is not kept: its key is
// released, so a retry runs the call again.
func NewMemory(maxKeys, maxBytes int) *Memory {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &Memory{maxKeys: maxKeys, maxBytes: maxBytes, now: time.Now, keys: map[string]*list.Element{}}
}

// Len returns the number of records the store holds, expired ones
// included until they are dropped.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.keys)
}

// entrySize is what an entry counts against maxBytes.
func entrySize(key string, rec *Record) int {
	return len(key) + len(rec.Fingerprint) + len(rec.Outcome.Message) + len(rec.Outcome.Data) + 64
}

// Begin implements [Store].
func (m *Memory) Begin(_ context.Context, key, fingerprint string, lease time.Duration) (Record, bool, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if el, ok := m.keys[key]; ok {
		e := el.Value.(*memoryEntry)
		if now.Before(e.expires) {
			return e.rec, true, "", nil
		}
		m.remove(el)
	}
	rec := Record{Fingerprint: fingerprint, LeaseEnds: now.Add(lease)}
	e := &memoryEntry{key: key, token: newToken(), rec: rec, expires: rec.LeaseEnds, size: entrySize(key, &rec)}
	if !m.makeRoom(e.size, now) {
		return Record{}, false, "", ErrFull
	}
	m.keys[key] = m.order.PushBack(e)
	m.bytes += e.size
	return Record{}, false, e.token, nil
}

// Finish implements [Store].
func (m *Memory) Finish(_ context.Context, key, token, fingerprint string, o Outcome, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	el, ok := m.keys[key]
	if ok {
		if el.Value.(*memoryEntry).token != token {
			return nil // another call holds it now
		}
		m.remove(el)
	}
	rec := Record{Fingerprint: fingerprint, Done: true, Outcome: o}
	e := &memoryEntry{key: key, token: token, rec: rec, expires: now.Add(ttl), size: entrySize(key, &rec)}
	if e.size > m.maxBytes || !m.makeRoom(e.size, now) {
		return nil // not kept: a retry runs again
	}
	m.keys[key] = m.order.PushBack(e)
	m.bytes += e.size
	return nil
}

// Release implements [Store].
func (m *Memory) Release(_ context.Context, key, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.keys[key]; ok && el.Value.(*memoryEntry).token == token {
		m.remove(el)
	}
	return nil
}

// makeRoom drops the oldest records that may go until one more of size
// fits, and reports whether it does.
func (m *Memory) makeRoom(size int, now time.Time) bool {
	for el := m.order.Front(); el != nil && (len(m.keys)+1 > m.maxKeys || m.bytes+size > m.maxBytes); {
		next := el.Next()
		if e := el.Value.(*memoryEntry); e.rec.Done || !now.Before(e.expires) {
			m.remove(el)
		}
		el = next
	}
	return len(m.keys)+1 <= m.maxKeys && m.bytes+size <= m.maxBytes
}

func (m *Memory) remove(el *list.Element) {
	e := m.order.Remove(el).(*memoryEntry)
	delete(m.keys, e.key)
	m.bytes -= e.size
}

// newToken names one lease: 128 random bits.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
