package idempotency

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clock is a store's time, moved by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestMemoryTTLAndLease(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	m := NewMemory(0, 0)
	m.now = c.now
	ctx := context.Background()
	_, taken, token, err := m.Begin(ctx, "k", "f", time.Second)
	require.NoError(t, err)
	require.False(t, taken)
	c.t = c.t.Add(2 * time.Second)
	_, taken, token2, _ := m.Begin(ctx, "k", "f", time.Second)
	assert.False(t, taken, "a lease that ended (its instance died) frees the key")
	require.NoError(t, m.Finish(ctx, "k", token, "f", Outcome{Status: 200}, time.Hour))
	rec, taken, _, _ := m.Begin(ctx, "k", "f", time.Second)
	assert.True(t, taken)
	assert.False(t, rec.Done, "the late call's Finish leaves the new lease alone")
	require.NoError(t, m.Finish(ctx, "k", token2, "f", Outcome{Status: 201}, time.Hour))
	c.t = c.t.Add(59 * time.Minute)
	rec, taken, _, _ = m.Begin(ctx, "k", "f", time.Second)
	assert.True(t, taken && rec.Done && rec.Outcome.Status == 201)
	c.t = c.t.Add(2 * time.Minute)
	_, taken, _, _ = m.Begin(ctx, "k", "f", time.Second)
	assert.False(t, taken, "past its TTL the outcome is gone")
}

func TestMemoryBounds(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(3, 0)
	for _, k := range []string{"a", "b", "c"} {
		_, _, tok, err := m.Begin(ctx, k, "f", time.Minute)
		require.NoError(t, err)
		if k != "c" {
			require.NoError(t, m.Finish(ctx, k, tok, "f", Outcome{Status: 200}, time.Hour))
		}
	}
	_, _, _, err := m.Begin(ctx, "d", "f", time.Minute)
	require.NoError(t, err, "the oldest outcome makes room")
	assert.Equal(t, 3, m.Len())
	_, taken, _, _ := m.Begin(ctx, "a", "f", time.Minute)
	assert.False(t, taken, "a was evicted")
	_, _, _, err = m.Begin(ctx, "e", "f", time.Minute)
	assert.ErrorIs(t, err, ErrFull, "running calls' leases are never evicted")

	small := NewMemory(0, 1000)
	_, _, tok, _ := small.Begin(ctx, "big", "f", time.Minute)
	require.NoError(t, small.Finish(ctx, "big", tok, "f", Outcome{Status: 200, Data: make([]byte, 2000)}, time.Hour))
	assert.Zero(t, small.Len(), "an outcome over the byte bound is not kept")
	for i := range 100 {
		_, _, tok, err := small.Begin(ctx, string(rune('A'+i)), "f", time.Minute)
		require.NoError(t, err)
		require.NoError(t, small.Finish(ctx, string(rune('A'+i)), tok, "f", Outcome{Status: 200, Data: make([]byte, 100)}, time.Hour))
	}
	assert.LessOrEqual(t, small.bytes, 1000)
}
