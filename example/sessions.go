package main

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/boj/redistore"
	"github.com/gomodule/redigo/redis"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
)

// sessionName is the session the handlers and the session rules use.
const sessionName = "session"

// sessionMaxAge is how long a session lasts, in seconds.
const sessionMaxAge = 7 * 24 * 3600

// cookieStore makes the session store with safe cookies: HttpOnly,
// SameSite=Lax, and a max age that the signed timestamp agrees with (Secure
// is set per request by saveSession). Keys come as signing keys; the cookie
// is signed, not encrypted, since it holds nothing secret.
func cookieStore(keys [][]byte) sessions.Store {
	store := sessions.NewCookieStore(keyPairs(keys)...)
	store.MaxAge(sessionMaxAge)
	store.Options.Path = "/"
	store.Options.HttpOnly = true
	store.Options.SameSite = http.SameSiteLaxMode
	return store
}

// redisStore keeps sessions in Redis (redis://host:port/db): the cookie
// carries only the session's id, signed with keys, so every instance on
// the same Redis and keys shares the sessions, and logging out (deleting
// the session in Redis) revokes its cookie everywhere. Its pool is
// redisPool's.
func redisStore(url string, keys [][]byte) (*redistore.RediStore, error) {
	store, err := redistore.NewRediStoreWithPool(redisPool(url), keyPairs(keys)...)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("redis %s: %w", redact(url), err)
	}
	store.SetMaxAge(sessionMaxAge) // the Redis TTL, the cookie and the signed timestamp
	store.Options.Path = "/"
	store.Options.HttpOnly = true
	store.Options.SameSite = http.SameSiteLaxMode
	return store, nil
}

// sessionStoreName names the session store in what callers are told.
const sessionStoreName = "the session store"

// redisPool is the pool of Redis connections, every call on which is
// bounded: dialling, and each read and write, by redisTimeout. It never
// makes a caller wait for a connection (redistore's calls take no
// context): past maxActive connections in use, a call fails at once with
// redis.ErrPoolExhausted, which is answered 503 like a timeout.
func redisPool(url string) *redis.Pool {
	const maxActive = 64
	return &redis.Pool{
		MaxIdle:     16,
		MaxActive:   maxActive,
		IdleTimeout: 4 * time.Minute,
		Dial: func() (redis.Conn, error) {
			return redis.DialURL(url,
				redis.DialConnectTimeout(redisTimeout),
				redis.DialReadTimeout(redisTimeout),
				redis.DialWriteTimeout(redisTimeout))
		},
		// A connection idle for a minute may have been dropped on the
		// way: PING it first (bounded like every call).
		TestOnBorrow: func(c redis.Conn, idleSince time.Time) error {
			if time.Since(idleSince) < time.Minute {
				return nil
			}
			_, err := c.Do("PING")
			return err
		},
	}
}

// keyPairs makes securecookie's pairs from signing keys: each key signs
// (the first) or verifies (all), and nothing is encrypted.
func keyPairs(keys [][]byte) [][]byte {
	pairs := make([][]byte, 0, 2*len(keys))
	for _, k := range keys {
		pairs = append(pairs, k, nil)
	}
	return pairs
}

// badCookie reports whether a session store's error is a cookie that does
// not decode (tampered, expired, signed with a key no longer known,
// oversized), which is no session, rather than a store that failed.
// securecookie reports an oversized cookie as an error of no class.
func badCookie(err error) bool {
	var se securecookie.Error
	return errors.As(err, &se) && (se.IsDecode() || !se.IsUsage() && !se.IsInternal())
}

// sessionOf returns the request's session. A cookie that does not decode
// counts as no session: the handler gets a fresh, empty session, and saving
// it replaces the bad cookie. Only a failing store is an error, an
// *unavailableError when Redis did not answer. (A restart without
// SESSION_SECRET changes the key, so this is what every browser holding an
// old cookie sends.) The session is read once per request: asked again,
// it answers the same, without asking Redis again.
func sessionOf(c echo.Context) (*sessions.Session, error) {
	s, err := session.Get(sessionName, c)
	if err != nil {
		if s == nil || !badCookie(err) {
			return nil, outage(sessionStoreName, err)
		}
		clearSession(s)
	}
	return s, nil
}

// clearSession empties s and makes it new: no values, and no id, so a
// store that keeps sessions server-side gives it a new one when it is
// saved instead of reusing one the client sent.
func clearSession(s *sessions.Session) {
	clearValues(s)
	s.ID = ""
	s.IsNew = true
}

// freshSession returns the request's session emptied, for login: nothing
// set before it survives (no session fixation), and a session kept in a
// store is deleted there, so its old cookie is worth nothing.
func freshSession(c echo.Context) (*sessions.Session, error) {
	s, err := sessionOf(c)
	if err != nil {
		return nil, err
	}
	if !s.IsNew && s.ID != "" {
		old := *s
		opts := *s.Options
		opts.MaxAge = -1
		old.Options = &opts
		// Deletes the stored session; its expiring cookie goes nowhere,
		// since the new session's cookie replaces it.
		if err := old.Save(c.Request(), discardWriter{}); err != nil {
			return nil, outage(sessionStoreName, err)
		}
	}
	clearSession(s)
	return s, nil
}

// saveSession saves the session's cookie, Secure when served over TLS.
func saveSession(c echo.Context, s *sessions.Session) error {
	opts := *s.Options // the session's own copy, never the store's defaults
	opts.Secure = c.Request().TLS != nil
	s.Options = &opts
	return outage(sessionStoreName, s.Save(c.Request(), c.Response()))
}

// endSession logs out: it empties the session and expires its cookie,
// whatever the cookie held, and deletes a session kept in Redis there, so
// its cookie is refused everywhere. A cookie that does not decode, or
// names a session Redis no longer has, has nothing to delete: only the
// cookie goes, without asking Redis. When Redis does not answer, the
// cookie stays (the error is an *unavailableError), so that logging out
// can be tried again: dropping it would leave the session alive in Redis
// with no way left to end it.
func endSession(c echo.Context) error {
	s, err := sessionOf(c)
	if err != nil {
		return err
	}
	clearValues(s)
	opts := *s.Options
	opts.MaxAge = -1
	if s.IsNew { // nothing stored
		opts.Secure = c.Request().TLS != nil
		http.SetCookie(c.Response(), sessions.NewCookie(sessionName, "", &opts))
		return nil
	}
	s.Options = &opts
	return saveSession(c, s)
}

// clearValues empties the session's values.
func clearValues(s *sessions.Session) {
	for k := range s.Values {
		delete(s.Values, k)
	}
}

// discardWriter is a ResponseWriter that drops what it is given.
type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (discardWriter) WriteHeader(int)             {}
