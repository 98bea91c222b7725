package echorpctest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/echorpctest"
	"github.com/labstack/echo/v4"
)

// The Go types of a function before and after a change.
type (
	person    struct{ Name string }
	personAge struct {
		Name string
		Age  int
	}
	personOptionalAge struct {
		Name string
		Age  int `json:",omitzero"`
	}
	personNoName struct{}
	optionalName struct {
		Name string `json:",omitzero"`
	}
	count     struct{ N float64 }
	countInt  struct{ N int }
	maybeName struct{ Name *string }
	tree      struct{ Kids []tree }
	treeNamed struct {
		Kids []treeNamed
		Name string `json:",omitzero"`
	}
	stamp struct{ At time.Time }
)

func fn[In, Out any]() echorpc.Handler {
	return echorpc.Func(func(echo.Context, In) (Out, error) { var out Out; return out, nil })
}

func stream[In, Out any]() echorpc.Handler {
	return echorpc.Stream(func(echo.Context, In, func(string, Out) error) error { return nil })
}

func download[In any]() echorpc.Handler {
	return echorpc.Func(func(echo.Context, In) (*echorpc.File, error) { return nil, nil })
}

type upload struct {
	Name string
	File echorpc.File
}

// instance is one side of a change: the function f registered alone
// (beside an unchanged one), with opts.
type instance struct {
	f    echorpc.Handler
	opts []echorpc.Option
}

func (in instance) rpc() *echorpc.RPC {
	rpc := echorpc.New(echo.New().Group("/rpc"), echorpc.Config{})
	rpc.Functions(echorpc.Funcs{"same": fn[person, person]()})
	rpc.Functions(echorpc.Funcs{"f": in.f}, in.opts...)
	return rpc
}

// recorder is a testing.TB that keeps what a check says.
type recorder struct {
	testing.TB
	errors, logs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }
func (r *recorder) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

// check snapshots was, checks now against it, and returns what it said.
func check(t *testing.T, was, now instance) *recorder {
	t.Helper()
	path := filepath.Join(t.TempDir(), "contract.json")
	if err := os.WriteFile(path, echorpctest.Description(was.rpc()), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &recorder{TB: t}
	echorpctest.CheckContract(r, now.rpc(), path)
	return r
}

func TestBreakingChanges(t *testing.T) {
	cases := []struct {
		name     string
		was, now instance
		expect   string // what the breaking change's error says
	}{
		{"function-removed", instance{f: fn[person, string]()}, instance{f: nil}, "f: function removed"},
		{"now-a-stream", instance{f: fn[person, string]()}, instance{f: stream[person, string]()}, "f: kind changed: now streams"},
		{"no-longer-a-stream", instance{f: stream[person, string]()}, instance{f: fn[person, string]()}, "f: kind changed: no longer streams"},
		{"now-takes-files", instance{f: fn[person, string]()}, instance{f: fn[upload, string]()}, "f: kind changed: now takes files"},
		{"now-answers-a-file", instance{f: fn[person, string]()}, instance{f: download[person]()}, "f: kind changed: now answers a file"},
		{"no-longer-a-query", instance{f: fn[person, string](), opts: []echorpc.Option{echorpc.Query(0)}}, instance{f: fn[person, string]()}, "f: kind changed: no longer is a query"},
		{"no-longer-idempotent", instance{f: fn[person, string](), opts: []echorpc.Option{echorpc.Idempotent()}}, instance{f: fn[person, string]()}, "f: kind changed: no longer is idempotent"},
		{"input-field-added-as-required", instance{f: fn[person, string]()}, instance{f: fn[personAge, string]()}, "f: input.Age: input field added as required"},
		{"input-field-made-required", instance{f: fn[optionalName, string]()}, instance{f: fn[person, string]()}, "f: input.Name: input field made required"},
		{"input-type-narrowed-number-to-integer", instance{f: fn[count, string]()}, instance{f: fn[countInt, string]()}, "f: input.N: type narrowed: a number no longer accepted"},
		{"input-type-narrowed-null", instance{f: fn[maybeName, string]()}, instance{f: fn[person, string]()}, "f: input.Name: type narrowed: null no longer accepted"},
		{"input-type-narrowed-any", instance{f: fn[any, string]()}, instance{f: fn[person, string]()}, "f: input: type narrowed: any value no longer accepted"},
		{"input-type-changed", instance{f: fn[string, string]()}, instance{f: fn[[]string, string]()}, "f: input: type narrowed: a string no longer accepted"},
		{"output-field-removed", instance{f: fn[person, personAge]()}, instance{f: fn[person, person]()}, "f: output.Age: output field removed"},
		{"output-field-made-optional", instance{f: fn[person, personAge]()}, instance{f: fn[person, personOptionalAge]()}, "f: output.Age: output field made optional"},
		{"output-type-changed", instance{f: fn[person, int]()}, instance{f: fn[person, string]()}, "f: output: type changed: it may now be a string"},
		{"output-type-widened", instance{f: fn[person, countInt]()}, instance{f: fn[person, count]()}, "f: output.N: type changed: it may now be a number"},
		{"output-may-be-null", instance{f: fn[person, person]()}, instance{f: fn[person, maybeName]()}, "f: output.Name: type changed: it may now be null"},
		{"output-format-changed", instance{f: fn[person, stamp]()}, instance{f: fn[person, person]()}, "f: output.At: output field removed"},
		{"rule-added-session", instance{f: fn[person, string]()}, instance{f: fn[person, string](), opts: []echorpc.Option{echorpc.WithSessionAuth("logged_in", true)}}, `f: rule added: the session key "logged_in"`},
		{"rule-added-host", instance{f: fn[person, string]()}, instance{f: fn[person, string](), opts: []echorpc.Option{echorpc.WithHostAuth("example.com")}}, "f: rule added: a host rule"},
		{"rule-added-address", instance{f: fn[person, string]()}, instance{f: fn[person, string](), opts: []echorpc.Option{echorpc.WithRemoteAuth("10.0.0.0/8")}}, "f: rule added: an address rule"},
		{"recursive-type-changed", instance{f: fn[person, tree]()}, instance{f: fn[person, treeNamed]()}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.now.f == nil {
				tc.now.f = fn[string, string]()
				r := checkRemoved(t, tc.was)
				expectBreak(t, r, tc.expect)
				return
			}
			r := check(t, tc.was, tc.now)
			if tc.expect == "" {
				if len(r.errors) > 0 {
					t.Fatalf("expected no breaking change, got %q", r.errors)
				}
				return
			}
			expectBreak(t, r, tc.expect)
		})
	}
}

