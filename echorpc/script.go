package echorpc

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/echo-rpc/wrpc"
	"github.com/labstack/echo/v4"
)

// clientAsset is one embedded client file, with everything a reply needs
// computed once, at start-up.
type clientAsset struct {
	body, gzipped      []byte
	contentType        []string
	etag, gzipETag     []string
	length, gzipLength []string
}

var clientAssets = loadClientAssets()

func loadClientAssets() map[string]*clientAsset {
	assets := map[string]*clientAsset{}
	for _, name := range wrpc.ClientFiles {
		body, ok := wrpc.ClientFile(name)
		if !ok {
			panic("echorpc: the embedded client lacks " + name)
		}
		var gz bytes.Buffer
		w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		_, _ = w.Write(body)
		_ = w.Close()
		sum := sha256.Sum256(body)
		tag := hex.EncodeToString(sum[:12])
		ct := "text/javascript; charset=utf-8"
		if strings.HasSuffix(name, ".map") {
			ct = "application/json"
		}
		assets[name] = &clientAsset{
			body:        body,
			gzipped:     gz.Bytes(),
			contentType: []string{ct},
			etag:        []string{`"` + tag + `"`},
			gzipETag:    []string{`"` + tag + `-gz"`},
			length:      []string{strconv.Itoa(len(body))},
			gzipLength:  []string{strconv.Itoa(gz.Len())},
		}
	}
	return assets
}

// MountClient serves the browser client at prefix+"/client.js" (a script
// that defines the global wrpc), prefix+"/client.mjs" (an ES module) and
// their source maps, for GET and HEAD. Every instance mounts it at its own
// prefix; mount it elsewhere to serve the client on its own, as in
// MountClient(e, "/static/wrpc").
//
// Replies carry a strong ETag and Cache-Control: no-cache, so browsers keep
// the file and revalidate it cheaply (304) and pick up a new client after an
// upgrade; they are gzipped when the request accepts it.
func MountClient(r Router, prefix string) {
	h := ClientHandler()
	for _, name := range wrpc.ClientFiles {
		r.Add(http.MethodGet, prefix+"/"+name, h)
		r.Add(http.MethodHead, prefix+"/"+name, h)
	}
}

// ClientHandler serves the client file that the request's path ends in
// (client.js, client.mjs, or a source map), and 404 for any other; for
// routes of one's own, such as e.GET("/js/*", echorpc.ClientHandler()).
func ClientHandler() echo.HandlerFunc {
	return func(c echo.Context) error {
		a := clientAssets[path.Base(c.Request().URL.Path)]
		if a == nil {
			return echo.ErrNotFound
		}
		return a.serve(c)
	}
}

var (
	headerNoCache      = []string{"no-cache"}
	headerVaryEncoding = []string{echo.HeaderAcceptEncoding}
	headerGzipEncoding = []string{"gzip"}
)

func (a *clientAsset) serve(c echo.Context) error {
	r := c.Request()
	body, etag, length := a.body, a.etag, a.length
	gz := acceptsGzip(r.Header.Get(echo.HeaderAcceptEncoding))
	if gz {
		body, etag, length = a.gzipped, a.gzipETag, a.gzipLength
	}
	h := c.Response().Header()
	h[echo.HeaderContentType] = a.contentType
	h["Etag"] = etag
	h[echo.HeaderCacheControl] = headerNoCache
	h[echo.HeaderVary] = headerVaryEncoding
	h[echo.HeaderXContentTypeOptions] = headerNoSniff
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, a.etag[0], a.gzipETag[0]) {
		delete(h, echo.HeaderContentType)
		return c.NoContent(http.StatusNotModified)
	}
	if gz {
		h[echo.HeaderContentEncoding] = headerGzipEncoding
	}
	h[echo.HeaderContentLength] = length
	c.Response().WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := c.Response().Write(body)
	return err
}

// etagMatches reports whether an If-None-Match header names one of the
// tags (or is "*"). Weak tags compare by their opaque part, as the weak
// comparison that If-None-Match uses requires.
func etagMatches(header string, tags ...string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" {
			return true
		}
		for _, want := range tags {
			if t == want {
				return true
			}
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip: it
// names gzip (or *) with a q-value above zero, and does not refuse gzip.
func acceptsGzip(header string) bool {
	ok := false
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "x-gzip" && coding != "*" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if coding != "*" {
			return q > 0 // an explicit gzip entry decides
		}
		ok = q > 0
	}
	return ok
}
