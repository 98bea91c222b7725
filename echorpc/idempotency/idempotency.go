// Package idempotency keeps the outcomes of calls made with an
// Idempotency-Key header (the IETF httpapi draft "The Idempotency-Key HTTP
// Header Field"), so that an echorpc instance answers a retry of a call
// with the stored answer instead of running the function again.
//
// An instance takes keys on the functions registered with
// echorpc.Idempotent (not queries, streams or downloads); its
// Config.IdempotencyStore is where the outcomes are kept: [NewMemory] by
// default (one instance), or the Redis store of package idemredis for a
// fleet, so that a retry that the load balancer sends to another instance
// finds the outcome.
//
// A handler reads its call's key with [Key], to store it in the same
// database transaction as its write: see Key.
package idempotency

import (
	"context"
	"errors"
	"time"

	"github.com/labstack/echo/v4"
)

// Outcome is a call's settled answer, as the instance keeps it: its HTTP
// status and its envelope's ok, message and data (JSON; nil for null).
// Headers and cookies that the function set are not kept.
type Outcome struct {
	Status  int    `json:"status"`
	OK      bool   `json:"ok"`
	Message string `json:"message,omitempty"`
	Data    []byte `json:"data,omitempty"`
}

// Record is what a store holds under a key: the fingerprint of the call
// that took it (a hash of its data), and either its Outcome (Done) or the
// time its lease ends (the call is still running, or its instance died).
type Record struct {
	Fingerprint string
	Done        bool
	Outcome     Outcome
	LeaseEnds   time.Time
}

// Store keeps records by key. Keys are the instance's scoped form (a
// 64-digit hex string, see [Key]), never the caller's raw header. Every
// method is safe for concurrent use, and atomic: of two Begins of one key,
// one takes it.
type Store interface {
	// Begin takes key for a call whose data has fingerprint, for lease,
	// unless a record holds it: then it returns that record and taken true.
	// token names this lease for Finish and Release.
	Begin(ctx context.Context, key, fingerprint string, lease time.Duration) (rec Record, taken bool, token string, err error)
	// Finish stores the outcome of the call that holds key under token,
	// kept for ttl. A lease that another call took since (the first one's
	// expired) is left to it.
	Finish(ctx context.Context, key, token string, fingerprint string, o Outcome, ttl time.Duration) error
	// Release drops key's lease held under token without an outcome, so
	// that a retry runs the call again.
	Release(ctx context.Context, key, token string) error
}

// ErrFull is what a bounded store answers when it cannot take one more key
// (the instance answers 503, to be tried again).
var ErrFull = errors.New("idempotency: the store is full")

// contextKey is where echorpc puts a call's scoped key on its echo.Context;
// echorpc's pipeline sets it under the same name.
const contextKey = "echorpc.idempotency_key"

// Key returns the key of the call that c is running, in the instance's
// scoped form: 64 hex digits, the same on every retry of one logical call,
// and different for another function, instance or caller, whatever the
// caller sent. It is "" when the call carries no key (or its function does
// not take keys).
//
// A handler that writes to a database stores it with its write, in the same
// transaction, under a unique constraint, and answers a key it finds with
// what that write made: then the call is done exactly once even when the
// instance dies between its commit and the store's outcome, or the outcome
// is lost (a memory store restarted, a record evicted or expired):
//
//	INSERT INTO clients (name, idempotency_key) VALUES ($1, $2)
//	ON CONFLICT (idempotency_key) DO NOTHING RETURNING ...
//	-- no row: SELECT ... WHERE idempotency_key = $2
func Key(c echo.Context) string {
	k, _ := c.Get(contextKey).(string)
	return k
}