// checkRemoved checks an instance without f against a snapshot with it.
func checkRemoved(t *testing.T, was instance) *recorder {
	path := filepath.Join(t.TempDir(), "contract.json")
	if err := os.WriteFile(path, echorpctest.Description(was.rpc()), 0o644); err != nil {
		t.Fatal(err)
	}
	now := echorpc.New(echo.New().Group("/rpc"), echorpc.Config{})
	now.Functions(echorpc.Funcs{"same": fn[person, person](), "g": fn[person, string]()})
	r := &recorder{TB: t}
	echorpctest.CheckContract(r, now, path)
	return r
}

func expectBreak(t *testing.T, r *recorder, expect string) {
	t.Helper()
	for _, e := range r.errors {
		if strings.Contains(e, expect) {
			return
		}
	}
	t.Fatalf("expected a breaking change %q, got errors %q", expect, r.errors)
}

func TestAdditiveChangesPass(t *testing.T) {
	cases := []struct {
		name     string
		was, now instance
		expect   string // the additive change it logs
	}{
		{"optional-input-field-added", instance{f: fn[personNoName, string]()}, instance{f: fn[optionalName, string]()}, "f: input.Name: optional input field added"},
		{"input-field-removed", instance{f: fn[person, string]()}, instance{f: fn[personNoName, string]()}, "f: input.Name: input field removed"},
		{"output-field-added", instance{f: fn[person, person]()}, instance{f: fn[person, personAge]()}, "f: output.Age: output field added"},
		{"input-widened-integer-to-number", instance{f: fn[countInt, string]()}, instance{f: fn[count, string]()}, ""},
		{"input-may-be-null", instance{f: fn[person, string]()}, instance{f: fn[maybeName, string]()}, ""},
		{"input-takes-any-value", instance{f: fn[person, string]()}, instance{f: fn[any, string]()}, ""},
		{"output-made-required", instance{f: fn[person, personOptionalAge]()}, instance{f: fn[person, personAge]()}, ""},
		{"now-a-query", instance{f: fn[person, string]()}, instance{f: fn[person, string](), opts: []echorpc.Option{echorpc.Query(0)}}, "f: now is a query"},
		{"now-idempotent", instance{f: fn[person, string]()}, instance{f: fn[person, string](), opts: []echorpc.Option{echorpc.Idempotent()}}, "f: now is idempotent"},
		{"rule-removed", instance{f: fn[person, string](), opts: []echorpc.Option{echorpc.WithSessionAuth("logged_in", true)}}, instance{f: fn[person, string]()}, `f: rule removed: the session key "logged_in"`},
		{"doc-changed", instance{f: fn[person, string](), opts: []echorpc.Option{echorpc.WithDoc("old")}}, instance{f: fn[person, string](), opts: []echorpc.Option{echorpc.WithDoc("new")}}, ""},
		{"function-added", instance{f: fn[person, string]()}, instance{f: fn[person, string]()}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := check(t, tc.was, tc.now)
			if len(r.errors) > 0 {
				t.Fatalf("expected the change to pass, got %q", r.errors)
			}
			if tc.expect == "" {
				return
			}
			for _, l := range r.logs {
				if strings.Contains(l, tc.expect) {
					return
				}
			}
			t.Fatalf("expected the log to name %q, got %q", tc.expect, r.logs)
		})
	}
}

