package echorpc

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
)

// description is one function in the manifest.
type description struct {
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	Idempotent  bool         `json:"idempotent"`
	Stream      bool         `json:"stream,omitempty"`
	Query       bool         `json:"query,omitempty"`
	Allowed     bool         `json:"allowed"`
	Rules       *ruleSummary `json:"rules,omitempty"`
	Input       *schema      `json:"input"`
	Output      *schema      `json:"output"`
}

// ruleSummary names the kinds of rule that guard a function, without their
// values: the session keys it needs, and whether host or address rules apply.
type ruleSummary struct {
	Session []string `json:"session,omitempty"`
	Host    bool     `json:"host,omitempty"`
	Remote  bool     `json:"remote,omitempty"`
}

// manifest is what GET Prefix/manifest.json answers.
type manifest struct {
	Name      string             `json:"name"`
	Endpoint  string             `json:"endpoint"`
	Protocol  string             `json:"protocol"`
	MaxBatch  int                `json:"maxBatch"`
	Functions []description      `json:"functions"`
	Defs      map[string]*schema `json:"$defs,omitempty"`
}

// describe describes the functions, sorted by name. With a context, each
// says whether that caller may call it, and those it may not are left out
// unless all is set.
func (rpc *RPC) describe(c echo.Context, all bool) ([]description, *schemaGen) {
	funcs := *rpc.funcs.Load()
	names := make([]string, 0, len(funcs))
	for name := range funcs {
		names = append(names, name)
	}
	slices.Sort(names)

	var who *caller
	if c != nil {
		who = &caller{c: c, sessionName: rpc.config.SessionName}
	}
	gen := newSchemaGen()
	var out []description
	for _, name := range names {
		fn := funcs[name]
		allowed := who == nil || who.check(&rpc.rules) == nil && who.check(&fn.rules) == nil
		if !allowed && !all {
			continue
		}
		in, outType := fn.handler.types()
		out = append(out, description{
			Name:        name,
			Description: fn.doc,
			Idempotent:  fn.idempotent,
			Stream:      fn.stream,
			Query:       fn.query,
			Allowed:     allowed,
			Rules:       summarize(rpc.rules, fn.rules),
			Input:       gen.of(in),
			Output:      gen.of(outType),
		})
	}
	return out, gen
}

func summarize(instance, fn rules) *ruleSummary {
	var s ruleSummary
	for _, rs := range []rules{instance, fn} {
		for _, r := range rs.session {
			if !slices.Contains(s.Session, r.key) {
				s.Session = append(s.Session, r.key)
			}
		}
		s.Host = s.Host || len(rs.hosts) > 0
		s.Remote = s.Remote || len(rs.remote) > 0
	}
	if s.Session == nil && !s.Host && !s.Remote {
		return nil
	}
	return &s
}

// serveManifest answers GET Prefix/manifest.json for the caller.
func (rpc *RPC) serveManifest(c echo.Context) error {
	fns, gen := rpc.describe(c, rpc.config.ManifestListAll)
	if fns == nil {
		fns = []description{}
	}
	m := manifest{
		Name:      rpc.config.Name,
		Endpoint:  strings.TrimSuffix(c.Request().URL.Path, "/manifest.json"),
		Protocol:  "weerpc/1.1",
		MaxBatch:  rpc.config.MaxBatch,
		Functions: fns,
		Defs:      gen.defs,
	}
	setPrivate(c)
	return c.JSON(http.StatusOK, m)
}

// serveTypeScript answers GET Prefix/client.d.ts with what
// [RPC.TypeScript] returns: the same for every caller.
func (rpc *RPC) serveTypeScript(c echo.Context) error {
	h := c.Response().Header()
	h[echo.HeaderCacheControl] = headerNoCache
	h[echo.HeaderXContentTypeOptions] = headerNoSniff
	return c.Blob(http.StatusOK, "application/typescript; charset=utf-8", []byte(rpc.TypeScript()))
}

// setPrivate marks a per-caller answer as not to be cached or shared.
func setPrivate(c echo.Context) {
	h := c.Response().Header()
	h[echo.HeaderCacheControl] = headerNoStore
	h[echo.HeaderXContentTypeOptions] = headerNoSniff
	h[echo.HeaderVary] = []string{"Cookie"}
}
