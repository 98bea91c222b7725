package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/echo-rpc/wrpc/bench/internal/endpoints"
)

// request is the whole HTTP/1.1 request for path, made once.
func request(path, host string) []byte {
	return []byte("POST /" + path + " HTTP/1.1\r\nHost: " + host +
		"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(endpoints.Body)) +
		"\r\n\r\n" + endpoints.Body)
}

// endpoint is one endpoint's keep-alive connections.
type endpoint struct {
	name  string
	req   []byte
	conns []net.Conn
	reads []*reader
	fresh []bool // the connection's next answer is its first: check the sum
}

// dial opens n connections for the endpoint.
func dial(addr, name string, n int) (*endpoint, error) {
	ep := &endpoint{name: name, req: request(name, addr)}
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			ep.close()
			return nil, err
		}
		ep.conns = append(ep.conns, c)
		ep.reads = append(ep.reads, &reader{r: bufio.NewReaderSize(c, 4096)})
		ep.fresh = append(ep.fresh, true)
	}
	return ep, nil
}

func (ep *endpoint) close() {
	for _, c := range ep.conns {
		c.Close()
	}
}

// run keeps every connection busy for about d, one request in flight on
// each, and returns the answers and the time from the start until the last
// in-flight answer came. Every answer must be a 200; each connection's
// first must hold the sum.
func (ep *endpoint) run(d time.Duration) (int64, time.Duration, error) {
	var done atomic.Int64
	var stop atomic.Bool
	errs := make(chan error, len(ep.conns))
	var wg sync.WaitGroup
	began := time.Now()
	for i, c := range ep.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := ep.reads[i]
			n := int64(0)
			defer func() { done.Add(n) }()
			for !stop.Load() {
				if _, err := c.Write(ep.req); err != nil {
					errs <- err
					return
				}
				if err := r.response(ep.fresh[i]); err != nil {
					errs <- fmt.Errorf("/%s: %w", ep.name, err)
					return
				}
				ep.fresh[i] = false
				n++
			}
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	took := time.Since(began)
	close(errs)
	if err := <-errs; err != nil {
		return 0, 0, err
	}
	return done.Load(), took, nil
}

// reader reads HTTP/1.1 responses without allocating.
type reader struct {
	r    *bufio.Reader
	body [512]byte
}

var (
	status200     = []byte("HTTP/1.1 200 ")
	contentLength = []byte("content-length:")
	chunked       = []byte("transfer-encoding: chunked")
	wantSum       = []byte(endpoints.Sum)
)

// response reads one response; check also looks for the sum in its body.
func (r *reader) response(check bool) error {
	line, err := r.r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, status200) {
		return fmt.Errorf("answered %q", bytes.TrimSpace(line))
	}
	length, isChunked := -1, false
	for {
		line, err := r.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 { // the blank line
			break
		}
		if len(line) > len(contentLength) && asciiEqualFold(line[:len(contentLength)], contentLength) {
			length, err = strconv.Atoi(string(bytes.TrimSpace(line[len(contentLength):])))
			if err != nil {
				return fmt.Errorf("content-length %q", line)
			}
		} else if len(line) >= len(chunked) && asciiEqualFold(line[:len(chunked)], chunked) {
			isChunked = true
		}
	}
	var got []byte
	switch {
	case length >= 0:
		got, err = r.read(length)
	case isChunked:
		got, err = r.chunks()
	default:
		return errors.New("a response without content-length or chunks")
	}
	if err != nil {
		return err
	}
	if check && !bytes.Contains(got, wantSum) {
		return fmt.Errorf("answered %s", got)
	}
	return nil
}

// read reads n bytes of body, keeping the first 512.
func (r *reader) read(n int) ([]byte, error) {
	kept := min(n, len(r.body))
	if _, err := io.ReadFull(r.r, r.body[:kept]); err != nil {
		return nil, err
	}
	if _, err := r.r.Discard(n - kept); err != nil {
		return nil, err
	}
	return r.body[:kept], nil
}

// chunks reads a chunked body, keeping its first chunk.
func (r *reader) chunks() ([]byte, error) {
	var first []byte
	for {
		line, err := r.r.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("chunk size %q", line)
		}
		if size == 0 {
			_, err := r.r.ReadSlice('\n') // no trailers
			return first, err
		}
		chunk, err := r.read(int(size))
		if err != nil {
			return nil, err
		}
		if first == nil {
			first = chunk
		}
		if _, err := r.r.Discard(2); err != nil {
			return nil, err
		}
	}
}

func asciiEqualFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
