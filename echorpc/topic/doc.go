// Package topic fans a topic's items out to the streams that subscribe to
// it: publish an item to a named topic from any instance, and serve a
// stream function ([Serve]) that delivers the topic's items to its
// subscribers, typed end to end, under the function's access rules.
//
// An [Engine] keeps each topic's log: [NewMemory] in one process (the
// default: nothing to install), topicredis on Redis Streams for a fleet.
// Each item's id is the stream's SSE event id, so a client that reconnects
// to any instance resumes from its last id (the Last-Event-ID header).
// When the log cannot fill the gap (retention passed, the log was lost),
// the stream ends with an explicit error event, status 410 ([ErrGap]),
// never with silently skipped items: the caller reads its state again and
// opens a new stream without a last id.
//
// [Live] keeps queries live on top of an engine: a mutation declares the
// queries it invalidates ([Live.Invalidates], [Invalidate]), and the pages
// that hold them, subscribed to the stream of [Live.Serve] under the
// queries' own access rules, refetch them.
//
// Delivery to N subscribers of a topic on one instance starts no goroutine
// per subscriber (each waits in its stream handler on the topic's shared
// [Ring]) and copies no item per subscriber: an item is encoded once, and
// its bytes are shared by every stream that sends it.
package topic
