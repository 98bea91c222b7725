package topic

import (
	"strconv"
	"strings"
)

// ID is an item's id parsed: "ms-seq", as Redis Streams number entries,
// and as the memory engine numbers them (its start time for ms).
type ID struct{ Ms, Seq uint64 }

// ParseID parses "ms-seq"; ok is false for anything else.
func ParseID(s string) (id ID, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return ID{}, false
	}
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	return ID{ms, seq}, err1 == nil && err2 == nil
}

// Less reports whether id comes before o.
func (id ID) Less(o ID) bool { return id.Ms < o.Ms || id.Ms == o.Ms && id.Seq < o.Seq }

// String formats id as "ms-seq".
func (id ID) String() string {
	return strconv.FormatUint(id.Ms, 10) + "-" + strconv.FormatUint(id.Seq, 10)
}
