package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStoreAtomicSQLite(t *testing.T) {
	store, err := OpenStore(filepath.Join(t.TempDir(), "clients.db"))
	require.NoError(t, err)
	defer store.Close()
	testStoreAtomic(t, store)
}

// testStoreAtomic races callers on the same rows: of the callers deleting
// one client exactly one is told it deleted it (and gets the row), and
// every update's reply carries that update's own name, not another
// caller's. fleet_test.go runs it on PostgreSQL too.
func testStoreAtomic(t *testing.T, store *Store) {
	ctx := context.Background()
	const rows, callers = 20, 8

	ids := make([]int64, rows)
	for i := range ids {
		c, err := store.Create(ctx, fmt.Sprintf("client %d", i))
		require.NoError(t, err)
		ids[i] = c.ClientID
	}

	// Updates: every caller renames every row, all at once.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var wrong []string
	for w := 0; w < callers; w++ {
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprintf("caller %d of %d", w, id)
				c, err := store.Update(ctx, id, name)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					wrong = append(wrong, fmt.Sprintf("update %d: %v", id, err))
				} else if c.Name != name || c.ClientID != id {
					wrong = append(wrong, fmt.Sprintf("update %d as %q answered %d %q", id, name, c.ClientID, c.Name))
				}
			}()
		}
	}
	wg.Wait()
	assert.Empty(t, wrong, "every update's reply is its own write")

	// Deletes: every caller deletes every row, all at once.
	deleted := make(map[int64]int)
	wrong = nil
	for w := 0; w < callers; w++ {
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := store.Delete(ctx, id)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, errNotFound):
				case err != nil:
					wrong = append(wrong, fmt.Sprintf("delete %d: %v", id, err))
				case c.ClientID != id:
					wrong = append(wrong, fmt.Sprintf("delete %d answered %d", id, c.ClientID))
				default:
					deleted[id]++
				}
			}()
		}
	}
	wg.Wait()
	assert.Empty(t, wrong)
	for _, id := range ids {
		assert.Equal(t, 1, deleted[id], "successful deletes of client %d", id)
		_, err := store.Read(ctx, id)
		assert.ErrorIs(t, err, errNotFound)
	}
}
