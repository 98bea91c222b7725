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
}

// mountPages serves GET / (the script-tag page), GET /spa (the ES module
// page) and the static files they use.
func mountPages(e *echo.Echo) error {
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
	e.GET("/", render("index.html", page{Title: "wrpc example", Path: "/"}))
	e.GET("/spa", render("spa.html", page{Title: "wrpc example: ES module", Path: "/spa"}))
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return err
	}
	e.StaticFS("/static", static)
	return nil
}
