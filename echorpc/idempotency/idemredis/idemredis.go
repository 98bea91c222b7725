// Package idemredis is an idempotency.Store on Redis (through go-redis v9),
// for a fleet of instances: a retry that the load balancer sends to another
// instance finds the outcome the first one stored.
//
// Each key is one Redis string, "<prefix><key>", holding its record as
// JSON with the token of the lease that wrote it. Begin takes a lease with
// SET NX PX (of two instances, one takes it); Finish and Release are Lua
// scripts that compare the token and write (or delete) in one step, so an
// instance whose lease ran out never overwrites the outcome of the call
// that took the key after it. Records expire by Redis's own PX.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	echorpc.New(g, echorpc.Config{IdempotencyStore: idemredis.New(rdb, "")})
package idemredis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/redis/go-redis/v9"

	"github.com/echo-rpc/wrpc/echorpc/idempotency"
)

// DefaultPrefix is the prefix of the store's Redis keys when New is given "".
const DefaultPrefix = "wrpc:idem:"

// Store is an idempotency.Store on Redis. Make one with [New].
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

// New returns a store on rdb whose Redis keys start with prefix
// (DefaultPrefix when ""). Give every instance of a fleet the same Redis and
// prefix.
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{rdb: rdb, prefix: prefix}
}

// record is a key's value in Redis.
type record struct {
	Token       string              `json:"t"`
	Fingerprint string              `json:"f"`
	Done        bool                `json:"d,omitzero"`
	LeaseEnds   int64               `json:"l,omitzero"` // Unix ms
	Outcome     idempotency.Outcome `json:"o,omitzero"`
}

// Begin implements idempotency.Store: SET NX PX takes the lease; when the
// key is held, GET reads the record that holds it.
func (s *Store) Begin(ctx context.Context, key, fingerprint string, lease time.Duration) (idempotency.Record, bool, string, error) {
	token := newToken()
	ends := time.Now().Add(lease)
	value, err := jsonv2.Marshal(record{Token: token, Fingerprint: fingerprint, LeaseEnds: ends.UnixMilli()})
	if err != nil {
		return idempotency.Record{}, false, "", err
	}
	for range 3 { // a key that expires between SET NX and GET is tried again
		ok, err := s.rdb.SetNX(ctx, s.prefix+key, value, lease).Result()
		if err != nil {
			return idempotency.Record{}, false, "", fmt.Errorf("idemredis: %w", err)
		}
		if ok {
			return idempotency.Record{}, false, token, nil
		}
		raw, err := s.rdb.Get(ctx, s.prefix+key).Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return idempotency.Record{}, false, "", fmt.Errorf("idemredis: %w", err)
		}
		var r record
		if err := jsonv2.Unmarshal(raw, &r); err != nil {
			return idempotency.Record{}, false, "", fmt.Errorf("idemredis: key %s holds no record: %w", key, err)
		}
		return idempotency.Record{Fingerprint: r.Fingerprint, Done: r.Done, Outcome: r.Outcome,
			LeaseEnds: time.UnixMilli(r.LeaseEnds)}, true, "", nil
	}
	return idempotency.Record{}, false, "", errors.New("idemredis: the key kept expiring")
}

// finishScript writes the outcome (ARGV[2], for ARGV[3] ms) when the key is
// gone or still holds the lease of token ARGV[1].
var finishScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and not string.find(v, ARGV[1], 1, true) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`)

// releaseScript deletes the key when it holds the lease of token ARGV[1].
var releaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.find(v, ARGV[1], 1, true) then redis.call('DEL', KEYS[1]) return 1 end
return 0`)

// Finish implements idempotency.Store, in one Lua script.
func (s *Store) Finish(ctx context.Context, key, token, fingerprint string, o idempotency.Outcome, ttl time.Duration) error {
	value, err := jsonv2.Marshal(record{Token: token, Fingerprint: fingerprint, Done: true, Outcome: o})
	if err != nil {
		return err
	}
	ms := max(ttl.Milliseconds(), 1)
	if err := finishScript.Run(ctx, s.rdb, []string{s.prefix + key}, `"t":"`+token+`"`, value, ms).Err(); err != nil {
		return fmt.Errorf("idemredis: %w", err)
	}
	return nil
}

// Release implements idempotency.Store, in one Lua script.
func (s *Store) Release(ctx context.Context, key, token string) error {
	if err := releaseScript.Run(ctx, s.rdb, []string{s.prefix + key}, `"t":"`+token+`"`).Err(); err != nil {
		return fmt.Errorf("idemredis: %w", err)
	}
	return nil
}

// newToken names one lease: 128 random bits.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
