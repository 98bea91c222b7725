package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/echo-rpc/wrpc/bench/internal/endpoints"
	"github.com/labstack/echo/v4"
)

// newEcho makes the server: see package endpoints.
func newEcho() *echo.Echo { return endpoints.New() }

// server is a running server, in this process or a child.
type server struct {
	addr string
	stop func()
}

// startServer serves in this process, or starts this command again with
// -serve and reads the address it listens on.
func startServer(inProcess bool, cpuprofile string) (*server, error) {
	if inProcess {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		stopProfile, err := startProfile(cpuprofile)
		if err != nil {
			ln.Close()
			return nil, err
		}
		srv := &http.Server{Handler: newEcho()}
		go func() { _ = srv.Serve(ln) }()
		return &server{addr: ln.Addr().String(), stop: func() {
			stopProfile()
			_ = srv.Close()
		}}, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"-serve", "127.0.0.1:0"}
	if cpuprofile != "" {
		args = append(args, "-cpuprofile", cpuprofile)
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("the server did not start: %w", err)
	}
	return &server{addr: strings.TrimSpace(line), stop: func() {
		// SIGTERM lets the child write its profile.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}}, nil
}

// runServer is the child: it prints its address, serves until SIGTERM or
// SIGINT, then writes its profile.
func runServer(addr, cpuprofile string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	stopProfile, err := startProfile(cpuprofile)
	if err != nil {
		return err
	}
	defer stopProfile()
	srv := &http.Server{Handler: newEcho()}
	fmt.Println(ln.Addr().String())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// startProfile starts a CPU profile into file, if any.
func startProfile(file string) (stop func(), err error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func gomaxprocs() string { return fmt.Sprint(runtime.GOMAXPROCS(0)) }
