package echorpc

import (
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readFrame reads a message as decoding it into channelFrame does: the
// same fields where it takes one, and never one that the decoding refuses.
func FuzzChannelFrame(f *testing.F) {
	for _, seed := range []string{
		`{"id":1,"eventId":"8","envelope":{"weerpc":1.1,"ok":true,"message":null,"data":[1,2]}}`,
		`{"id":2,"start":true}`,
		`{"id":3,"end":{"weerpc":1.1,"ok":false,"message":"no","data":null,"status":504}}`,
		`{"id":4,"status":503,"reply":{"weerpc":1.1,"ok":false,"message":"busy","data":null},"retryAfter":1,"full":true}`,
		`{"id":5,"eventId":null,"extra":[{"a":1}],"envelope":"x"}`,
		`{"id":1,"id":2}`,
		`{"id":-1}`,
		`{"id":1.5}`,
		`{"id":"1"}`,
		`{"id":1,"start":"yes"}`,
		`{"id":1}{"id":2}`,
		`{"id":1,"envelope":{"a":1,"a":2}}`,
		"{\"id\":1,\"eventId\":\"\xff\"}",
		`[{"id":1}]`,
		`{"id":1,"eventId":"a\u0000b"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := readOneFrame(b)
		if err != nil {
			return // refused: not a message of ours
		}
		var want channelFrame
		require.NoError(t, jsonv2.Unmarshal(b, &want), "readFrame took what decoding refuses: %s", b)
		assert.Equal(t, &want, got, "%s", b)
	})
}

func TestChannelFrameRefusals(t *testing.T) {
	for _, b := range []string{`{"id":1,"id":2}`, `{"id":-1}`, `{"id":1.5}`, `{"id":"1"}`, `{"id":1,"start":"yes"}`,
		`{"id":1,"envelope":{"a":1,"a":2}}`, "{\"id\":1,\"eventId\":\"\xff\"}", `[{"id":1}]`, `{"id":1`, `{}A`, `{"id":1}{"id":2}`} {
		_, err := readOneFrame([]byte(b))
		assert.Error(t, err, b)
	}
}
