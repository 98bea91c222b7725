// Package storetest checks that a store behaves as an idempotency.Store must.
package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc/idempotency"
)

// Contract checks that s behaves as a Store must: the first Begin of
// a key takes it, a second sees the lease, Finish stores the outcome under
// the fingerprint, Release frees the key, a stale token writes nothing, and
// of many concurrent Begins exactly one takes a key. Stores outside this
// package run it in their tests; s must start empty of
// the keys it uses ("contract-*").
func Contract(t testing.TB, s idempotency.Store) {
	t.Helper()
	ctx := context.Background()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("store contract: "+format, args...)
	}
	leaseAndFinish(ctx, s, fail)
	release(ctx, s, fail)
	oneWinner(ctx, s, fail)
}

// failer fails the test with a message.
type failer func(format string, args ...any)

// leaseAndFinish: the first Begin takes a key, a second sees the lease, a
// stale token finishes nothing, and Finish stores the outcome under the
// fingerprint.
func leaseAndFinish(ctx context.Context, s idempotency.Store, fail failer) {
	_, taken, token, err := s.Begin(ctx, "contract-a", "fp", time.Minute)
	if err != nil || taken || token == "" {
		fail("first Begin: taken %v, token %q, err %v", taken, token, err)
	}
	rec, taken, _, err := s.Begin(ctx, "contract-a", "fp", time.Minute)
	if err != nil || !taken || rec.Done || rec.Fingerprint != "fp" || time.Until(rec.LeaseEnds) < 50*time.Second {
		fail("second Begin: %+v taken %v err %v", rec, taken, err)
	}
	if err := s.Finish(ctx, "contract-a", "stale-token", "fp", idempotency.Outcome{Status: 500}, time.Minute); err != nil {
		fail("Finish with a stale token: %v", err)
	}
	if rec, _, _, _ := s.Begin(ctx, "contract-a", "fp", time.Minute); rec.Done {
		fail("a stale token finished the lease")
	}
	want := idempotency.Outcome{Status: 200, OK: true, Message: "m", Data: []byte(`{"id":1}`)}
	if err := s.Finish(ctx, "contract-a", token, "fp", want, time.Minute); err != nil {
		fail("Finish: %v", err)
	}
	rec, taken, _, err = s.Begin(ctx, "contract-a", "fp2", time.Minute)
	if err != nil || !taken || !rec.Done || rec.Fingerprint != "fp" || rec.Outcome.Status != 200 || !rec.Outcome.OK ||
		rec.Outcome.Message != "m" || string(rec.Outcome.Data) != `{"id":1}` {
		fail("after Finish: %+v taken %v err %v", rec, taken, err)
	}
}

// release: a stale token releases nothing, and Release frees the key.
func release(ctx context.Context, s idempotency.Store, fail failer) {
	_, _, token, _ := s.Begin(ctx, "contract-b", "fp", time.Minute)
	if err := s.Release(ctx, "contract-b", "stale-token"); err != nil {
		fail("Release with a stale token: %v", err)
	}
	if _, taken, _, _ := s.Begin(ctx, "contract-b", "fp", time.Minute); !taken {
		fail("a stale token released the lease")
	}
	if err := s.Release(ctx, "contract-b", token); err != nil {
		fail("Release: %v", err)
	}
	if _, taken, _, _ := s.Begin(ctx, "contract-b", "fp", time.Minute); taken {
		fail("Release left the key taken")
	}
}

// oneWinner: of many concurrent Begins of one key, exactly one takes it.
func oneWinner(ctx context.Context, s idempotency.Store, fail failer) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, taken, _, err := s.Begin(ctx, "contract-c", "fp", time.Minute); err == nil && !taken {
				mu.Lock()
				won++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		fail("%d of 20 concurrent Begins took one key", won)
	}
}
