package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "usage: oauthdb") {
		t.Errorf("no arguments: exit %d, stderr %q", code, errOut.String())
	}
	out.Reset()
	if code := run([]string{"help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "bench") {
		t.Errorf("help: exit %d, stdout %q", code, out.String())
	}
	errOut.Reset()
	if code := run([]string{"bench", "-impl", "nope"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "unknown implementation") {
		t.Errorf("unknown impl: exit %d, stderr %q", code, errOut.String())
	}
}

// TestBenchCommand runs the whole command on a tiny dataset.
func TestBenchCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	args := []string{"bench", "-tokens", "400", "-benchtime", "2ms", "-impl", "map,sqlite", "-json"}
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if want := 2 * len(caseNames()); len(rep.Results) != want {
		t.Fatalf("%d results, want %d", len(rep.Results), want)
	}
	for _, r := range rep.Results {
		if r.Failed || r.N == 0 || r.NsPerOp <= 0 {
			t.Errorf("%s/%s: %+v", r.Op, r.Impl, r)
		}
		if r.VsMap == 0 || r.VsSQLite == 0 {
			t.Errorf("%s/%s: ratios missing: %+v", r.Op, r.Impl, r)
		}
	}
	if len(rep.Memory) != 2 || rep.Memory[0].BytesPerToken <= 0 {
		t.Errorf("memory: %+v", rep.Memory)
	}
	if !strings.Contains(errOut.String(), "done") {
		t.Errorf("no progress on stderr: %q", errOut.String())
	}

	out.Reset()
	args = []string{"bench", "-tokens", "400", "-benchtime", "1ms", "-impl", "map", "-ops", "validate,sweep"}
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"ns/op", "Validate", "Sweep", "B/token"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}
