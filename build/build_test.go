package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
)

// The committed bundle is what the current source builds to, so nobody
// ships a stale client. Run go generate ./... after changing jsclient/.
func TestBundleIsFresh(t *testing.T) {
	files, err := bundle("..")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Fatalf("built %d files, want client.js, client.mjs and their maps", len(files))
	}
	if stale := compare("..", files); len(stale) > 0 {
		t.Fatalf("%v out of date: run go generate ./... and commit build/dist", stale)
	}
}

// The script-tag bundle stays within 2 KiB gzipped.
func TestBundleSize(t *testing.T) {
	const budget = 2048
	js, err := os.ReadFile(filepath.Join("..", outDir, "client.js"))
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	_, _ = w.Write(js)
	_ = w.Close()
	t.Logf("client.js: %d bytes, %d gzipped (budget %d)", len(js), gz.Len(), budget)
	if gz.Len() > budget {
		t.Fatalf("client.js is %d bytes gzipped, over the %d-byte budget", gz.Len(), budget)
	}
}

// The source maps name the sources by relative path, so the bundle is the
// same on every machine.
func TestSourceMapsAreRelative(t *testing.T) {
	for _, name := range []string{"client.js.map", "client.mjs.map"} {
		b, err := os.ReadFile(filepath.Join("..", outDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(`"../../jsclient/wrpc.ts"`)) {
			t.Errorf("%s does not name ../../jsclient/wrpc.ts", name)
		}
		if abs, _ := filepath.Abs(".."); bytes.Contains(b, []byte(abs)) {
			t.Errorf("%s holds the absolute path %s", name, abs)
		}
	}
}