func TestFunctionAddedIsLogged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "contract.json")
	if err := os.WriteFile(path, echorpctest.Description(instance{f: fn[person, string]()}.rpc()), 0o644); err != nil {
		t.Fatal(err)
	}
	now := instance{f: fn[person, string]()}.rpc()
	now.Functions(echorpc.Funcs{"extra": fn[person, string]()})
	r := &recorder{TB: t}
	echorpctest.CheckContract(r, now, path)
	if len(r.errors) > 0 || !strings.Contains(strings.Join(r.logs, "\n"), "extra: function added") {
		t.Fatalf("errors %q, logs %q", r.errors, r.logs)
	}
}

func TestSnapshotMissingSaysHowToWriteIt(t *testing.T) {
	r := &recorder{TB: t}
	echorpctest.CheckContract(r, instance{f: fn[person, string]()}.rpc(), filepath.Join(t.TempDir(), "none.json"))
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "-update-contract") {
		t.Fatalf("errors %q", r.errors)
	}
}

func TestUpdateWritesTheSnapshot(t *testing.T) {
	t.Setenv("WRPC_UPDATE_CONTRACT", "1")
	path := filepath.Join(t.TempDir(), "testdata", "contract.json")
	rpc := instance{f: fn[person, string]()}.rpc()
	r := &recorder{TB: t}
	echorpctest.CheckContract(r, rpc, path)
	got, err := os.ReadFile(path)
	if err != nil || string(got) != string(echorpctest.Description(rpc)) || len(r.errors) > 0 {
		t.Fatalf("snapshot %q, err %v, errors %q", got, err, r.errors)
	}
}

// The rules that the Go types above cannot show: enums and limits, which
// come from validate tags or a hand-written description.
func TestCompareEnumsAndLimits(t *testing.T) {
	doc := func(input, output string) []byte {
		return []byte(`{"functions":[{"name":"f","idempotent":false,"input":` + input + `,"output":` + output + `}]}`)
	}
	cases := []struct {
		name               string
		was, now           []byte
		breaking, additive string
	}{
		{"input-enum-value-removed", doc(`{"type":"string","enum":["a","b"]}`, `{}`), doc(`{"type":"string","enum":["a"]}`, `{}`), `f: input: enum value "b" removed`, ""},
		{"input-enum-value-added", doc(`{"type":"string","enum":["a"]}`, `{}`), doc(`{"type":"string","enum":["a","b"]}`, `{}`), "", `f: input: enum value "b" added`},
		{"input-enum-added", doc(`{"type":"string"}`, `{}`), doc(`{"type":"string","enum":["a"]}`, `{}`), `f: input: enum added`, ""},
		{"output-enum-value-removed", doc(`{}`, `{"type":"string","enum":["a","b"]}`), doc(`{}`, `{"type":"string","enum":["a"]}`), `f: output: enum value "b" removed`, ""},
		{"output-enum-value-added", doc(`{}`, `{"type":"string","enum":["a"]}`), doc(`{}`, `{"type":"string","enum":["a","b"]}`), `f: output: enum value "b" added`, ""},
		{"input-maximum-lowered", doc(`{"type":"integer","maximum":10}`, `{}`), doc(`{"type":"integer","maximum":5}`, `{}`), "f: input: maximum lowered to 5", ""},
		{"input-minimum-added", doc(`{"type":"integer"}`, `{}`), doc(`{"type":"integer","minimum":1}`, `{}`), "f: input: minimum raised to 1", ""},
		{"input-max-length-raised", doc(`{"type":"string","maxLength":5}`, `{}`), doc(`{"type":"string","maxLength":10}`, `{}`), "", ""},
		{"input-pattern-added", doc(`{"type":"string"}`, `{}`), doc(`{"type":"string","pattern":"^a"}`, `{}`), `f: input: pattern changed to "^a"`, ""},
		{"input-closed", doc(`{"type":"object","properties":{}}`, `{}`), doc(`{"type":"object","properties":{},"additionalProperties":false}`, `{}`), "f: input: unknown fields now refused", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			breaking, additive, err := echorpctest.Compare(tc.was, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			if tc.breaking == "" && len(breaking) > 0 || tc.breaking != "" && !containsLine(breaking, tc.breaking) {
				t.Fatalf("expected breaking %q, got %q", tc.breaking, breaking)
			}
			if tc.additive != "" && !containsLine(additive, tc.additive) {
				t.Fatalf("expected additive %q, got %q", tc.additive, additive)
			}
		})
	}
}

func containsLine(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func TestCompareRefusesWhatIsNotADescription(t *testing.T) {
	if _, _, err := echorpctest.Compare([]byte("<html>"), []byte("{}")); err == nil {
		t.Fatal("expected an error")
	}
}
