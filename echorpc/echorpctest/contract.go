// Package echorpctest helps test code that serves echorpc instances. Its
// contract check compares an instance's description with a snapshot
// committed beside the tests, and fails the test on a change that breaks
// the instance's existing callers on the JSON wire:
//
//	func TestContract(t *testing.T) {
//		echorpctest.CheckContract(t, newRPC(), "testdata/rpc.contract.json")
//	}
//
// Run the test with -update-contract (go test -run TestContract
// -args -update-contract), or with WRPC_UPDATE_CONTRACT=1 in the
// environment, to write the snapshot after a change you mean to make.
//
// A change breaks callers when a page or a client built against the
// snapshot would now fail, or would misread a reply:
//
//   - a function removed (a rename is a removal);
//   - its kind changed: it streams or no longer does, it takes files or no
//     longer does, it answers a file or no longer does, it is no longer a
//     query (GET callers break), or no longer idempotent (clients retry it);
//   - a rule added: a session key, a host rule or an address rule;
//   - in its input (what callers send): a field added as required, an
//     optional field made required, a type narrowed (number to integer, a
//     value that may be null that no longer may, any value to one type), an
//     enum value removed or an enum added, a limit tightened (minimum,
//     maximum, length, item counts, a pattern), or a field removed from an
//     object that refuses unknown fields;
//   - in its output (what callers read): a field removed, a field that was
//     always there made optional, a type changed or widened (integer to
//     number, may now be null), or its enum changed (a value removed, or a
//     value added that callers do not know).
//
// Everything else passes: a function added, an optional input field added,
// an output field added, a type widened in the input, a rule removed, a
// doc changed. The test logs these additive changes, so that you can
// update the snapshot.
package echorpctest

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/echorpc/internal/adapter"
)

// update is the flag that rewrites the snapshots. It is not named
// -update, which golden-file tests often define for themselves.
var update = flag.Bool("update-contract", false, "echorpctest: write the contract snapshots instead of checking them")

// updateEnv rewrites the snapshots too, for go test ./... over packages
// that do not all define the flag.
const updateEnv = "WRPC_UPDATE_CONTRACT"

// Description returns rpc's description: what the instance says of all its
// functions, whoever asks (the manifest that a caller allowed every function
// would get, as indented JSON, without its hash). It is what CheckContract
// snapshots, and what the manifest's "hash" is a hash of.
func Description(rpc *echorpc.RPC) []byte { return adapter.Of(rpc).Contract() }

// CheckContract compares rpc's description ([Description])
// with the snapshot in the file at path, and fails t on every change that
// breaks the instance's callers, one error per change, naming the function
// and the field. With -update-contract (or WRPC_UPDATE_CONTRACT=1) it writes
// the description to path instead, creating its folder. A missing snapshot
// fails the test, saying how to write it.
func CheckContract(t testing.TB, rpc *echorpc.RPC, path string) {
	t.Helper()
	now := Description(rpc)
	if *update || os.Getenv(updateEnv) == "1" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("echorpctest: %v", err)
			return
		}
		if err := os.WriteFile(path, now, 0o644); err != nil {
			t.Fatalf("echorpctest: %v", err)
			return
		}
		t.Logf("echorpctest: wrote the contract snapshot %s", path)
		return
	}
	was, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("echorpctest: no contract snapshot: %v; run the test with -update-contract (or %s=1) to write it", err, updateEnv)
		return
	}
	if bytes.Equal(was, now) {
		return
	}
	breaking, additive, err := Compare(was, now)
	if err != nil {
		t.Fatalf("echorpctest: %s: %v", path, err)
		return
	}
	for _, change := range breaking {
		t.Errorf("echorpctest: breaking change: %s", change)
	}
	if len(breaking) > 0 {
		t.Errorf("echorpctest: %d breaking change(s) against %s; if they are meant (every caller is updated), run the test with -update-contract to accept them", len(breaking), path)
	}
	for _, change := range additive {
		t.Logf("echorpctest: additive change: %s", change)
	}
	if len(breaking) == 0 {
		t.Logf("echorpctest: %s differs only in ways existing callers accept; run with -update-contract to record it", path)
	}
}

// Compare compares two descriptions (as [Description] writes
// them), was and now, and returns the changes from was to now that break
// existing callers and those that do not, each a sentence that names the
// function and the field. It fails on JSON that is not a description.
func Compare(was, now []byte) (breaking, additive []string, err error) {
	var a, b manifest
	if err := json.Unmarshal(was, &a); err != nil {
		return nil, nil, fmt.Errorf("the snapshot is not a description: %w", err)
	}
	if err := json.Unmarshal(now, &b); err != nil {
		return nil, nil, fmt.Errorf("the description is not one: %w", err)
	}
	var d diff
	d.functions(&a, &b)
	return d.breaking, d.additive, nil
}
