// Package describe writes what an echorpc instance says about its
// functions: JSON Schemas of their Go types, the manifest, TypeScript
// declarations and an OpenAPI document. It takes plain data (an [Instance]
// and its [Function]s, already chosen for the caller) and knows nothing of
// requests, sessions or rules beyond their kinds.
package describe

import (
	"reflect"
	"strings"
	"time"
)

// Instance is what the descriptions say of a weeRPC instance.
type Instance struct {
	Name          string // a TypeScript identifier (Config.Name)
	Path          string // the full path of the instance's route
	SessionName   string // the session cookie's name
	TimeoutHeader string // the header that carries a caller's deadline
	MaxBatch      int
	BodyLimit     int64
	MaxInFlight   int
	MaxStreams    int
	Functions     []Function // sorted by name
	// FileType is the Go type that stands for a file (echorpc.File): a
	// binary string in schemas, File | Blob in TypeScript.
	FileType reflect.Type
}

// Function is one function to describe.
type Function struct {
	Name       string
	Doc        string
	In, Out    reflect.Type // nil is any value
	URL        bool         // the name can be a URL segment: the function has its own URL
	Query      bool
	Stream     bool
	Idempotent bool
	MaxAge     time.Duration // a query's max-age
	Rules      *Rules        // nil when no rule guards it
	Allowed    bool          // the caller may call it
	Files      bool          // its input holds files: it takes multipart/form-data
	Download   bool          // it answers with a file, at its own URL
}

// Rules names the kinds of rule that guard a function (the instance's and
// its own), without their values.
type Rules struct {
	Session []string `json:"session,omitempty"` // the session keys it needs
	Host    bool     `json:"host,omitempty"`
	Remote  bool     `json:"remote,omitempty"`
}

// sessionGuarded reports whether a session rule guards f.
func (f *Function) sessionGuarded() bool { return f.Rules != nil && len(f.Rules.Session) > 0 }

// placeGuarded reports whether a host or address rule guards f.
func (f *Function) placeGuarded() bool { return f.Rules != nil && (f.Rules.Host || f.Rules.Remote) }

// queryURL is a query's GET URL, with the placeholder for its data, or ""
// when f has none.
func (f *Function) queryURL(path string) string {
	if !f.Query || !f.URL {
		return ""
	}
	return "GET " + path + "/" + f.Name + "?data=<URL-encoded JSON>"
}

// summary is f's description as the manifest and the TypeScript
// declarations give it: its doc, then for a query the URL it answers GET at.
func (f *Function) summary(path string) string {
	if u := f.queryURL(path); u != "" {
		return joinText(f.Doc, "A query: also at "+u+".")
	}
	return f.Doc
}

// joinText joins two paragraphs, either of which may be empty.
func joinText(a, b string) string {
	return strings.TrimSpace(a + "\n\n" + b)
}
