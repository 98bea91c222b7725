// Command build bundles the browser client (jsclient/) with esbuild's Go
// API into build/dist/, which is committed and embedded by package wrpc, so
// that no one who uses the Go module needs Node or a build step.
//
//	go run ./build          # write build/dist
//	go run ./build -check   # fail if build/dist differs from the source
//
// go generate ./... runs it. Warnings are errors.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// outDir is where the bundles go, relative to the repository's root.
const outDir = "build/dist"

// targets are the two builds: a script that defines the global wrpc, and an
// ES module.
var targets = []struct {
	entry, out string
	format     api.Format
}{
	{"jsclient/global.ts", "client.js", api.FormatIIFE},
	{"jsclient/module.ts", "client.mjs", api.FormatESModule},
}

func main() {
	check := flag.Bool("check", false, "compare build/dist with a fresh build instead of writing it")
	root := flag.String("root", ".", "the repository's root")
	flag.Parse()
	files, err := bundle(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	if *check {
		if stale := compare(*root, files); len(stale) > 0 {
			fmt.Fprintf(os.Stderr, "build: %s out of date; run go generate ./...\n", strings.Join(stale, ", "))
			os.Exit(1)
		}
		return
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(*root, outDir, name), data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "build:", err)
			os.Exit(1)
		}
	}
}

// bundle builds every target in memory and returns the files by name.
func bundle(root string) (map[string][]byte, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, t := range targets {
		res := api.Build(api.BuildOptions{
			AbsWorkingDir:     abs,
			EntryPoints:       []string{t.entry},
			Outfile:           filepath.Join(outDir, t.out),
			Bundle:            true,
			Format:            t.format,
			Target:            api.ES2020,
			Platform:          api.PlatformBrowser,
			MinifyWhitespace:  true,
			MinifyIdentifiers: true,
			MinifySyntax:      true,
			Sourcemap:         api.SourceMapLinked,
			LegalComments:     api.LegalCommentsNone,
			Charset:           api.CharsetUTF8,
			LogLevel:          api.LogLevelSilent,
			Write:             false,
		})
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

// compare returns the names of the files whose committed copy differs from
// files, and of committed files that the build no longer makes.
func compare(root string, files map[string][]byte) []string {
	var stale []string
	for name, data := range files {
		old, err := os.ReadFile(filepath.Join(root, outDir, name))
		if err != nil || !bytes.Equal(old, data) {
			stale = append(stale, filepath.Join(outDir, name))
		}
	}
	sort.Strings(stale)
	return stale
}
