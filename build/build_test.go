package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evanw/esbuild/pkg/api"
)

// The committed bundle is what the current source builds to, so nobody
// ships a stale client. Run go generate ./... after changing jsclient/.
func TestBundleIsFresh(t *testing.T) {
	files, err := bundle("..")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 13 {
		t.Fatalf("built %d files, want client.js, client.mjs, query.mjs, files.mjs, channel.mjs, console.js, their maps and console.css", len(files))
	}
	if stale := compare(filepath.Join("..", outDir), outDir, files); len(stale) > 0 {
		t.Fatalf("%v out of date: run go generate ./... and commit build/dist", stale)
	}
}

// The script-tag bundle stays within 4 KiB gzipped: room for what a round
// adds (files, streamed batches, a shared channel) while the code stays
// readable (see README.md, "The browser client's size").
func TestBundleSize(t *testing.T) {
	const budget = 4096
	js, err := os.ReadFile(filepath.Join("..", outDir, "client.js"))
	if err != nil {
		t.Fatal(err)
	}
	size := gzipped(js)
	t.Logf("client.js: %d bytes, %d gzipped (budget %d)", len(js), size, budget)
	if size > budget {
		t.Fatalf("client.js is %d bytes gzipped, over the %d-byte budget", size, budget)
	}
}

// The plain-call core, an entry that imports only wrpc, call and
// createClient, bundled alone with the same options as the builds, stays
// under 2 KiB gzipped: single calls with retries, the manifest and GET for
// queries. Batching, the stream reader and files (multipart uploads,
// downloads) are add-ons that the builds' entries plug into createClient
// (see jsclient/addons.ts), so they are not in it.
func TestCoreSize(t *testing.T) {
	const budget = 2048
	abs, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	o := buildOptions(abs, api.FormatESModule)
	o.Stdin = &api.StdinOptions{
		Contents:   `export { wrpc, call, createClient } from "./jsclient/wrpc.js";`,
		ResolveDir: abs,
		Sourcefile: "core.ts",
		Loader:     api.LoaderTS,
	}
	o.Outfile = filepath.Join(outDir, "core.mjs")
	res := api.Build(o)
	if msgs := append(res.Errors, res.Warnings...); len(msgs) > 0 {
		t.Fatal(strings.Join(api.FormatMessages(msgs, api.FormatMessagesOptions{Kind: api.ErrorMessage}), ""))
	}
	var js []byte
	for _, f := range res.OutputFiles {
		if filepath.Base(f.Path) == "core.mjs" {
			js = f.Contents
		}
	}
	if len(js) == 0 || !bytes.Contains(js, []byte("createClient")) {
		t.Fatalf("the core build holds no createClient export:\n%s", js)
	}
	size := gzipped(js)
	t.Logf("core (wrpc, call, createClient): %d bytes, %d gzipped (budget: under %d)", len(js), size, budget)
	if size >= budget {
		t.Fatalf("the core is %d bytes gzipped, not under the %d-byte budget", size, budget)
	}
}

// gzipped returns the size of b gzipped at the best compression, as a
// server that compresses its assets once sends it.
func gzipped(b []byte) int {
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	_, _ = w.Write(b)
	_ = w.Close()
	return gz.Len()
}

// GET for queries, batching, streams and files are in both the ES module
// and the script (which loads files from files.mjs); the TanStack Query
// helpers are in neither, and import nothing at run time.
func TestWhatEachBuildHolds(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", outDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	script, module, query, files := read("client.js"), read("client.mjs"), read("query.mjs"), read("files.mjs")
	for name, js := range map[string]string{"client.js": script, "client.mjs": module} {
		if !strings.Contains(js, `"data="`) || !strings.Contains(js, "maxUrl") {
			t.Errorf("%s has no GET for queries", name)
		}
		if !strings.Contains(js, "maxBatch") || !strings.Contains(js, "Last-Event-ID") {
			t.Errorf("%s lacks batching or streams", name)
		}
		if name == "client.js" {
			js = files // the script loads files.mjs
			if !strings.Contains(script, `"files.mjs"`) {
				t.Errorf("client.js does not load files.mjs")
			}
		}
		if !strings.Contains(js, "$file") || !strings.Contains(js, "XMLHttpRequest") || !strings.Contains(js, "Content-Disposition") {
			t.Errorf("%s lacks uploads or downloads", name)
		}
		if strings.Contains(js, "queryKey") {
			t.Errorf("%s holds the TanStack Query helpers", name)
		}
	}
	if !strings.Contains(query, "queryKey") || !strings.Contains(query, "mutationKey") || strings.Contains(query, "import") {
		t.Errorf("query.mjs lacks the helpers, or imports something:\n%s", query)
	}
}

