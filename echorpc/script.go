package echorpc

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/echo-rpc/wrpc"
	"github.com/labstack/echo/v4"
)

// clientAsset is one embedded client file, with everything a reply needs
// computed once, at start-up.
type clientAsset struct {
	body, gzipped  []byte
	contentType    []string
	etag, gzipETag []string
	gzipLength     []string
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
			gzipLength:  []string{strconv.Itoa(gz.Len())},
		}
	}
	return assets
}

// mountClient serves the browser client at prefix+"/client.js" (a script
// that defines the globals wrpc and weerpc), prefix+"/client.mjs" (an ES
// module) and their source maps, for GET and HEAD.
//
// Replies carry a strong ETag and Cache-Control: no-cache, so browsers keep
// the file and revalidate it cheaply (304) and pick up a new client after an
// upgrade; they are gzipped when the request accepts it.
func mountClient(r Router, prefix string) {
	for _, name := range wrpc.ClientFiles {
		a := clientAssets[name]
		r.Add(http.MethodGet, prefix+"/"+name, a.serve)
		r.Add(http.MethodHead, prefix+"/"+name, a.serve)
	}
}

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
	body, etag := a.body, a.etag
	gz := acceptsGzip(r.Header.Get(echo.HeaderAcceptEncoding))
	if gz {
		body, etag = a.gzipped, a.gzipETag
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
		h[echo.HeaderContentLength] = a.gzipLength
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
