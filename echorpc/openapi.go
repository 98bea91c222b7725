package echorpc

import (
	"net/http"

	"github.com/echo-rpc/wrpc/echorpc/internal/describe"
	"github.com/labstack/echo/v4"
)

// serveOpenAPI answers GET Prefix/openapi.json (with Config.Manifest): an
// OpenAPI 3.1 description of the URLs (see [Query] and urls.go) of the
// functions the caller may call, with the same schemas as the manifest.
// Like the manifest and client.d.ts, it answers for the caller, so it is
// not to be stored.
func (rpc *RPC) serveOpenAPI(c echo.Context) error {
	doc, err := describe.OpenAPI(rpc.describe(c, false))
	if err != nil {
		return err
	}
	setPrivate(c)
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, doc)
}
