// Package readmetest holds the README's snippets to their word: every Go
// block of README.md, and the quick start of the echorpc package doc, is
// compiled (in a harness that declares what the snippet takes as given),
// the ones with a check are run, and the TypeScript blocks are type-checked
// with the repository's tsc under moduleResolution node16.
//
// A block is named by the HTML comment on the line before it,
// <!-- snippet: NAME -->. A Go block that starts with "package main" is a
// whole program; any other is split into its declarations (lines at column
// 0 that start with func or type, up to their closing brace) and its
// statements, which run in order in func snippet() error. The harness is
// testdata/harness.go, less any declaration the snippet makes itself; when
// testdata/check_NAME.go exists, its main runs the snippet and checks what
// it does, and the test runs it.
package readmetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// block is a fenced code block of the README.
type block struct {
	lang, name, text string
	line             int // of the opening fence
}

var marker = regexp.MustCompile(`^<!-- snippet: ([A-Za-z0-9_.-]+) -->$`)

// readmeBlocks returns the README's fenced blocks, named by their markers.
func readmeBlocks(t *testing.T, root string) []block {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	lines := strings.Split(string(raw), "\n")
	var out []block
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if !strings.HasPrefix(l, "```") || len(l) == 3 {
			continue
		}
		b := block{lang: strings.TrimPrefix(l, "```"), line: i + 1}
		if i > 0 {
			if m := marker.FindStringSubmatch(lines[i-1]); m != nil {
				b.name = m[1]
			}
		}
		var body []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		b.text = strings.Join(body, "\n") + "\n"
		out = append(out, b)
	}
	return out
}

// repoRoot is the module's root, two levels up.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	return root
}

// docQuickStart is the program of the echorpc package doc's "# Quick
// start": its first indented block.
func docQuickStart(t *testing.T, root string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "echorpc", "doc.go"))
	require.NoError(t, err)
	_, after, ok := strings.Cut(string(raw), "// # Quick start\n")
	require.True(t, ok, "doc.go has no # Quick start")
	var prog []string
	for _, l := range strings.Split(after, "\n") {
		if code := strings.HasPrefix(l, "//\t"); code || (l == "//" && len(prog) > 0) {
			prog = append(prog, strings.TrimPrefix(strings.TrimPrefix(l, "//"), "\t"))
		} else if len(prog) > 0 || l != "//" {
			break
		}
	}
	require.NotEmpty(t, prog, "the quick start has no code block")
	return strings.TrimRight(strings.Join(prog, "\n"), "\n") + "\n"
}

// splitSnippet separates a snippet's top-level declarations from its
// statements.
func splitSnippet(text string) (decls, stmts string) {
	var d, s, pending []string
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "//"):
			pending = append(pending, l)
			continue
		case strings.HasPrefix(l, "func ") || strings.HasPrefix(l, "type "):
			d = append(append(d, pending...), l)
			pending = nil
			if strings.HasSuffix(l, "{") || strings.HasSuffix(l, "(") {
				for i++; i < len(lines); i++ {
					d = append(d, lines[i])
					if lines[i] == "}" || lines[i] == ")" {
						break
					}
				}
			}
			d = append(d, "")
			continue
		}
		s = append(append(s, pending...), l)
		pending = nil
	}
	s = append(s, pending...)
	return strings.Join(d, "\n"), strings.Join(s, "\n")
}

// declNames are the names a file's top-level declarations declare.
func declNames(f *ast.File) map[string]bool {
	names := map[string]bool{}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				names[d.Name.Name] = true
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch spec := spec.(type) {
				case *ast.TypeSpec:
					names[spec.Name.Name] = true
				case *ast.ValueSpec:
					for _, n := range spec.Names {
						names[n.Name] = true
					}
				}
			}
		}
	}
	return names
}

// importName is the name a package is imported as by default.
func importName(p string) string {
	base := path.Base(p)
	if len(base) > 1 && base[0] == 'v' && strings.Trim(base[1:], "0123456789") == "" {
		base = path.Base(path.Dir(p))
	}
	return base
}

