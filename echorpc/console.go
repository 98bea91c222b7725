package echorpc

import (
	"html"
	"net/http"

	"github.com/echo-rpc/wrpc"
	"github.com/labstack/echo/v4"
)

// The console (Config.Console) is a page at Prefix/console whose embedded
// script (Prefix/console.js, built from jsclient/console/ by build/) reads
// the caller's manifest and calls the functions through the instance's
// client (Prefix/client.mjs). The page itself is a shell: no inline script
// or style, so that a strict Content-Security-Policy allows it.

// consoleName is the path segment the console takes from the function URLs.
const consoleName = "console"

// mountConsole registers the console's page and files; it loads them
// (embedded bytes, hashed for their ETags) only then.
func (rpc *RPC) mountConsole(r Router, prefix string) {
	for _, name := range wrpc.ConsoleFiles {
		rpc.file(r, prefix+"/"+name, consoleAssets.get(name).serve)
	}
	page := []byte(consolePage(rpc.path, rpc.config.Name))
	rpc.file(r, prefix+"/"+consoleName, func(c echo.Context) error {
		h := c.Response().Header()
		h[echo.HeaderCacheControl] = headerNoCache
		h[echo.HeaderXContentTypeOptions] = headerNoSniff
		return c.HTMLBlob(http.StatusOK, page)
	})
}

// consolePage is the console's HTML shell for the instance at path.
func consolePage(path, name string) string {
	p, n := html.EscapeString(path), html.EscapeString(name)
	return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>` + n + ` console</title>
<link rel="stylesheet" href="` + p + `/console.css">
<script type="module" src="` + p + `/console.js"></script>
</head>
<body>
<header><h1>` + n + ` console <code>` + p + `</code></h1><p id="status" role="status">Loading…</p></header>
<div id="console" class="console"><noscript>The console needs JavaScript.</noscript></div>
</body>
</html>
`
}
