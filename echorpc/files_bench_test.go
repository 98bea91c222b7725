package echorpc_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
)

// BenchmarkUpload100MB uploads one 100 MB file, streamed from a generator,
// through a file function (which reads it back in full), through the same
// function with FileLimits.Stream, and, for the ratios, the same body
// through a plain Echo handler that io.Copies it (to io.Discard, and to a
// temporary file as a hand-written upload would). It reports throughput
// for each and plain/fn ratios (above 1: the function is faster).
func BenchmarkUpload100MB(b *testing.B) {
	const size = 100 << 20
	b.Setenv("TMPDIR", b.TempDir())
	e := echo.New()
	rpc := echorpc.New(e, echorpc.Config{Prefix: "/rpc"})
	upload := echorpc.Func(func(_ echo.Context, in Profile) (int64, error) {
		r, err := in.Avatar.Open()
		if err != nil {
			return 0, err
		}
		defer r.Close()
		return io.Copy(io.Discard, r)
	})
	limits := echorpc.FileLimits{MaxBody: size + 1<<20, MaxFileSize: size}
	rpc.Functions(echorpc.Funcs{"upload": upload}, echorpc.WithFiles(limits))
	limits.Stream = true
	rpc.Functions(echorpc.Funcs{"upload_streamed": upload}, echorpc.WithFiles(limits))
	e.POST("/plain", func(c echo.Context) error {
		n, err := io.Copy(io.Discard, c.Request().Body)
		if err != nil {
			return err
		}
		return c.JSON(200, n)
	})
	e.POST("/plain-file", func(c echo.Context) error {
		mr, err := c.Request().MultipartReader()
		if err != nil {
			return err
		}
		var n int64
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			f, err := createTemp()
			if err != nil {
				return err
			}
			m, err := io.Copy(f, p)
			f.Close()
			removeTemp(f)
			if err != nil {
				return err
			}
			n += m
		}
		return c.JSON(200, n)
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	// One body for every handler, with its Content-Length (as a browser
	// sends a file): the JSON part, then the file's part of size bytes.
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="data"`)
	w, _ := mw.CreatePart(h)
	w.Write([]byte(`{"avatar":{"$file":"a"}}`))
	h = textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="a"; filename="a.bin"`)
	mw.CreatePart(h)
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	post := func(path string) time.Duration {
		body := io.MultiReader(bytes.NewReader(head.Bytes()), &generated{n: size}, strings.NewReader(tail))
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, body)
		req.ContentLength = int64(head.Len()) + size + int64(len(tail))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		start := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("%s: HTTP %d", path, res.StatusCode)
		}
		return time.Since(start)
	}
	var fn, streamed, plain, plainFile time.Duration
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fn += post("/rpc/upload")
		b.StopTimer()
		streamed += post("/rpc/upload_streamed")
		plain += post("/plain")
		plainFile += post("/plain-file")
		b.StartTimer()
	}
	mbps := func(d time.Duration) float64 { return float64(size) * float64(b.N) / d.Seconds() / 1e6 }
	b.ReportMetric(mbps(fn), "fn-MB/s")
	b.ReportMetric(mbps(streamed), "streamed-MB/s")
	b.ReportMetric(mbps(plain), "plain-MB/s")
	b.ReportMetric(mbps(plainFile), "plain-file-MB/s")
	b.ReportMetric(float64(plain)/float64(fn), "ratio-vs-discard")
	b.ReportMetric(float64(plain)/float64(streamed), "streamed-vs-discard")
	b.ReportMetric(float64(plainFile)/float64(fn), "ratio-vs-tempfile")
}

func createTemp() (*os.File, error) { return os.CreateTemp("", "plain-*") }

func removeTemp(f *os.File) { os.Remove(f.Name()) }
