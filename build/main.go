// Command build bundles the browser client (jsclient/) with esbuild's Go
// API into build/dist/, which is committed and embedded by package wrpc, so
// that no one who uses the Go module needs Node or a build step. It also
// writes the type declarations in build/dist/types with TypeScript's tsc,
// when node_modules/.bin/tsc is there (npm ci); without it, it says so and
// leaves them.
//
//	go run ./build          # write build/dist
//	go run ./build -check   # fail if build/dist (and its .d.ts, with tsc) differs from the source
//
// go generate ./... runs it. Warnings are errors.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// outDir is where the bundles go, relative to the repository's root, and
// typesDir where tsc's declarations go.
const (
	outDir   = "build/dist"
	typesDir = "build/dist/types"
)

// targets are the builds: a script that defines the globals wrpc and
// weerpc, an ES module, and the TanStack Query helpers (an ES module that
// imports nothing at run time).
//
// The script and the ES module hold the same client, GET for queries
// included; the script is held to a size budget (see build_test.go). The
// TanStack Query helpers are a module of their own, not in the script.
// Files (uploads, downloads) are in the ES module; the script loads them
// from the instance, files.mjs, on its first call with a file. The shared
// stream connection (channel.mjs) is a chunk that both load from the
// instance on a page's first stream.
//
// The console (echorpc.Config.Console) is an ES module that imports the
// instance's own client.mjs at run time (kept external, so the page loads
// the client once, the one the instance serves), and its style sheet.
var targets = []struct {
	entry, out string
	format     api.Format
	external   []string
}{
	{"jsclient/global.ts", "client.js", api.FormatIIFE, nil},
	{"jsclient/module.ts", "client.mjs", api.FormatESModule, nil},
	{"jsclient/query.ts", "query.mjs", api.FormatESModule, nil},
	{"jsclient/files.ts", "files.mjs", api.FormatESModule, nil},
	{"jsclient/channel.ts", "channel.mjs", api.FormatESModule, nil},
	{"jsclient/console/console.ts", "console.js", api.FormatESModule, []string{"./client.mjs"}},
	{"jsclient/console/console.css", "console.css", api.FormatDefault, nil},
}

func main() {
	check := flag.Bool("check", false, "compare build/dist with a fresh build instead of writing it")
	root := flag.String("root", ".", "the repository's root")
	flag.Parse()
	if err := run(*root, *check); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
}

// run writes build/dist under root, or with check compares it with a fresh
// build. The declarations are left out, with a note on stderr, when tsc is
// not installed.
func run(root string, check bool) error {
	files, err := bundle(root)
	if err != nil {
		return err
	}
	dirs := map[string]map[string][]byte{outDir: files}
	if tsc := tscPath(root); tsc == "" {
		fmt.Fprintf(os.Stderr, "build: %s not checked or written: node_modules/.bin/tsc (and node) not found; run npm ci --ignore-scripts\n", typesDir)
	} else if dirs[typesDir], err = declarations(root, tsc); err != nil {
		return err
	}
	if check {
		var stale []string
		for dir, files := range dirs {
			stale = append(stale, compare(filepath.Join(root, dir), dir, files)...)
		}
		if len(stale) > 0 {
			sort.Strings(stale)
			return fmt.Errorf("%s out of date (run go generate ./... to rebuild them)", strings.Join(stale, ", "))
		}
		return nil
	}
	for dir, files := range dirs {
		if err := write(filepath.Join(root, dir), files); err != nil {
			return err
		}
	}
	return nil
}

// write makes dir hold files: it writes them, and removes the other files
// (not folders) in dir.
func write(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if _, ok := files[e.Name()]; !ok && !e.IsDir() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// tscPath returns root's node_modules/.bin/tsc, or "" when it, or the node
// that runs it, is missing.
func tscPath(root string) string {
	tsc, err := filepath.Abs(filepath.Join(root, "node_modules", ".bin", "tsc"))
	if err != nil {
		return ""
	}
	if _, err := os.Stat(tsc); err != nil {
		return ""
	}
	if _, err := exec.LookPath("node"); err != nil {
		return ""
	}
	return tsc
}

// declarations runs tsc on root's tsconfig.json into a temporary folder and
// returns the declaration files it writes, by name.
func declarations(root, tsc string) (map[string][]byte, error) {
	tmp, err := os.MkdirTemp("", "wrpc-dts-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(tsc, "-p", "tsconfig.json", "--outDir", tmp)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("tsc -p tsconfig.json: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() {
			return nil, fmt.Errorf("tsc wrote a folder, %s: keep jsclient/*.ts flat", e.Name())
		}
		if files[e.Name()], err = os.ReadFile(filepath.Join(tmp, e.Name())); err != nil {
			return nil, err
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("tsc wrote no declarations")
	}
	return files, nil
}

// bundle builds every target in memory and returns the files by name.
func bundle(root string) (map[string][]byte, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, t := range targets {
		o := buildOptions(abs, t.format)
		o.EntryPoints = []string{t.entry}
		o.Outfile = filepath.Join(outDir, t.out)
		if t.external != nil {
			o.Plugins = []api.Plugin{external(t.external)}
		}
		if strings.HasSuffix(t.out, ".css") {
			o.Sourcemap = api.SourceMapNone
		}
		res := api.Build(o)
		if msgs := append(res.Errors, res.Warnings...); len(msgs) > 0 {
			text := api.FormatMessages(msgs, api.FormatMessagesOptions{Kind: api.ErrorMessage})
			return nil, fmt.Errorf("%s: %s", t.entry, strings.Join(text, ""))
		}
		for _, f := range res.OutputFiles {
			files[filepath.Base(f.Path)] = f.Contents
		}
	}
	return files, nil
}

// external leaves the imports of the given paths as they are written, to be
// resolved by the browser next to the bundle.
func external(paths []string) api.Plugin {
	return api.Plugin{Name: "external", Setup: func(b api.PluginBuild) {
		b.OnResolve(api.OnResolveOptions{Filter: ".*"}, func(a api.OnResolveArgs) (api.OnResolveResult, error) {
			for _, p := range paths {
				if a.Path == p {
					return api.OnResolveResult{Path: p, External: true}, nil
				}
			}
			return api.OnResolveResult{}, nil
		})
	}}
}

// buildOptions are the esbuild options of every build, for the given
// format, in the folder abs; the caller adds the entry and the output.
func buildOptions(abs string, format api.Format) api.BuildOptions {
	return api.BuildOptions{
		AbsWorkingDir:     abs,
		Bundle:            true,
		Format:            format,
		Target:            api.ES2022, // what AbortSignal.any's browsers (and Node 20.3+) run
		Platform:          api.PlatformBrowser,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		Sourcemap:         api.SourceMapLinked,
		LegalComments:     api.LegalCommentsNone,
		Charset:           api.CharsetUTF8,
		LogLevel:          api.LogLevelSilent,
		Write:             false,
	}
}

// compare returns the names (under name) of the files whose copy in dir
// differs from files or is missing, and of the files in dir (not folders)
// that the build no longer makes.
func compare(dir, name string, files map[string][]byte) []string {
	var stale []string
	for f, data := range files {
		old, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !bytes.Equal(old, data) {
			stale = append(stale, filepath.Join(name, f))
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if _, ok := files[e.Name()]; !ok && !e.IsDir() {
			stale = append(stale, filepath.Join(name, e.Name()))
		}
	}
	sort.Strings(stale)
	return stale
}