// program builds the Go program of a snippet.
func program(t *testing.T, root string, b block) []byte {
	t.Helper()
	if strings.HasPrefix(b.text, "package main") {
		return []byte(b.text)
	}
	harness, err := os.ReadFile(filepath.Join(root, "internal", "readmetest", "testdata", "harness.go"))
	require.NoError(t, err)
	decls, stmts := splitSnippet(b.text)
	fset := token.NewFileSet()
	own, err := parser.ParseFile(fset, "", "package main\n"+decls, parser.ParseComments)
	require.NoError(t, err, "README.md:%d: the snippet's declarations:\n%s", b.line, decls)
	mine := declNames(own)

	check := "func main() { _ = snippet }\n"
	if c, err := os.ReadFile(filepath.Join(root, "internal", "readmetest", "testdata", "check_"+b.name+".go")); err == nil {
		_, body, _ := strings.Cut(string(c), "\n")
		check = body
	}
	src := string(harness) + "\n" + decls + "\n// snippet is the README's statements.\nfunc snippet() error {\n" + stmts + "\nreturn nil\n}\n" + check
	f, err := parser.ParseFile(fset, b.name+".go", src, parser.ParseComments)
	require.NoError(t, err, "README.md:%d: the snippet in its harness does not parse", b.line)

	// Drop the harness's declarations that the snippet makes itself, and
	// the imports nothing uses.
	harnessEnd := fset.File(f.Pos()).Pos(len(harness))
	redeclared := func(d ast.Decl) bool {
		for n := range declNames(&ast.File{Decls: []ast.Decl{d}}) {
			if mine[n] {
				return true
			}
		}
		return false
	}
	f.Decls = slices.DeleteFunc(f.Decls, func(d ast.Decl) bool {
		if d.Pos() >= harnessEnd {
			return false
		}
		if g, ok := d.(*ast.GenDecl); ok && g.Tok != token.IMPORT {
			g.Specs = slices.DeleteFunc(g.Specs, func(s ast.Spec) bool {
				return redeclared(&ast.GenDecl{Tok: g.Tok, Specs: []ast.Spec{s}})
			})
			return len(g.Specs) == 0
		}
		return redeclared(d)
	})
	used := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				used[id.Name] = true
			}
		}
		return true
	})
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
			g.Specs = slices.DeleteFunc(g.Specs, func(s ast.Spec) bool {
				is := s.(*ast.ImportSpec)
				p, _ := strconv.Unquote(is.Path.Value)
				name := importName(p)
				if is.Name != nil {
					name = is.Name.Name
				}
				return name != "_" && !used[name]
			})
		}
	}
	f.Comments = nil // they would land anywhere once declarations move
	var out bytes.Buffer
	require.NoError(t, format.Node(&out, fset, f))
	return out.Bytes()
}

// built compiles every Go snippet, and the package doc's quick start, in
// one go build, into dir; it returns the binaries by snippet name.
func built(t *testing.T, root string, snippets []block, dir string) map[string]string {
	t.Helper()
	overlay := map[string]string{}
	var pkgs []string
	bins := map[string]string{}
	for _, b := range snippets {
		src := filepath.Join(dir, "src", b.name+".go")
		require.NoError(t, os.MkdirAll(filepath.Dir(src), 0o755))
		require.NoError(t, os.WriteFile(src, program(t, root, b), 0o644))
		pkg := filepath.Join(root, "internal", "readmetest", "snippets", b.name)
		overlay[filepath.Join(pkg, "main.go")] = src
		pkgs = append(pkgs, "./internal/readmetest/snippets/"+b.name)
		bins[b.name] = filepath.Join(dir, "bin", b.name)
	}
	o, err := json.Marshal(map[string]any{"Replace": overlay})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "overlay.json"), o, 0o644))
	cmd := exec.Command("go", append([]string{"build", "-overlay", filepath.Join(dir, "overlay.json"), "-o", filepath.Join(dir, "bin") + "/"}, pkgs...)...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		// Name the README's line for each failing snippet.
		msg := string(out)
		for _, b := range snippets {
			msg = strings.ReplaceAll(msg, filepath.Join(dir, "src", b.name+".go"), fmt.Sprintf("%s (README.md:%d, program in %s)", b.name, b.line, filepath.Join(dir, "src", b.name+".go")))
		}
		t.Fatalf("the snippets do not compile:\n%s", msg)
	}
	return bins
}

// goSnippets are the README's Go blocks and the package doc's quick start.
func goSnippets(t *testing.T, root string) []block {
	t.Helper()
	snippets := []block{{lang: "go", name: "doc-quick-start", text: docQuickStart(t, root)}}
	seen := map[string]int{}
	for _, b := range readmeBlocks(t, root) {
		if b.lang != "go" {
			continue
		}
		if b.name == "" {
			t.Errorf("README.md:%d: a Go block without a <!-- snippet: NAME --> line before it", b.line)
			continue
		}
		if prev, dup := seen[b.name]; dup {
			t.Errorf("README.md:%d: snippet %q is also at line %d", b.line, b.name, prev)
		}
		seen[b.name] = b.line
		snippets = append(snippets, b)
	}
	return snippets
}

// Every Go snippet of the README, and the package doc's quick start,
// compiles as shown, and the ones with a check do what the text says.
func TestReadmeGoSnippets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every snippet")
	}
	root := repoRoot(t)
	snippets := goSnippets(t, root)
	bins := built(t, root, snippets, t.TempDir())
	blocks := map[string]block{}
	for _, b := range readmeBlocks(t, root) {
		blocks[b.name] = b
	}
	for _, b := range snippets {
		if _, err := os.Stat(filepath.Join("testdata", "check_"+b.name+".go")); err != nil {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var stdout, stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, bins[b.name])
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			require.NoError(t, cmd.Run(), "README.md:%d: %s", b.line, stderr.String())
			if want, ok := outputs[b.name]; ok {
				require.Contains(t, blocks, want, "the README has no %s block", want)
				assert.Equal(t, blocks[want].text, stdout.String(), "README.md:%d: the %s block is not what the %s snippet serves", blocks[want].line, want, b.name)
			}
		})
	}
	t.Run("smallest-server", func(t *testing.T) { smallestServer(t, root, blocks, bins["smallest-server"]) })
}

