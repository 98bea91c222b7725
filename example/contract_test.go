package main

import (
	"path/filepath"
	"testing"

	"github.com/echo-rpc/wrpc/echorpc/echorpctest"
	"github.com/stretchr/testify/require"
)

// TestContract fails on a change to the example's functions that would
// break its pages, or a client built against them: see echorpctest. After
// a change meant to break them, run
//
//	go test ./example -run TestContract -args -update-contract
//
// and commit the snapshots in testdata/contract.
func TestContract(t *testing.T) {
	app, err := NewApp(Config{DB: filepath.Join(t.TempDir(), "contract.db"), SessionKeys: testKeys, Addr: "127.0.0.1:8080"})
	require.NoError(t, err)
	t.Cleanup(func() { app.Close() })

	echorpctest.CheckContract(t, app.Tester, "testdata/contract/tester.json")
	echorpctest.CheckContract(t, app.Clients, "testdata/contract/clients.json")
}
