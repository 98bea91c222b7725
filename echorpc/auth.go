package echorpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
)

// sessionRule is one key of a session rule, with its allowed values
// encoded once, at start-up.
type sessionRule struct {
	key    string
	values [][]byte
}

// compileSessionRules compiles Config.SessionAuth, in key order so that
// checks run in the same order every time.
func compileSessionRules(auth map[string][]any) []sessionRule {
	keys := make([]string, 0, len(auth))
	for k := range auth {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	rules := make([]sessionRule, 0, len(keys))
	for _, k := range keys {
		rules = append(rules, compileSessionRule(k, auth[k]))
	}
	return rules
}

func compileSessionRule(key string, values []any) sessionRule {
	if key == "" {
		panic("echorpc: a session rule has an empty key")
	}
	r := sessionRule{key: key}
	for _, v := range values {
		b, err := json.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("echorpc: session key %q: value %v cannot be encoded as JSON: %v", key, v, err))
		}
		r.values = append(r.values, b)
	}
	return r
}

// holds reports whether the session satisfies the rule. Values compare as
// JSON would: true matches true, and 100 matches 100 whether it is stored
// as an int or a float64; comparing the encodings never panics, whatever
// the stored value is. A missing key never matches.
func (r sessionRule) holds(s *sessions.Session) bool {
	v, ok := s.Values[r.key]
	if !ok {
		return false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	for _, want := range r.values {
		if bytes.Equal(b, want) {
			return true
		}
	}
	return false
}

// sessionStoreKey is where echo-contrib's session middleware keeps its store
// on the Echo context.
const sessionStoreKey = "_session_store"

var errNoSessionMiddleware = errors.New("echorpc: session auth is configured but no session middleware is installed: add e.Use(session.Middleware(store)) from github.com/labstack/echo-contrib/session")

// loadSession returns the named session. A cookie that fails to decode
// (tampered, expired, signed with a retired key, oversized) is no session:
// it yields an empty one, so rules fail with 401. A missing session
// middleware or any other store error is returned.
func loadSession(c echo.Context, name string) (*sessions.Session, error) {
	if c.Get(sessionStoreKey) == nil {
		return nil, errNoSessionMiddleware
	}
	s, err := session.Get(name, c)
	if err != nil {
		// securecookie reports a bad cookie as a decode error, except an
		// oversized one, which it reports as an error of no class.
		var se securecookie.Error
		if errors.As(err, &se) && (se.IsDecode() || !se.IsUsage() && !se.IsInternal()) {
			return sessions.NewSession(nil, name), nil
		}
		return nil, fmt.Errorf("echorpc: session %q: %w", name, err)
	}
	return s, nil
}

// hostRule is one allowed host, split for comparison.
type hostRule struct {
	host string // lower case
	port string // "" when none
}

func compileHosts(hosts []string) []hostRule {
	rules := make([]hostRule, 0, len(hosts))
	for _, h := range hosts {
		if h == "" {
			panic("echorpc: an allowed host is empty")
		}
		name, port := splitHost(h)
		rules = append(rules, hostRule{host: strings.ToLower(name), port: port})
	}
	return rules
}

// splitHost splits "name:port" (or "[v6]:port") without requiring a port.
func splitHost(h string) (name, port string) {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		if strings.Count(h, ":") == 1 || strings.HasPrefix(h, "[") {
			return h[:i], h[i+1:]
		}
	}
	return h, ""
}

// requestHost returns the request's Host as Werkzeug reports it: the port
// is dropped when it is the scheme's default (80 on http, 443 on https).
func requestHost(r *http.Request) string {
	h := r.Host
	if r.TLS == nil {
		h = strings.TrimSuffix(h, ":80")
	} else {
		h = strings.TrimSuffix(h, ":443")
	}
	return h
}

// hostAllowed reports whether host is one of rules, comparing the name
// without regard to case and the port exactly.
func hostAllowed(rules []hostRule, host string) bool {
	name, port := splitHost(host)
	for _, r := range rules {
		if r.port == port && strings.EqualFold(r.host, name) {
			return true
		}
	}
	return false
}

