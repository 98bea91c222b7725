// Package wrpc holds the wrpc browser client, bundled from jsclient/ by the
// esbuild step in build/ and embedded, so that a Go program serves it with
// no build step of its own. Package echorpc serves it; see
// github.com/echo-rpc/wrpc/echorpc.
package wrpc

import "embed"

//go:generate go run ./build

//go:embed build/dist/client.js build/dist/client.js.map build/dist/client.mjs build/dist/client.mjs.map build/dist/query.mjs build/dist/query.mjs.map build/dist/files.mjs build/dist/files.mjs.map build/dist/console.js build/dist/console.js.map build/dist/console.css build/dist/channel.mjs build/dist/channel.mjs.map
var dist embed.FS

// ClientFiles are the names of the embedded client files: the script-tag
// build, the ES module, the TanStack Query helpers (an ES module that
// imports nothing), the files chunk that the script loads on its first call
// with a file, the shared stream connection (an ES module that both
// builds load on a page's first stream), and their source maps.
var ClientFiles = []string{"client.js", "client.js.map", "client.mjs", "client.mjs.map", "query.mjs", "query.mjs.map", "files.mjs", "files.mjs.map", "channel.mjs", "channel.mjs.map"}

// ClientFile returns the embedded client file with the given name (one of
// ClientFiles).
func ClientFile(name string) ([]byte, bool) {
	b, err := dist.ReadFile("build/dist/" + name)
	return b, err == nil
}

// ConsoleFiles are the names of the embedded console's files (see
// echorpc.Config.Console): its script, an ES module that imports the
// instance's client.mjs, its source map, and its style sheet.
var ConsoleFiles = []string{"console.js", "console.js.map", "console.css"}
