package oauthdb_test

import (
	"os"
	"strings"
	"testing"
)

// The README's usage snippet is the body of usage() in example_test.go,
// which Example_usage runs: so the snippet compiles, checks its errors and
// does what its output says. This keeps the two from drifting apart.
func TestReadmeUsageIsTheExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "## Usage\n\n```go\n")
	snippet, _, ok2 := strings.Cut(after, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no Go block under ## Usage")
	}
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok = strings.Cut(string(src), "func usage() error {\n")
	body, _, ok2 := strings.Cut(after, "\n}\n")
	if !ok || !ok2 {
		t.Fatal("example_test.go has no func usage")
	}
	var lines []string
	for _, l := range strings.Split(body, "\n") {
		lines = append(lines, strings.TrimPrefix(l, "\t"))
	}
	if want := strings.Join(lines, "\n") + "\n"; snippet != want {
		t.Errorf("README.md's usage differs from usage() in example_test.go:\n--- README\n%s--- example\n%s", snippet, want)
	}
}