func compilePrefixes(prefixes []string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(prefixes))
	for _, s := range prefixes {
		var p netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			p, err = netip.ParsePrefix(s)
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(s)
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if err != nil {
			panic(fmt.Sprintf("echorpc: remote auth prefix %q: %v", s, err))
		}
		// An IPv4-mapped prefix (::ffff:10.0.0.0/104) means its IPv4 prefix.
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out
}

// remoteAddr returns the caller's address: from Echo's IPExtractor when the
// app set one (the app's statement of which proxies it trusts), otherwise the
// TCP peer. It never falls back to X-Forwarded-For the way
// echo.Context.RealIP does, since any client can send that header.
func remoteAddr(c echo.Context) (netip.Addr, string) {
	r := c.Request()
	var s string
	if x := c.Echo().IPExtractor; x != nil {
		s = x(r)
	} else {
		s = r.RemoteAddr
		if h, _, err := net.SplitHostPort(s); err == nil {
			s = h
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, s
	}
	return a.Unmap().WithZone(""), s
}

// remoteAllowed reports whether a is in one of the prefixes; an address
// that did not parse is never allowed.
func remoteAllowed(prefixes []netip.Prefix, a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// rules are the access rules of an instance or of a function.
type rules struct {
	session []sessionRule
	hosts   []hostRule
	remote  []netip.Prefix
}

// caller answers the rules for one request. It reads the session at most
// once, and only when a session rule asks.
type caller struct {
	c           echo.Context
	sessionName string
	sess        *sessions.Session
	sessErr     error
}

// mayCall checks the instance's rules, then fn's: the refusal a call of
// fn by k would get, nil when it may call it.
func (k *caller) mayCall(rpc *RPC, fn *function) *Error {
	if failure := k.check(&rpc.rules); failure != nil {
		return failure
	}
	return k.check(&fn.rules)
}

// check applies rs in Flask-RPC's order (session, then host, then
// address) and returns the first failure: 401 for a session rule, 403 for
// a host or address; 500 without the session middleware and 503 (with
// Retry-After) when the session store fails, both logged once.
func (k *caller) check(rs *rules) *Error {
	if len(rs.session) > 0 {
		if k.sess == nil && k.sessErr == nil {
			if k.sess, k.sessErr = loadSession(k.c, k.sessionName); k.sessErr != nil {
				k.c.Logger().Error(k.sessErr.Error())
			}
		}
		switch {
		case errors.Is(k.sessErr, errNoSessionMiddleware):
			return errInternal // a setup mistake: logged above
		case k.sessErr != nil:
			return errSessionStore // the store did not answer: try again
		}
		for _, rule := range rs.session {
			if !rule.holds(k.sess) {
				return errUnauthorized
			}
		}
	}
	if len(rs.hosts) > 0 {
		if host := requestHost(k.c.Request()); !hostAllowed(rs.hosts, host) {
			return errForbidden(host)
		}
	}
	if len(rs.remote) > 0 {
		if addr, raw := remoteAddr(k.c); !remoteAllowed(rs.remote, addr) {
			return errForbidden(raw)
		}
	}
	return nil
}

// originGuard refuses cross-origin browser requests; see
// Config.TrustedOrigins.
type originGuard struct {
	cop *http.CrossOriginProtection // nil when the check is off
}

func newOriginGuard(trusted []string, off bool) originGuard {
	if off {
		return originGuard{}
	}
	cop := http.NewCrossOriginProtection()
	for _, o := range trusted {
		if err := cop.AddTrustedOrigin(o); err != nil {
			panic(fmt.Sprintf("echorpc: trusted origin %q: %v", o, err))
		}
	}
	return originGuard{cop: cop}
}

// allowed applies net/http's CrossOriginProtection, and also refuses an
// Origin with userinfo (http://evil@host), which that check lets through.
func (g originGuard) allowed(r *http.Request) bool {
	if g.cop == nil {
		return true
	}
	if err := g.cop.Check(r); err != nil {
		return false
	}
	if o := r.Header["Origin"]; len(o) > 0 && strings.Contains(o[0], "@") {
		return false
	}
	return true
}