// outputs names the README block that a snippet's check prints.
var outputs = map[string]string{"types": "tester-api.d.ts"}

// The smallest server listens on another port than the example app the
// README starts just before it, and answers the README's curl as shown.
func smallestServer(t *testing.T, root string, blocks map[string]block, bin string) {
	prog := blocks["smallest-server"]
	m := regexp.MustCompile(`e\.Start\("([^"]+)"\)`).FindStringSubmatch(prog.text)
	require.NotNil(t, m, "README.md:%d: the smallest server starts no server", prog.line)
	addr := m[1]
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	example := regexp.MustCompile(`go run \./example +# then open http://[^:]+:(\d+)`).FindSubmatch(readme)
	require.NotNil(t, example, "the README no longer says where go run ./example listens")
	assert.NotEqual(t, string(example[1]), port, "README.md:%d: the smallest server takes the example app's port", prog.line)

	curl := blocks["smallest-server-curl"]
	cm := regexp.MustCompile(`(?s)curl -s (\S+) .*-d '([^']+)'\n# (\S+)\n`).FindStringSubmatch(curl.text)
	require.NotNil(t, cm, "README.md:%d: no curl and reply in the block", curl.line)
	assert.Equal(t, "localhost:"+port+"/rpc/tester", cm[1], "README.md:%d: the curl goes elsewhere", curl.line)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin)
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	for {
		select {
		case <-exited:
			exited <- nil
			if strings.Contains(out.String(), "address already in use") {
				t.Skipf("port %s is taken on this machine: %s", port, out.String())
			}
			t.Fatalf("the smallest server exited: %s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
		res, err := http.Post("http://"+addr+"/rpc/tester", "application/json", strings.NewReader(cm[2]))
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		assert.Equal(t, cm[3], strings.TrimSpace(string(body)), "README.md:%d", curl.line)
		return
	}
}

// A check file names a snippet the README has: none is left behind when a
// snippet is renamed.
func TestReadmeChecksHaveSnippets(t *testing.T) {
	root := repoRoot(t)
	names := map[string]bool{}
	for _, b := range goSnippets(t, root) {
		names[b.name] = true
	}
	checks, err := filepath.Glob(filepath.Join("testdata", "check_*.go"))
	require.NoError(t, err)
	require.NotEmpty(t, checks)
	for _, c := range checks {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(c), "check_"), ".go")
		assert.True(t, names[name], "%s checks a snippet the README does not have", c)
	}
}

// The README's TypeScript blocks type-check with the repository's tsc under
// moduleResolution node16, against the npm package as published
// (package.json's exports) and the example's generated declarations.
func TestReadmeTypeScript(t *testing.T) {
	root := repoRoot(t)
	tsc := filepath.Join(root, "node_modules", ".bin", "tsc")
	if _, err := os.Stat(tsc); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no node_modules/.bin/tsc: in CI the npm dev packages must be installed (make deps)")
		}
		t.Skip("no node_modules/.bin/tsc (npm ci installs it)")
	}
	dir := t.TempDir()
	write := func(name, text string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	var files []string
	for _, b := range readmeBlocks(t, root) {
		if b.lang != "ts" {
			continue
		}
		if b.name == "" {
			t.Errorf("README.md:%d: a TypeScript block without a <!-- snippet: NAME.ts --> line before it", b.line)
			continue
		}
		require.True(t, strings.HasSuffix(b.name, ".ts"), "README.md:%d: %s is not a .ts name", b.line, b.name)
		write(b.name, b.text)
		files = append(files, b.name)
	}
	require.NotEmpty(t, files)
	clients, err := os.ReadFile(filepath.Join(root, "example", "static", "clients-api.d.ts"))
	require.NoError(t, err)
	write("clients-api.d.ts", string(clients))
	write("package.json", `{"type": "module"}`)
	tsconfig, err := json.Marshal(map[string]any{
		"compilerOptions": map[string]any{
			"module": "node16", "moduleResolution": "node16", "target": "ES2022", "lib": []string{"ES2022", "DOM"},
			"strict": true, "noEmit": true, "types": []string{},
		},
		"files": files,
	})
	require.NoError(t, err)
	write("tsconfig.json", string(tsconfig))
	modules := filepath.Join(dir, "node_modules")
	require.NoError(t, os.MkdirAll(filepath.Join(modules, "@echo-rpc"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(modules, "@tanstack"), 0o755))
	require.NoError(t, os.Symlink(root, filepath.Join(modules, "@echo-rpc", "wrpc")))
	require.NoError(t, os.Symlink(filepath.Join(root, "node_modules", "@tanstack", "query-core"), filepath.Join(modules, "@tanstack", "query-core")))

	cmd := exec.Command(tsc, "-p", dir)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "tsc under moduleResolution node16:\n%s", out)
}
