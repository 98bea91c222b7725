package idempotency_test

import (
	"testing"

	"github.com/echo-rpc/wrpc/echorpc/idempotency"
	"github.com/echo-rpc/wrpc/echorpc/idempotency/internal/storetest"
)

func TestMemoryStoreContract(t *testing.T) {
	storetest.Contract(t, idempotency.NewMemory(0, 0))
}
