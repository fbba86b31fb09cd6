package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb/internal/testenv"
)

// The tests of this file run the command as a user does: the binary that
// go build makes of this package, in a process of its own, stopped by a
// signal.

// oauthdbBinary builds the command into the test's temporary directory,
// which goes with the test. Each test builds its own: go's build cache
// makes all but the first a link, and no two test runs share a file.
func oauthdbBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "oauthdb")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// child is the command running in a process of its own.
type child struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

// banner is what the sample's start-up banner says: the curl command and
// what it holds.
type banner struct {
	curl, id, secret, token, url string
}

var curlLine = regexp.MustCompile(`(?m)^  (curl -s -u '([^':]+):([^']+)' -d 'token=([^']+)' (http://\S+))$`)

// startChild starts the command with args and waits for its banner.
func startChild(t *testing.T, args ...string) (*child, banner) {
	t.Helper()
	c := &child{cmd: exec.Command(oauthdbBinary(t), args...), stderr: &syncBuffer{}, done: make(chan error, 1)}
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := curlLine.FindStringSubmatch(c.stderr.String()); m != nil {
			return c, banner{curl: m[1], id: m[2], secret: m[3], token: m[4], url: m[5]}
		}
		select {
		case err := <-c.done:
			c.done <- err
			t.Fatalf("the command ended before its banner: %v\n%s", err, c.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no curl command in the banner:\n%s", c.stderr)
	return nil, banner{}
}

// wait waits for the command to end and returns its exit code.
func (c *child) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-c.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatalf("the command did not end:\n%s", c.stderr)
		return -1
	}
}

// TestServeDefaultCurl starts the command with nothing but an address, runs
// the curl command its banner prints, as it is printed, and checks the
// answer; then it checks that the banner is the only place the sample's
// credentials were ever written.
func TestServeDefaultCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		testenv.Missing(t, "curl is not on PATH: install curl, to run the command serve prints")
	}
	c, b := startChild(t, "serve", "-listen", "127.0.0.1:0")
	if !strings.Contains(c.stderr.String(), "sample credentials") {
		t.Errorf("the banner does not say its credentials are samples:\n%s", c.stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sh", "-c", b.curl).Output()
	if err != nil {
		t.Fatalf("%s: %v", b.curl, err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("curl's answer: %q: %v", out, err)
	}
	iss := strings.TrimSuffix(b.url, pathIntrospect)
	if got["active"] != true || got["client_id"] != sampleAPI || got["iss"] != iss || got["sub"] == nil || got["sid"] == nil {
		t.Errorf("curl's answer: %s", out)
	}
	// More requests, errors among them, then a clean stop.
	for _, body := range []string{"token=nope", "token="} {
		res, err := http.Post(b.url, "application/x-www-form-urlencoded", strings.NewReader(body+"&client_id="+b.id+"&client_secret="+b.secret))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := c.wait(t); code != exitOK {
		t.Errorf("exit %d after SIGINT:\n%s", code, c.stderr)
	}
	stderr := c.stderr.String()
	for _, cred := range []string{b.secret, b.token} {
		if n := strings.Count(stderr, cred); n != 1 {
			t.Errorf("a sample credential appears %d times on stderr, want once (the banner):\n%s", n, stderr)
		}
	}
}

// TestServeSIGTERM sends SIGTERM while a request is in flight: the server
// stops accepting connections at once, the request still gets its answer,
// and the process exits 0.
func TestServeSIGTERM(t *testing.T) {
	c, b := startChild(t, "serve", "-listen", "127.0.0.1:0")
	addr := strings.TrimPrefix(strings.TrimSuffix(b.url, pathIntrospect), "http://")
	smp := &sample{secrets: map[string]string{sampleAPI: b.secret}}
	body := "token=" + b.token
	conn := sendHead(t, addr, smp, len(body)) // its handler is now reading the body
	defer conn.Close()

	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The listener closes first: once a new connection is refused, the
	// shutdown is under way with the request still in flight.
	deadline := time.Now().Add(10 * time.Second)
	for {
		probe, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		probe.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections 10 s after SIGTERM")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request in flight got no answer: %v\n%s", err, c.stderr)
	}
	var got map[string]any
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != 200 || got["active"] != true {
		t.Errorf("the request in flight: %d %v %v", res.StatusCode, got, err)
	}
	res.Body.Close()
	if code := c.wait(t); code != exitOK {
		t.Errorf("exit %d after SIGTERM:\n%s", code, c.stderr)
	}
	if s := c.stderr.String(); !strings.Contains(s, "shutting down") || !strings.Contains(s, `msg="oauthdb serve: shut down"`) {
		t.Errorf("stderr:\n%s", s)
	}
}

// TestServeSecondSignal: while a graceful shutdown waits for a request in
// flight, a second SIGTERM ends the process at once, by the signal.
func TestServeSecondSignal(t *testing.T) {
	c, b := startChild(t, "serve", "-listen", "127.0.0.1:0", "-shutdown-timeout", "1m")
	addr := strings.TrimPrefix(strings.TrimSuffix(b.url, pathIntrospect), "http://")
	conn := sendHead(t, addr, &sample{secrets: map[string]string{sampleAPI: b.secret}}, 100) // never sent
	defer conn.Close()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(c.stderr.String(), "shutting down") {
		if time.Now().After(deadline) {
			t.Fatalf("no shutdown after SIGTERM:\n%s", c.stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The first signal's handler has restored the default action by the
	// time the log line is out, or very soon after: send until it takes.
	for {
		if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			break // the process is gone
		}
		select {
		case err := <-c.done:
			c.done <- err
		case <-time.After(20 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatalf("a second SIGTERM did not end the process:\n%s", c.stderr)
			}
			continue
		}
		break
	}
	c.wait(t)
	ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("the process ended with %v, want killed by SIGTERM", c.cmd.ProcessState)
	}
}
