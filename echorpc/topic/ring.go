package topic

import (
	"context"
	"sync"
)

// Ring holds the latest items of one topic on one instance, for its
// subscribers to read: a continuous run of the log after Base, at most its
// capacity long. The subscribers of a topic wait on it together, with no
// goroutine and no copy of an item each. Engines use it; safe for
// concurrent use.
type Ring struct {
	mu    sync.Mutex
	items []Item // circular once it holds size items; grown until then
	ids   []ID
	size  int // the capacity
	first int // index of the oldest item
	n     int
	base  ID            // the id before the oldest item
	gen   uint64        // bumped by Reset
	wake  chan struct{} // closed and replaced when items come
}

// NewRing makes a ring of up to size items that follow base. It grows as
// items come, so a topic that gets few costs little.
func NewRing(size int, base ID) *Ring {
	return &Ring{size: max(size, 1), base: base, wake: make(chan struct{})}
}

// Append adds items that follow the ring's last one, in order, dropping the
// oldest beyond its capacity, and wakes the waiting subscribers.
func (r *Ring) Append(items ...Item) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, it := range items {
		id, _ := ParseID(it.ID)
		if r.n > 0 && !r.ids[(r.first+r.n-1)%len(r.items)].Less(id) || r.n == 0 && !r.base.Less(id) {
			continue // not after the last: already here
		}
		if r.n == r.size {
			r.base = r.ids[r.first]
			r.items[r.first] = Item{}
			r.first = (r.first + 1) % len(r.items)
			r.n--
		}
		if r.n == len(r.items) {
			// not full yet, so never wrapped: first is 0
			r.items, r.ids = append(r.items, it), append(r.ids, id)
		} else {
			i := (r.first + r.n) % len(r.items)
			r.items[i], r.ids[i] = it, id
		}
		r.n++
	}
	close(r.wake)
	r.wake = make(chan struct{})
}

// Reset empties the ring after a gap, to follow base: the cursors taken
// before it get ErrGap.
func (r *Ring) Reset(base ID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.items)
	r.first, r.n, r.base = 0, 0, base
	r.gen++
	close(r.wake)
	r.wake = make(chan struct{})
}

// Last is the id of the ring's last item (its base when it is empty).
func (r *Ring) Last() ID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last()
}

func (r *Ring) last() ID {
	if r.n == 0 {
		return r.base
	}
	return r.ids[(r.first+r.n-1)%len(r.items)]
}

// Cursor is a subscriber's place in a ring: the id of the last item it
// read.
type Cursor struct {
	After ID
	gen   uint64
}

// Cursor returns a cursor after the id after; ok is false when the ring
// does not reach back that far (after is before Base).
func (r *Ring) Cursor(after ID) (c Cursor, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Cursor{After: after, gen: r.gen}, !after.Less(r.base)
}

// Read waits for the items after c (at most max), returns them and moves c
// past them. It returns ok false, at once, when the ring no longer holds
// the item after c (c fell behind by more than the ring's size: the
// engine reads its log), and ErrGap when the ring was Reset since c was
// taken.
func (r *Ring) Read(ctx context.Context, c *Cursor, max int) (items []Item, ok bool, err error) {
	for {
		r.mu.Lock()
		if c.gen != r.gen {
			r.mu.Unlock()
			return nil, true, ErrGap
		}
		if c.After.Less(r.base) {
			r.mu.Unlock()
			return nil, false, nil
		}
		if r.last().Less(c.After) || r.last() == c.After {
			wake := r.wake
			r.mu.Unlock()
			select {
			case <-wake:
				continue
			case <-ctx.Done():
				return nil, true, ctx.Err()
			}
		}
		// the first item after c.After: binary search in the ring
		lo, hi := 0, r.n
		for lo < hi {
			m := (lo + hi) / 2
			if c.After.Less(r.ids[(r.first+m)%len(r.items)]) {
				hi = m
			} else {
				lo = m + 1
			}
		}
		k := min(r.n-lo, max)
		items = make([]Item, k)
		for j := range k {
			items[j] = r.items[(r.first+lo+j)%len(r.items)]
		}
		c.After = r.ids[(r.first+lo+k-1)%len(r.items)]
		r.mu.Unlock()
		return items, true, nil
	}
}
