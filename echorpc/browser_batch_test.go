package echorpc_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/echo-rpc/wrpc/internal/browsertest"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// In Chromium, the batching client asks for streamed batches, so one slow
// call does not hold back the calls batched with it: of a batch of ten
// where one call takes 1 s and nine take 1 ms, the nine settle long before
// the slow one; and ten calls of 100 ms run at once, so the batch takes
// about 100 ms, not 1 s. Times are measured in the page
// (performance.now, from the tick the calls are made); the test logs them
// and asserts only with a wide margin (the machine may be busy); README's
// figures come from it.
func TestBrowserStreamedBatch(t *testing.T) {
	e := echo.New()
	echorpc.New(e.Group("/rpc/tester"), echorpc.Config{MaxBatch: 10}).Functions(echorpc.Funcs{
		"sleep": echorpc.Func(func(c echo.Context, ms int) (int, error) {
			select {
			case <-time.After(time.Duration(ms) * time.Millisecond):
			case <-c.Request().Context().Done():
			}
			return ms, nil
		}),
	})
	e.GET("/batch", func(c echo.Context) error {
		return c.HTML(200, `<!doctype html><ol id="list"></ol><p id="out">pending</p>
<script src="/rpc/tester/client.js"></script>
<script>
const api = wrpc.createClient("/rpc/tester", { batch: true });
async function run() {
  await api.call("sleep", 1); // a warm connection, as a page has after its first call
  const list = document.getElementById("list");
  let t0 = performance.now();
  const settled = [];
  await Promise.all([1000, 1, 1, 1, 1, 1, 1, 1, 1, 1].map((ms, i) => api.call("sleep", ms).then(() => {
    const at = performance.now() - t0;
    settled.push({ i, ms, at });
    const li = document.createElement("li");
    li.textContent = "call " + i + " (" + ms + " ms) settled at " + at.toFixed(1) + " ms";
    list.append(li);
  })));
  const fast = settled.filter((s) => s.ms == 1).map((s) => s.at);
  const slow = settled.find((s) => s.ms == 1000).at;
  t0 = performance.now();
  await Promise.all(Array.from({ length: 10 }, () => api.call("sleep", 100)));
  const tenOf100 = performance.now() - t0;
  return { fastMax: Math.max(...fast), slow, slowLast: settled[9].ms == 1000, tenOf100 };
}
run().then((r) => document.getElementById("out").textContent = JSON.stringify(r),
  (err) => document.getElementById("out").textContent = "error " + err.message);
</script>`)
	})
	srv := httptest.NewServer(e)
	defer srv.Close()

	ctx := browsertest.New(t, 60*time.Second)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/batch")))
	out := browsertest.Text(t, ctx, "#out", func(s string) bool { return s != "pending" })
	browsertest.Screenshot(t, ctx, "streamed-batch")
	var got struct {
		FastMax, Slow, TenOf100 float64
		SlowLast                bool
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	t.Logf("nine 1 ms calls settled by %.1f ms, the 1 s call at %.1f ms; ten 100 ms calls in %.1f ms", got.FastMax, got.Slow, got.TenOf100)
	assert.True(t, got.SlowLast, "the slow call settled last")
	assert.GreaterOrEqual(t, got.Slow, 1000.0)
	assert.Less(t, got.FastMax, 500.0, "the nine did not wait for the slow one (goal: 100 ms)")
	assert.Less(t, got.TenOf100, 900.0, "ten 100 ms calls ran at once (goal: under 300 ms; one after another takes 1 s)")
}
