package echorpc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/labstack/echo/v4"

	"github.com/echo-rpc/wrpc/echorpc/idempotency"
)

// Idempotency keys (the IETF httpapi draft "The Idempotency-Key HTTP
// Header Field"). A call of a function that takes keys (see [Idempotent])
// that carries the header runs once per key: the first call takes the key's
// lease in Config.IdempotencyStore, runs, and stores its outcome for
// Config.IdempotencyTTL; a retry with the same key and data is answered
// with the stored envelope and status, and the header
// Idempotent-Replayed: true, without running the function. Keys are
// scoped: the store's key is a hash of the instance, the function, the
// caller (Config.IdempotencyCaller) and the caller's key, so that no
// caller is answered with another's outcome. A replay is an answer of the
// pipeline: it passes the same admission as the call it replays (the
// caller's session, host and address rules, the deadline header), and the
// instance's interceptors see it (Call.Replayed).
//
// Only final outcomes are kept: a success, an application failure, a
// refusal of the data (any status below 500 but 429). An unexpected error,
// a 429, 5xx or exceeded deadline releases the key, so that a retry runs
// the function again: a function that may have written before it failed
// stores the key with its write (see idempotency.Key).

// idempotencyHeader is the draft's request header; replayedHeader marks a
// replayed answer, as Stripe's API does.
const (
	idempotencyHeader = "Idempotency-Key"
	replayedHeader    = "Idempotent-Replayed"
)

// keyContextKey is where a call's scoped key is set on its echo.Context,
// for idempotency.Key (which reads the same name).
const keyContextKey = "echorpc.idempotency_key"

// Bounds of keys and of their store.
const (
	minKeyLen = 16
	maxKeyLen = 255
	// noDeadlineLease is the lease of a keyed call that runs without a
	// deadline; a call with one holds its key until its deadline, plus
	// leaseMargin.
	noDeadlineLease = time.Minute
	leaseMargin     = time.Second
	// storeTimeout bounds each call to the store.
	storeTimeout = 3 * time.Second
)

// takesKeys reports whether fn's calls take Idempotency-Key: it is
// declared [Idempotent], and it is not a query (which writes nothing), a
// stream or a download.
func (fn *function) takesKeys() bool {
	return fn.idempotent && !fn.query && !fn.stream && !fn.download
}

var replayedTrue = []string{"true"}

// runKeyed runs an item of a function that takes keys, when its request
// carries one: a replay, a refusal, or the call with its outcome stored.
// It reports false, having done nothing, when the request has no key.
func (x *exchange) runKeyed(c echo.Context, it *item) bool {
	raw, has, failure := requestKey(x.c.Request())
	if !has {
		return false
	}
	fn := it.fn
	if failure == nil && (x.parts != nil || x.batch != nil) {
		failure = errKeyNotOne
	}
	if failure != nil {
		it.res = x.refusal(c, fn, failure)
		return true
	}
	store, key, print := x.rpc.config.IdempotencyStore, x.scopedKey(fn, raw), fingerprint(it.data)
	lease := noDeadlineLease
	if !it.deadline.IsZero() {
		lease = time.Until(it.deadline) + leaseMargin
	}
	ctx, cancel := context.WithTimeout(x.c.Request().Context(), storeTimeout)
	rec, taken, token, err := store.Begin(ctx, key, print, lease)
	cancel()
	switch {
	case err != nil:
		x.c.Logger().Errorf("echorpc: function %q: idempotency store: %v", fn.name, err)
		it.res = x.refusal(c, fn, errKeyStore)
		return true
	case taken && rec.Fingerprint != print:
		it.res = x.refusal(c, fn, errKeyReused)
		return true
	case taken && !rec.Done:
		wait := math.Ceil(time.Until(rec.LeaseEnds).Seconds())
		x.c.Response().Header()[headerRetryAfter] = []string{strconv.Itoa(int(max(wait, 1)))}
		it.res = x.refusal(c, fn, errKeyRunning)
		return true
	case taken:
		it.res = x.replay(fn, rec.Outcome)
		return true
	}
	x.c.Set(keyContextKey, key)
	x.invoke(c, it)
	x.keep(fn, key, token, print, &it.res)
	return true
}

