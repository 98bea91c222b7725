package echorpc

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/echo-rpc/wrpc"
	"github.com/labstack/echo/v4"
)

// clientAsset is one embedded client file, with everything a reply needs.
// Nothing is computed when the package loads: a program that imports
// echorpc only for its Client pays nothing. The ETag is computed when the
// instance mounts the file, and the gzip variant on its first request that
// accepts gzip.
type clientAsset struct {
	body        []byte
	contentType []string
	etag        []string

	gzipOnce   sync.Once
	gzipped    []byte
	gzipETag   []string
	gzipLength []string
}

// clientAssetSet holds embedded files, loaded on first use.
type clientAssetSet struct {
	names  []string
	once   sync.Once
	assets map[string]*clientAsset
}

// clientAssets are the client's files; consoleAssets the console's, loaded
// only by an instance that serves the console.
var (
	clientAssets  = clientAssetSet{names: wrpc.ClientFiles}
	consoleAssets = clientAssetSet{names: wrpc.ConsoleFiles}
)

// get returns the embedded file name.
func (s *clientAssetSet) get(name string) *clientAsset {
	s.once.Do(s.load)
	a := s.assets[name]
	if a == nil {
		panic("echorpc: the embedded client lacks " + name)
	}
	return a
}

func (s *clientAssetSet) load() {
	s.assets = map[string]*clientAsset{}
	for _, name := range s.names {
		body, ok := wrpc.ClientFile(name)
		if !ok {
			continue // get panics, naming it
		}
		sum := sha256.Sum256(body)
		ct := "text/javascript; charset=utf-8"
		switch {
		case strings.HasSuffix(name, ".map"):
			ct = "application/json"
		case strings.HasSuffix(name, ".css"):
			ct = "text/css; charset=utf-8"
		}
		s.assets[name] = &clientAsset{
			body:        body,
			contentType: []string{ct},
			etag:        []string{`"` + hex.EncodeToString(sum[:12]) + `"`},
		}
	}
}

// gzip returns the gzip variant, compressed on first use.
func (a *clientAsset) gzip() (body []byte, etag, length []string) {
	a.gzipOnce.Do(func() {
		var gz bytes.Buffer
		w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		_, _ = w.Write(a.body)
		_ = w.Close()
		a.gzipped = gz.Bytes()
		a.gzipETag = []string{strings.TrimSuffix(a.etag[0], `"`) + `-gz"`}
		a.gzipLength = []string{strconv.Itoa(gz.Len())}
	})
	return a.gzipped, a.gzipETag, a.gzipLength
}

// The browser client is served at prefix+"/client.js" (a script that
// defines the globals wrpc and weerpc), prefix+"/client.mjs" (an ES
// module) and their source maps, for GET and HEAD (see routes.go).
//
// Replies carry a strong ETag and Cache-Control: no-cache, so browsers keep
// the file and revalidate it cheaply (304) and pick up a new client after an
// upgrade; they are gzipped when the request accepts it.

var (
	headerNoCache      = []string{"no-cache"}
	headerVaryEncoding = []string{echo.HeaderAcceptEncoding}
	headerGzipEncoding = []string{"gzip"}
)

// serve answers with the file, or its gzip variant, through
// http.ServeContent, which answers If-None-Match with 304 and HEAD without
// a body.
func (a *clientAsset) serve(c echo.Context) error {
	r := c.Request()
	body, etag, length := a.body, a.etag, []string(nil)
	gz := acceptsGzip(r.Header.Get(echo.HeaderAcceptEncoding))
	if gz {
		body, etag, length = a.gzip()
	}
	h := c.Response().Header()
	h[echo.HeaderContentType] = a.contentType
	h["Etag"] = etag
	h[echo.HeaderCacheControl] = headerNoCache
	h[echo.HeaderVary] = headerVaryEncoding
	h[echo.HeaderXContentTypeOptions] = headerNoSniff
	if gz {
		// ServeContent leaves an encoded reply's length and ranges to us:
		// the whole gzip body, always.
		h[echo.HeaderContentEncoding] = headerGzipEncoding
		h[echo.HeaderContentLength] = length
		r.Header.Del("Range")
	}
	http.ServeContent(c.Response(), r, "", time.Time{}, bytes.NewReader(body))
	return nil
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
		q := qValue(params)
		if coding != "*" {
			return q > 0 // an explicit gzip entry decides
		}
		ok = q > 0
	}
	return ok
}
