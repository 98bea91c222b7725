package main

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/boj/redistore"
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
// the session in Redis) revokes its cookie everywhere.
func redisStore(url string, keys [][]byte) (*redistore.RediStore, error) {
	store, err := redistore.NewRediStoreWithURL(16, url, keyPairs(keys)...)
	if err != nil {
		if store != nil {
			store.Close()
		}
		return nil, fmt.Errorf("redis %s: %w", url, err)
	}
	store.SetMaxAge(sessionMaxAge) // the Redis TTL, the cookie and the signed timestamp
	store.Options.Path = "/"
	store.Options.HttpOnly = true
	store.Options.SameSite = http.SameSiteLaxMode
	return store, nil
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
// it replaces the bad cookie. Only a failing store is an error. (A
// restart without SESSION_SECRET changes the key, so this is what every
// browser holding an old cookie sends.)
func sessionOf(c echo.Context) (*sessions.Session, error) {
	s, err := session.Get(sessionName, c)
	if err != nil {
		if s == nil || !badCookie(err) {
			return nil, err
		}
		clearSession(s)
	}
	return s, nil
}

// clearSession empties s and makes it new: no values, and no id, so a
// store that keeps sessions server-side gives it a new one when it is
// saved instead of reusing one the client sent.
func clearSession(s *sessions.Session) {
	for k := range s.Values {
		delete(s.Values, k)
	}
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
			return nil, err
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
	return s.Save(c.Request(), c.Response())
}

// discardWriter is a ResponseWriter that drops what it is given.
type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (discardWriter) WriteHeader(int)             {}