// keep stores a keyed call's settled outcome when it is final, and
// releases the key otherwise (see above). The store's failure is logged:
// the caller still gets the answer, and a retry runs the function again.
func (x *exchange) keep(fn *function, key, token, print string, res *Result) {
	// The caller may be gone; the outcome is still worth keeping for its retry.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(x.c.Request().Context()), storeTimeout)
	defer cancel()
	store := x.rpc.config.IdempotencyStore
	var err error
	if o, final := outcomeOf(res); final {
		err = store.Finish(ctx, key, token, print, o, x.rpc.config.IdempotencyTTL)
	} else {
		err = store.Release(ctx, key, token)
	}
	if err != nil {
		x.c.Logger().Errorf("echorpc: function %q: idempotency store: %v", fn.name, err)
	}
}

// outcomeOf is a settled result as the store keeps it; final is false for
// a result that must not be kept (see above), or whose data does not
// encode.
func outcomeOf(res *Result) (o idempotency.Outcome, final bool) {
	if res.Err != nil || res.Status >= 500 || res.Status == http.StatusTooManyRequests {
		return o, false
	}
	o = idempotency.Outcome{Status: res.Status, OK: res.OK, Message: res.Message}
	if res.Data != nil {
		b, err := jsonv2.Marshal(res.Data, encodeOptions)
		if err != nil {
			return o, false
		}
		o.Data = b
	}
	return o, true
}

// replay answers a call with a stored outcome, through the instance's
// interceptors (Call.Replayed), marked Idempotent-Replayed: true.
func (x *exchange) replay(fn *function, o idempotency.Outcome) Result {
	stored := Result{Response: Response{OK: o.OK, Message: o.Message}, Status: o.Status}
	if o.Data != nil {
		stored.Data = json.RawMessage(o.Data)
	}
	x.c.Response().Header()[replayedHeader] = replayedTrue
	res := x.rpc.refuse(x.c, Call{Instance: x.rpc.path, Function: fn.name, Replayed: true, replayed: &stored})
	settle(&res)
	return res
}

// requestKey reads the request's Idempotency-Key: has is false when there
// is none, and failure is set when it is given twice or is malformed. Its
// value is a Structured Field string (the draft's form: "..." with \" and
// \\ escapes) or, for clients that send the bare value, a token of
// letters, digits and -._~+/=:; either way 16 to 255 printable ASCII
// characters.
func requestKey(r *http.Request) (key string, has bool, failure *Error) {
	values, has := r.Header[idempotencyHeader]
	if !has {
		return "", false, nil
	}
	if len(values) != 1 {
		return "", true, errKeyMalformed
	}
	key, ok := parseKey(values[0])
	if !ok {
		return "", true, errKeyMalformed
	}
	return key, true, nil
}

// parseKey reads an Idempotency-Key value: the draft's quoted string, or a
// bare token; either between minKeyLen and maxKeyLen bytes.
func parseKey(v string) (string, bool) {
	key, ok := v, true
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		key, ok = unquoteKey(v[1 : len(v)-1])
	} else {
		for i := 0; i < len(v) && ok; i++ {
			ok = isKeyTokenByte(v[i])
		}
	}
	return key, ok && len(key) >= minKeyLen && len(key) <= maxKeyLen
}

// unquoteKey reads the inside of a structured-field string: printable
// ASCII, with \" and \\ as its only escapes.
func unquoteKey(in string) (string, bool) {
	b := make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '\\':
			i++
			if i == len(in) || (in[i] != '"' && in[i] != '\\') {
				return "", false
			}
			c = in[i]
		case c == '"', c < 0x20, c > 0x7e:
			return "", false
		}
		b = append(b, c)
	}
	return string(b), true
}

// isKeyTokenByte reports whether c may stand in a bare (unquoted) key.
func isKeyTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/=:", c) >= 0
}

// scopedKey is the store's key for a caller's key: a hash of the instance,
// the function, the caller and the key.
func (x *exchange) scopedKey(fn *function, key string) string {
	h := sha256.New()
	for _, part := range []string{x.rpc.path, fn.name, x.callerID(), key} {
		h.Write([]byte(strconv.Itoa(len(part))))
		h.Write([]byte{':'})
		h.Write([]byte(part))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// callerID names the caller for keys: Config.IdempotencyCaller, or the
// session cookie and the Authorization header.
func (x *exchange) callerID() string {
	if f := x.rpc.config.IdempotencyCaller; f != nil {
		return f(x.c)
	}
	r := x.c.Request()
	id := r.Header.Get(echo.HeaderAuthorization)
	if ck, err := r.Cookie(x.rpc.config.SessionName); err == nil {
		id += "\x00" + ck.Value
	}
	return id
}

// fingerprint is a hash of a call's data, to tell a retry from a key
// reused for another call.
func fingerprint(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}
