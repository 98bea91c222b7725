package main

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Hosts are the Host headers the app answers to.
type Hosts struct {
	// Local is the -addr host and port: the one host that the demo's
	// host-guarded functions (add_string_auth_host, /rpc/local) accept.
	Local string
	// Served are every host the app serves: Local, localhost and [::1] on
	// the same port when bound to loopback, and the extra ones given with
	// -host. The instances that touch sessions or stored data accept only
	// these, so a page on a DNS-rebound name (evil.example resolving to
	// 127.0.0.1) gets 403 even though the browser thinks it same-origin.
	Served []string
}

// servedHosts works out the Hosts for a listen address and extra hosts.
// An address without a host or with an unspecified one (":8080",
// "0.0.0.0:8080") listens on loopback too, so it serves the loopback
// names; the names it is reached by from elsewhere must be given in extra.
// Port 80 is left off, as browsers leave it off the Host header.
func servedHosts(addr string, extra []string, tls bool) (Hosts, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return Hosts{}, fmt.Errorf("-addr %q: %w", addr, err)
	}
	if port == "" || port == "0" {
		return Hosts{}, fmt.Errorf("-addr %q: give a fixed port, the host rules need it", addr)
	}
	withPort := func(h string) string {
		if port == "80" && !tls || port == "443" && tls { // the scheme's default: browsers send no port
			if strings.Contains(h, ":") { // an IPv6 address
				return "[" + h + "]"
			}
			return h
		}
		return net.JoinHostPort(h, port)
	}
	loopback := false
	switch ip, err := netip.ParseAddr(host); {
	case host == "" || err == nil && ip.IsUnspecified():
		host, loopback = "127.0.0.1", true
	case strings.EqualFold(host, "localhost"):
		loopback = true
	case err == nil:
		loopback = ip.IsLoopback()
		host = ip.String()
	}
	h := Hosts{Local: withPort(host)}
	seen := map[string]bool{}
	add := func(s string) {
		if k := strings.ToLower(s); !seen[k] {
			seen[k] = true
			h.Served = append(h.Served, s)
		}
	}
	add(h.Local)
	if loopback {
		for _, name := range []string{"127.0.0.1", "localhost", "::1"} {
			add(withPort(name))
		}
	}
	for _, e := range extra {
		if e = strings.TrimSpace(e); e == "" {
			return Hosts{}, fmt.Errorf("-host: an empty host")
		}
		add(e)
	}
	return h, nil
}

// hostList is a repeatable string flag.
type hostList []string

func (l *hostList) String() string     { return strings.Join(*l, ",") }
func (l *hostList) Set(s string) error { *l = append(*l, s); return nil }
