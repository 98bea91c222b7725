package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/echo-rpc/wrpc/internal/browsertest"
)

// filesJS runs in Chromium: the ES module's uploads (XMLHttpRequest, with
// progress and abort), a download and save, against /rpc/files.
const filesJS = `(async () => {
  const w = await import("/rpc/files/client.mjs");
  const out = {};
  const seen = [];
  const bytes = new Uint8Array(4 << 20).map((_, i) => i % 251);
  const r = await w.call("upload", { note: "b", file: new File([bytes], "b.bin", { type: "application/octet-stream" }) }, { onUploadProgress: (p) => seen.push(p) });
  out.Name = r.files[0].name;
  out.SHA256 = r.files[0].sha256;
  out.Progress = seen.length;
  out.Loaded = seen.at(-1).loaded;
  out.Total = seen.at(-1).total;
  try {
    await w.createClient("/rpc/files").call("avatar", { image: new File(["not an image"], "a.png", { type: "image/png" }) });
  } catch (err) {
    out.Refused = err.status + " " + err.data.limit + " " + (err instanceof w.WrpcError);
  }
  const stop = new AbortController();
  const big = new Blob([new Uint8Array(24 << 20)]);
  try {
    await w.call("upload", { file: big }, { signal: stop.signal, onUploadProgress: () => stop.abort() });
  } catch (err) {
    out.Aborted = err.status + " " + err.message;
  }
  const file = await w.createClient("/rpc/files").download("report", { name: "résumé.txt", text: "hi" });
  out.Download = file.name + ":" + (await file.text());
  // save clicks an <a download> link to the Blob: record it, and read it back
  const clicked = [];
  HTMLAnchorElement.prototype.click = function () {
    clicked.push(fetch(this.href).then((r) => r.text()).then((text) => this.download + ":" + text));
  };
  w.save(file);
  w.save(new Blob(["other"]), "other.txt");
  out.Saved = (await Promise.all(clicked)).join(" ");
  return out;
})()`

// filesResult is what filesJS answers.
type filesResult struct {
	Name, SHA256, Refused, Aborted, Download, Saved string
	Progress                                        int
	Loaded, Total                                   int64
}

// In a real browser, an upload goes with XMLHttpRequest: it reports its
// progress up to the whole body, a refusal is a WrpcError with its status
// and data, the signal aborts it on its way, and a download is a Blob with
// its name, which save gives the link that saves it.
func TestFilesInChromium(t *testing.T) {
	srv := httptest.NewServer(newServer())
	defer srv.Close()
	ctx := browsertest.New(t, 60*time.Second)
	if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/flaky-count?id=page")); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[filesResult](filesJS, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", got)
	bytes := make([]byte, 4<<20)
	for i := range bytes {
		bytes[i] = byte(i % 251)
	}
	sum := sha256.Sum256(bytes)
	if got.Name != "b.bin" || got.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("upload: %s %s, want b.bin %x", got.Name, got.SHA256, sum)
	}
	if got.Progress < 1 || got.Loaded != got.Total || got.Total < int64(len(bytes)) {
		t.Errorf("progress: %d reports, the last %d of %d", got.Progress, got.Loaded, got.Total)
	}
	if got.Refused != "415 Accept true" {
		t.Errorf("refusal: %q", got.Refused)
	}
	if got.Aborted != "0 Call to upload aborted." {
		t.Errorf("abort: %q", got.Aborted)
	}
	if got.Download != "résumé.txt:hi" {
		t.Errorf("download: %q", got.Download)
	}
	if got.Saved != "résumé.txt:hi other.txt:other" {
		t.Errorf("save: %q", got.Saved)
	}
}
