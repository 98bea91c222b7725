package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
)

// transport is how the example serves its connections: plain HTTP/1.1 (the
// default), TLS with HTTP/2 (-tls-cert and -tls-key), or unencrypted
// HTTP/2 beside HTTP/1.1 (-h2c), for a proxy that speaks HTTP/2 to its
// upstreams.
//
// HTTP/2 carries every request of a page over one connection, so the
// browser's cap of six HTTP/1.1 connections per origin, shared by all of
// its tabs, no longer holds the seventh stream (and the calls behind it)
// until another one ends.
type transport struct {
	certFile, keyFile string
	h2c               bool
}

// check reports a transport the flags cannot make.
func (tr transport) check() error {
	switch {
	case (tr.certFile == "") != (tr.keyFile == ""):
		return errors.New("-tls-cert and -tls-key go together")
	case tr.h2c && tr.certFile != "":
		return errors.New("-h2c is for plain connections from a proxy; with -tls-cert, HTTP/2 is negotiated over TLS already")
	}
	return nil
}

// useTLS reports whether the server speaks TLS.
func (tr transport) useTLS() bool { return tr.certFile != "" }

// scheme is the scheme of the app's URLs.
func (tr transport) scheme() string {
	if tr.useTLS() {
		return "https"
	}
	return "http"
}

// describe names the protocols served, for the start-up line.
func (tr transport) describe() string {
	switch {
	case tr.useTLS():
		return "HTTP/2 and HTTP/1.1 over TLS"
	case tr.h2c:
		return "HTTP/1.1 and unencrypted HTTP/2 (h2c, prior knowledge)"
	}
	return "HTTP/1.1"
}

// configure sets up srv for the transport. Over TLS, net/http offers h2
// and http/1.1 by ALPN, as it does by default; the certificate is loaded
// here, so that a bad file stops the start-up before anything listens.
// With h2c, the server also takes HTTP/2 on plain connections, from a
// client that starts with HTTP/2's preface (prior knowledge, as haproxy and
// Envoy do); net/http does not do the HTTP/1.1 Upgrade: h2c dance.
func (tr transport) configure(srv *http.Server) error {
	if tr.useTLS() {
		cert, err := tls.LoadX509KeyPair(tr.certFile, tr.keyFile)
		if err != nil {
			return fmt.Errorf("-tls-cert/-tls-key: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		return nil
	}
	if tr.h2c {
		var p http.Protocols
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		srv.Protocols = &p
	}
	return nil
}

// serve serves srv on ln, over TLS when the transport has a certificate.
func (tr transport) serve(srv *http.Server, ln net.Listener) error {
	if tr.useTLS() {
		return srv.ServeTLS(ln, "", "") // the certificate is in srv.TLSConfig
	}
	return srv.Serve(ln)
}
