package echorpc

import (
	"net/http"
	"slices"
	"strings"

	"github.com/echo-rpc/wrpc/echorpc/internal/describe"
	"github.com/labstack/echo/v4"
)

// describe gives the describe package the instance and its functions,
// sorted by name, as plain data. With a context, each function says whether
// that caller may call it, and those it may not are left out unless all is
// set.
func (rpc *RPC) describe(c echo.Context, all bool) describe.Instance {
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
	in := describe.Instance{
		Name:          rpc.config.Name,
		Path:          rpc.path,
		SessionName:   rpc.config.SessionName,
		TimeoutHeader: timeoutHeader,
		MaxBatch:      rpc.config.MaxBatch,
		BodyLimit:     rpc.config.BodyLimit,
		MaxInFlight:   rpc.config.MaxInFlight,
		MaxStreams:    rpc.config.MaxStreams,
		FileType:      fileType,
	}
	for _, name := range names {
		fn := funcs[name]
		allowed := who == nil || who.mayCall(rpc, fn) == nil
		if !allowed && !all {
			continue
		}
		input, output := fn.handler.types()
		in.Functions = append(in.Functions, describe.Function{
			Name:       name,
			Doc:        fn.doc,
			In:         input,
			Out:        output,
			URL:        urlName(name),
			Query:      fn.query,
			Stream:     fn.stream,
			Idempotent: fn.idempotent,
			MaxAge:     fn.maxAge,
			Rules:      summarize(rpc.rules, fn.rules),
			Allowed:    allowed,
			Files:      fn.files,
			Download:   fn.download,
		})
	}
	return in
}

// summarize names the kinds of rule that guard a function, without their
// values: the session keys it needs, and whether host or address rules
// apply.
func summarize(instance, fn rules) *describe.Rules {
	var s describe.Rules
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

// serveManifest answers GET Prefix/manifest.json for the caller. Its
// "channel" is the shared stream connection's path (channel.go), absent
// when the instance has none (Config.DisableChannel).
func (rpc *RPC) serveManifest(c echo.Context) error {
	endpoint := strings.TrimSuffix(c.Request().URL.Path, "/manifest.json")
	m := describe.NewManifest(rpc.describe(c, rpc.config.ManifestListAll), endpoint)
	m.Hash = rpc.currentDescription().hash
	if !rpc.config.DisableChannel {
		m.Channel = endpoint + channelPath // clients need not ask for it to learn it is there
	}
	setPrivate(c)
	return c.JSON(http.StatusOK, m)
}

// serveTypeScript answers GET Prefix/client.d.ts for the caller: what
// [RPC.TypeScript] returns, of the functions the caller may call only.
func (rpc *RPC) serveTypeScript(c echo.Context) error {
	ts := describe.TypeScript(rpc.describe(c, false))
	setPrivate(c)
	return c.Blob(http.StatusOK, "application/typescript; charset=utf-8", []byte(ts))
}

// setPrivate marks a per-caller answer as not to be cached or shared.
func setPrivate(c echo.Context) {
	h := c.Response().Header()
	h[echo.HeaderCacheControl] = headerNoStore
	h[echo.HeaderXContentTypeOptions] = headerNoSniff
	h[echo.HeaderVary] = []string{"Cookie"}
}
