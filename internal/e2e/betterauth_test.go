package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb/internal/parity"
	"github.com/oauthdb/oauthdb/internal/testenv"
)

// harness is the Node harness that runs better-auth (interop/betterauth);
// live.mjs runs its scenario a checkpoint at a time.
var harness = filepath.Join("..", "..", "interop", "betterauth")

// answerTimeout bounds how long better-auth may take to answer a command:
// a step and an introspection of every token, a few hundred milliseconds.
const answerTimeout = 2 * time.Minute

// betterAuth is better-auth, run by live.mjs on a database: the protocol's
// Go side (live.mjs's header describes it).
type betterAuth struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte
	stderr *os.File
	exited chan struct{}
}

// checkpoint is what live.mjs answers: where the scenario is, better-auth's
// clock, what it holds, and its answers about every token.
type checkpoint struct {
	Event string `json:"event"` // checkpoint, end, error
	Kind  string `json:"kind"`  // start, step, moment, introspect, extra
	Name  string `json:"name"`
	Step  *struct {
		Step   string `json:"step"`
		Token  string `json:"token"`
		From   string `json:"from"`
		By     string `json:"by"`
		Status int    `json:"status"`
	} `json:"step"`
	Now     time.Time `json:"now"`
	Clients []struct {
		Name         string `json:"name"`
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	} `json:"clients"`
	Sessions []struct {
		Name  string `json:"name"`
		Token string `json:"token"`
	} `json:"sessions"`
	Tokens []struct {
		Name       string `json:"name"`
		Kind       string `json:"kind"`
		Token      string `json:"token"`
		ClientName string `json:"clientName"`
		Session    string `json:"session"`
	} `json:"tokens"`
	Introspections []parity.Introspection `json:"introspections"`
	Userinfo       []parity.Userinfo      `json:"userinfo"`
	Reason         string                 `json:"reason"` // of an end
	Error          string                 `json:"error"`  // of an error
}

// where names the checkpoint for messages.
func (cp checkpoint) where() string {
	s := cp.Kind + " " + cp.Name
	if cp.Step != nil && (cp.Step.Token != "" || cp.Step.From != "") {
		s += " " + cp.Step.Token + cp.Step.From
	}
	return s + " at " + cp.Now.Format(time.RFC3339)
}

// startBetterAuth runs live.mjs on the database at url (a postgresql://
// URL) — on the machine's clock with wall, else on the fake one — and
// returns it at its first checkpoint, its tables made.
func startBetterAuth(t *testing.T, url string, wall bool) (*betterAuth, checkpoint) {
	t.Helper()
	node := testenv.Node(t, harness)
	cmd := exec.Command(node, "live.mjs")
	cmd.Dir = harness
	cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "PG_SCHEMA=public")
	if wall {
		cmd.Env = append(cmd.Env, "OAUTHDB_HARNESS_CLOCK=wall")
	}
	b := &betterAuth{t: t, cmd: cmd, lines: make(chan []byte, 1), stderr: logFile(t, "live.mjs.log"), exited: make(chan struct{})}
	cmd.Stderr = b.stderr
	var err error
	if b.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			b.lines <- append([]byte(nil), sc.Bytes()...)
		}
		close(b.lines)
	}()
	go func() {
		_ = cmd.Wait()
		close(b.exited)
	}()
	t.Cleanup(func() {
		b.stdin.Close() // end of input ends it
		select {
		case <-b.exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-b.exited
		}
		if t.Failed() {
			t.Logf("live.mjs's stderr (tail):\n%s", testenv.Tail(readLog(b.stderr), 40))
		}
	})
	cp := b.read()
	if cp.Kind != "start" {
		t.Fatalf("live.mjs began with %s, want its start", cp.where())
	}
	return b, cp
}

// read reads live.mjs's next answer.
func (b *betterAuth) read() checkpoint {
	b.t.Helper()
	select {
	case line, ok := <-b.lines:
		if !ok {
			<-b.exited
			b.t.Fatalf("live.mjs ended (%v) without a word:\n%s", b.cmd.ProcessState, testenv.Tail(readLog(b.stderr), 40))
		}
		var cp checkpoint
		if err := json.Unmarshal(line, &cp); err != nil {
			b.t.Fatalf("live.mjs answered %.200q: %v", line, err)
		}
		if cp.Event == "error" {
			b.t.Fatalf("better-auth: %s", cp.Error)
		}
		return cp
	case <-time.After(answerTimeout):
		b.t.Fatalf("live.mjs did not answer within %v:\n%s", answerTimeout, testenv.Tail(readLog(b.stderr), 40))
	}
	return checkpoint{}
}

func (b *betterAuth) send(cmd map[string]string) checkpoint {
	b.t.Helper()
	line, _ := json.Marshal(cmd)
	if _, err := b.stdin.Write(append(line, '\n')); err != nil {
		b.t.Fatalf("live.mjs: %v:\n%s", err, testenv.Tail(readLog(b.stderr), 40))
	}
	return b.read()
}

// next lets the scenario go on to its next checkpoint (or its end).
func (b *betterAuth) next() checkpoint { return b.send(map[string]string{"do": "next"}) }

// introspect asks better-auth about every token again, now.
func (b *betterAuth) introspect() checkpoint { return b.send(map[string]string{"do": "introspect"}) }

// extra takes one of live.mjs's live-only steps.
func (b *betterAuth) extra(name string) checkpoint {
	return b.send(map[string]string{"do": "extra", "name": name})
}
