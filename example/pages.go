package main

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// page is what the templates get.
type page struct {
	Title string
	Path  string
	// Local is the URL of the -addr host, the only one where the host-guarded
	// functions answer.
	Local string
}

// mountPages serves GET / (the script-tag page), GET /spa (the ES module
// page), GET /live (many live views on one connection), GET /attachments (the clients' files) and the static files they
// use. local is the -addr host, which the pages name as the one where the
// host-guarded functions answer.
func mountPages(e *echo.Echo, local string) error {
	tmpl, err := template.ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return err
	}
	render := func(name string, p page) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
			c.Response().WriteHeader(http.StatusOK)
			return tmpl.ExecuteTemplate(c.Response(), name, p)
		}
	}
	e.GET("/", render("index.html", page{Title: "wrpc example", Path: "/", Local: local}))
	e.GET("/spa", render("spa.html", page{Title: "wrpc example: ES module", Path: "/spa", Local: local}))
	e.GET("/live", render("live.html", page{Title: "wrpc example: live views", Path: "/live", Local: local}))
	e.GET("/attachments", render("attachments.html", page{Title: "wrpc example: attachments", Path: "/attachments", Local: local}))
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return err
	}
	e.StaticFS("/static", static)
	return nil
}