// The source maps name the sources by relative path, so the bundle is the
// same on every machine.
func TestSourceMapsAreRelative(t *testing.T) {
	for name, source := range map[string]string{"client.js.map": "wrpc.ts", "client.mjs.map": "wrpc.ts", "query.mjs.map": "query.ts"} {
		b, err := os.ReadFile(filepath.Join("..", outDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(`"../../jsclient/`+source+`"`)) {
			t.Errorf("%s does not name ../../jsclient/%s", name, source)
		}
		if abs, _ := filepath.Abs(".."); bytes.Contains(b, []byte(abs)) {
			t.Errorf("%s holds the absolute path %s", name, abs)
		}
	}
}

// The committed declarations are what tsc writes from the source, when tsc
// is installed (npm ci).
func TestTypesAreFresh(t *testing.T) {
	tsc := tscPath("..")
	if tsc == "" {
		t.Skip("node_modules/.bin/tsc or node not found: run npm ci --ignore-scripts")
	}
	files, err := declarations("..", tsc)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files["module.d.ts"]; !ok {
		t.Fatalf("tsc wrote %v, no module.d.ts", keys(files))
	}
	if stale := compare(filepath.Join("..", typesDir), typesDir, files); len(stale) > 0 {
		t.Fatalf("%v out of date: run go generate ./... and commit build/dist", stale)
	}
}

// -check fails on a stale declaration file, and passes once the build has
// written the folder again: run on a copy of the sources. compare also
// names missing and extra files.
func TestCheckCoversTypes(t *testing.T) {
	if tscPath("..") == "" {
		t.Skip("node_modules/.bin/tsc or node not found: run npm ci --ignore-scripts")
	}
	root := copySources(t)
	modules, err := filepath.Abs(filepath.Join("..", "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(modules, filepath.Join(root, "node_modules")); err != nil {
		t.Fatal(err)
	}
	dts := filepath.Join(root, typesDir, "wrpc.d.ts")
	if err := os.WriteFile(dts, []byte("// stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(root, true); err == nil || !strings.Contains(err.Error(), "build/dist/types/wrpc.d.ts") {
		t.Fatalf("a stale wrpc.d.ts: the check says %v", err)
	}
	if err := os.WriteFile(filepath.Join(root, typesDir, "old.d.ts"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(root, false); err != nil {
		t.Fatal(err)
	}
	if err := run(root, true); err != nil {
		t.Fatalf("after writing, the check says %v", err)
	}
	files := map[string][]byte{"module.d.ts": nil, "new.d.ts": nil}
	if err := os.WriteFile(filepath.Join(root, typesDir, "old.d.ts"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(compare(filepath.Join(root, typesDir), typesDir, files), " ")
	for _, want := range []string{"types/module.d.ts", "types/new.d.ts", "types/old.d.ts", "types/wrpc.d.ts"} {
		if !strings.Contains(got, want) {
			t.Errorf("compare says %s, want it to name %s", got, want)
		}
	}
}

// Without tsc, the check still covers the bundles and says it skipped the
// declarations.
func TestCheckWithoutTSC(t *testing.T) {
	if got := tscPath(t.TempDir()); got != "" {
		t.Fatalf("tscPath of an empty folder = %q", got)
	}
	root := copySources(t)
	if err := run(root, true); err != nil {
		t.Fatalf("a fresh copy fails the check: %v", err)
	}
	if err := os.WriteFile(filepath.Join(root, outDir, "client.js"), []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(root, true); err == nil || !strings.Contains(err.Error(), "build/dist/client.js") {
		t.Fatalf("a stale bundle: the check says %v", err)
	}
}

func keys(m map[string][]byte) []string {
	var k []string
	for name := range m {
		k = append(k, name)
	}
	return k
}

// copySources copies what the build reads and writes into a new folder,
// and returns it.
func copySources(t *testing.T) string {
	root := t.TempDir()
	for _, p := range []string{"jsclient", outDir, "tsconfig.json", "package.json"} { // package.json: its sideEffects shape the bundles
		copyTree(t, filepath.Join("..", p), filepath.Join(root, p))
	}
	return root
}

// copyTree copies the file or folder from to to.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The console (echorpc.Config.Console) stays within 8 KiB gzipped, its
// script and style sheet together: a page a developer opens, not one every
// visitor loads, but still one that opens at once on a phone. Its script
// imports the instance's client.mjs (kept external), never a copy of it.
func TestConsoleSize(t *testing.T) {
	const budget = 8192
	total := 0
	for _, name := range []string{"console.js", "console.css"} {
		b, err := os.ReadFile(filepath.Join("..", outDir, name))
		if err != nil {
			t.Fatal(err)
		}
		size := gzipped(b)
		t.Logf("%s: %d bytes, %d gzipped", name, len(b), size)
		total += size
		if name == "console.js" && (!strings.HasPrefix(string(b), `import{`) || !strings.Contains(string(b), `from"./client.mjs"`) || strings.Contains(string(b), "Last-Event-ID")) {
			t.Errorf("console.js does not import ./client.mjs, or bundles a copy of the client")
		}
	}
	t.Logf("the console: %d bytes gzipped (budget %d)", total, budget)
	if total > budget {
		t.Fatalf("the console is %d bytes gzipped, over the %d-byte budget", total, budget)
	}
}
