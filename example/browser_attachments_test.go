package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/echo-rpc/wrpc/internal/browsertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The attachments page in a real browser: a PNG uploaded over a throttled
// network, whose progress is seen climbing to 100 %, downloaded back by its
// link with the same bytes, a page of HTML named .png refused with the 415
// envelope shown, and the attachment removed.
func TestBrowserAttachments(t *testing.T) {
	srv := testApp(t, filepath.Join(t.TempDir(), "clients.db"))
	clientID := createClient(t, srv.URL, "Ada Lovelace")
	dir := t.TempDir()
	img := noisePNG(t, 360, 360) // about 500 KiB
	photo := filepath.Join(dir, "photo.png")
	require.NoError(t, os.WriteFile(photo, img, 0o644))
	evil := filepath.Join(dir, "evil.png") // Chromium declares it image/png, by its name
	require.NoError(t, os.WriteFile(evil, []byte("<!doctype html><html><script>alert(1)</script></html>"), 0o644))

	ctx := browsertest.New(t, 120*time.Second)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/attachments"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)),
	))
	option := browsertest.Text(t, ctx, "#attach-client", func(s string) bool { return strings.Contains(s, "Ada Lovelace") })
	assert.Equal(t, fmt.Sprintf("%d: Ada Lovelace", clientID), strings.TrimSpace(option))

	// 128 KiB/s up: the upload takes a few seconds, and the page shows it
	// going.
	browsertest.Throttle(t, ctx, 128<<10, -1)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.CSS("#attach-file"), []string{photo}),
		chromedp.Click(chromedp.CSS("#btn-attach")),
	))
	seen := map[int]bool{}
	percent := regexp.MustCompile(`^(\d+) %$`)
	browsertest.Text(t, ctx, "#attach-percent", func(s string) bool {
		if m := percent.FindStringSubmatch(s); m != nil {
			p, _ := strconv.Atoi(m[1])
			seen[p] = true
		}
		return s == "100 %"
	})
	between := 0
	for p := range seen {
		if p > 0 && p < 100 {
			between++
		}
	}
	t.Logf("progress seen: %v", seen)
	assert.GreaterOrEqual(t, between, 2, "progress seen on its way: %v", seen)
	browsertest.Throttle(t, ctx, -1, -1)
	result := browsertest.Text(t, ctx, "#out-attach", func(s string) bool { return strings.HasPrefix(s, "ok:") || strings.HasPrefix(s, "error") })
	require.Regexp(t, `^ok: \{"attachment_id":\d+,"client_id":`+strconv.FormatInt(clientID, 10)+`,"name":"photo.png","type":"image/png","size":`+strconv.Itoa(len(img))+`,`, result)
	progress, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.getElementById("attach-progress").value`))
	require.NoError(t, err)
	assert.Equal(t, 100.0, progress)

	// The list links the file and shows its thumbnail; the link downloads
	// the very bytes.
	browsertest.Text(t, ctx, "#attachments li a", func(s string) bool { return s == "photo.png" })
	sum, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const link = document.querySelector("#attachments li a");
		const res = await fetch(link.href);
		const digest = await crypto.subtle.digest("SHA-256", await res.arrayBuffer());
		return res.status + " " + res.headers.get("Content-Disposition") + " " + [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
	})()`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	want := sha256.Sum256(img)
	assert.Equal(t, "200 attachment; filename=photo.png "+hex.EncodeToString(want[:]), sum)
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(async () => {
		const img = document.querySelector("#attachments li img.thumb");
		await img.decode();
		return img.naturalWidth === 360;
	})()`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	assert.True(t, loaded, "the thumbnail shows the image")
	browsertest.Screenshot(t, ctx, "example-attachments-uploaded")

	// HTML declared as image/png: refused by its content, the envelope shown.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.CSS("#attach-file"), []string{evil}),
		chromedp.Click(chromedp.CSS("#btn-attach")),
	))
	refused := browsertest.Text(t, ctx, "#out-attach", func(s string) bool { return strings.HasPrefix(s, "error") })
	assert.Regexp(t, `^error 415: A file's type is not accepted: declared "image/png", its content is text/html; accepted: image/png, image/jpeg, image/gif, image/webp, application/pdf\. \{"accept":\[.*\],"limit":"Accept"\}$`, refused)
	browsertest.Screenshot(t, ctx, "example-attachments-refused")

	// Removed: the list is empty again.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#attachments li .remove"))))
	assert.Equal(t, "ok: removed photo.png", browsertest.Text(t, ctx, "#out-remove", func(s string) bool { return strings.HasPrefix(s, "ok") || strings.HasPrefix(s, "error") }))
	// the page reads the list again after it shows the answer
	assert.Eventually(t, func() bool {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#attachments li").length`))
		return err == nil && n == 0
	}, 5*time.Second, 50*time.Millisecond, "the list is empty again")
	browsertest.Screenshot(t, ctx, "example-attachments-removed")
}
