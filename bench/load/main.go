// Command load measures, over real sockets, how many requests per second a
// typed echorpc function answers next to a plain Echo handler doing the
// same work: decode a weeRPC request whose data is ten numbers, sum them,
// encode the reply.
//
//	go run ./bench/load                  # 3 rounds of 5 s each, 32 connections
//	go run ./bench/load -conns 64 -rounds 5 -duration 3s
//	go run ./bench/load -endpoints rpc -cpuprofile typed.pprof   # profile the typed path
//	go run ./bench/load -endpoints rpc,plain,static             # and the ceiling
//
// Both endpoints live in one server process; the load comes from another
// (this command starts itself again with -serve), so that the server's
// scheduler and garbage collector see only the server's work. Each
// endpoint has its own connections. After a warm-up of each, a round gives
// each endpoint -duration of load in slices of -slice, taking turns (rpc,
// plain, rpc, plain, ...), so that both see the same machine even when
// other work comes and goes on it; each round's requests per second and
// the typed-to-plain ratio are printed, with the medians last.
//
// The load generator writes pre-built requests on keep-alive connections,
// one request in flight per connection, and reads each response's status
// line, headers and body without allocating: on a small machine, the
// generator's own cost is CPU the server does not get, and a lighter
// generator leaves the measurement to the server.
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

func main() {
	serve := flag.String("serve", "", "only serve, on this address (the command runs itself with it)")
	target := flag.String("target", "", "load this server (host:port) instead of starting one")
	conns := flag.Int("conns", 32, "keep-alive connections")
	rounds := flag.Int("rounds", 3, "rounds of each endpoint, alternated")
	duration := flag.Duration("duration", 5*time.Second, "length of a round")
	slice := flag.Duration("slice", 250*time.Millisecond, "the rounds' slices: the endpoints take turns this long")
	warmup := flag.Duration("warmup", time.Second, "warm-up of each endpoint before the rounds")
	endpoints := flag.String("endpoints", "rpc,plain", `the endpoints to load, in turn: "rpc" (the typed function), "plain" (the Echo handler), "static" (a handler that sends a reply made beforehand: the ceiling)`)
	inProcess := flag.Bool("inprocess", false, "serve from this process instead of a child process")
	cpuprofile := flag.String("cpuprofile", "", "write the server's CPU profile of the rounds to this file")
	flag.Parse()

	if *serve != "" {
		if err := runServer(*serve, *cpuprofile); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(options{
		target: *target, conns: *conns, rounds: *rounds, duration: *duration, slice: *slice, warmup: *warmup,
		endpoints: *endpoints, inProcess: *inProcess, cpuprofile: *cpuprofile,
	}); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

type options struct {
	target     string
	conns      int
	rounds     int
	duration   time.Duration
	slice      time.Duration
	warmup     time.Duration
	endpoints  string
	inProcess  bool
	cpuprofile string
}

func run(o options) error {
	names := strings.Split(o.endpoints, ",")
	for _, name := range names {
		if name != "rpc" && name != "plain" && name != "static" {
			return fmt.Errorf("-endpoints %q: want rpc, plain or static, separated by commas", o.endpoints)
		}
	}
	addr := o.target
	if addr == "" {
		srv, err := startServer(o.inProcess, o.cpuprofile)
		if err != nil {
			return err
		}
		defer srv.stop()
		addr = srv.addr
	}
	var eps []*endpoint
	for _, name := range names {
		ep, err := dial(addr, name, o.conns)
		if err != nil {
			return err
		}
		defer ep.close()
		eps = append(eps, ep)
	}
	fmt.Printf("load: %d connections per endpoint, %d rounds of %v per endpoint in slices of %v alternated, GOMAXPROCS %s, server %s\n",
		o.conns, o.rounds, o.duration, o.slice, gomaxprocs(), serverKind(o))

	for _, ep := range eps {
		if _, _, err := ep.run(o.warmup); err != nil {
			return err
		}
		ep.fresh = slices.Repeat([]bool{true}, len(ep.conns)) // check a fresh answer too
	}
	rates := map[string][]float64{}
	var ratios []float64
	for round := 1; round <= o.rounds; round++ {
		answers := make([]int64, len(eps))
		took := make([]time.Duration, len(eps))
		for took[0] < o.duration {
			for i, ep := range eps {
				n, d, err := ep.run(o.slice)
				if err != nil {
					return err
				}
				answers[i] += n
				took[i] += d
			}
		}
		line := fmt.Sprintf("round %d:", round)
		for i, ep := range eps {
			rate := float64(answers[i]) / took[i].Seconds()
			rates[ep.name] = append(rates[ep.name], rate)
			line += fmt.Sprintf("  %-5s %8.0f req/s", ep.name, rate)
		}
		if len(rates["rpc"]) == round && len(rates["plain"]) == round {
			ratio := rates["rpc"][round-1] / rates["plain"][round-1]
			ratios = append(ratios, ratio)
			line += fmt.Sprintf("  typed/plain %.2f×", ratio)
		}
		fmt.Println(line)
	}
	line := "median: "
	for _, ep := range eps {
		line += fmt.Sprintf("  %-5s %8.0f req/s", ep.name, median(rates[ep.name]))
	}
	if len(ratios) > 0 {
		line += fmt.Sprintf("  typed/plain %.2f× (lowest %.2f×)", median(ratios), slices.Min(ratios))
	}
	fmt.Println(line)
	return nil
}

func serverKind(o options) string {
	switch {
	case o.target != "":
		return o.target
	case o.inProcess:
		return "in this process"
	}
	return "in a child process"
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
