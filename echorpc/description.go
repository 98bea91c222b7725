package echorpc

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	stdjson "encoding/json"

	"github.com/echo-rpc/wrpc/echorpc/internal/describe"
	"github.com/labstack/echo/v4"
)

// descriptionHeader carries a description's hash both ways: a client sends
// the hash of the description it was built or loaded with, and a reply
// carries the instance's own hash when it differs (version skew: the page
// was loaded before a deploy changed the functions).
const descriptionHeader = "Wrpc-Description"

// description is the instance's description for one registry (every
// function, whoever asks: the manifest that a caller allowed every function
// would get, as indented JSON, without its hash). It is the instance's
// contract with its callers: echorpctest compares it with a committed
// snapshot (through internal/adapter), and the manifest's "hash" (and the
// Wrpc-Description header) is a hash of it. It is made when first asked
// for, and kept until the registry (rpc.funcs) changes.
type description struct {
	funcs *map[string]*function // the registry it describes
	json  []byte
	hash  string
}

// currentDescription returns the description of the registry as it is
// now, made once per registry.
func (rpc *RPC) currentDescription() *description {
	funcs := rpc.funcs.Load()
	if d := rpc.desc.Load(); d != nil && d.funcs == funcs {
		return d
	}
	m := describe.NewManifest(rpc.describe(nil, true), rpc.path)
	var b bytes.Buffer
	enc := stdjson.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)              // a snapshot read in review: <, > and & as they are
	if err := enc.Encode(m); err != nil { // the manifest is plain data: this cannot happen
		panic("echorpc: encoding the description: " + err.Error())
	}
	sum := sha256.Sum256(b.Bytes())
	d := &description{funcs: funcs, json: b.Bytes(), hash: base64.RawURLEncoding.EncodeToString(sum[:12])}
	rpc.desc.Store(d)
	return d
}

// tellSkew sets the reply's Wrpc-Description header to the instance's hash
// when the request carries another one: the caller describes the functions
// as they were before a change (a deploy, a new registration), and may
// offer its user a reload before a call fails.
func (rpc *RPC) tellSkew(c echo.Context) {
	sent := c.Request().Header[descriptionHeader]
	if len(sent) == 0 {
		return
	}
	if own := rpc.currentDescription().hash; sent[0] != own {
		c.Response().Header()[descriptionHeader] = []string{own}
	}
}
