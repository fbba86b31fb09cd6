package bench

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"testing"
)

// The dataset size: -bench.tokens access tokens (or OAUTHDB_BENCH_TOKENS),
// the other tables scaled in proportion (ScaledConfig). With -short, the tiny
// smoke-test dataset.
var benchTokens = flag.Int("bench.tokens", envInt("OAUTHDB_BENCH_TOKENS", DefaultConfig().AccessTokens),
	"access tokens in the benchmark dataset (other tables scale with it)")

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func benchConfig() Config {
	if testing.Short() {
		return TinyConfig()
	}
	return ScaledConfig(*benchTokens)
}

func benchCase(b *testing.B, name string) {
	var c Case
	for _, x := range Cases() {
		if x.Name == name {
			c = x
		}
	}
	if c.Run == nil {
		b.Fatalf("no case %q", name)
	}
	for _, f := range Factories() {
		b.Run(f.Name, func(b *testing.B) {
			t, err := SharedTarget(f, benchConfig())
			if err != nil {
				b.Fatal(err)
			}
			c.Run(b, t)
		})
	}
}

// BenchmarkValidate validates live access tokens (and reports B/token).
func BenchmarkValidate(b *testing.B) { benchCase(b, "Validate") }

// BenchmarkValidateMiss validates never-issued tokens.
func BenchmarkValidateMiss(b *testing.B) { benchCase(b, "ValidateMiss") }

// BenchmarkValidateParallel validates live tokens from GOMAXPROCS goroutines.
func BenchmarkValidateParallel(b *testing.B) { benchCase(b, "ValidateParallel") }

// BenchmarkIssue issues an access and a refresh token.
func BenchmarkIssue(b *testing.B) { benchCase(b, "Issue") }

// BenchmarkRotate rotates a fresh refresh token.
func BenchmarkRotate(b *testing.B) { benchCase(b, "Rotate") }

// BenchmarkRevokeSession revokes a session with 10 access and 5 refresh
// tokens.
func BenchmarkRevokeSession(b *testing.B) { benchCase(b, "RevokeSession") }

// BenchmarkSweep deletes 1,000 expired tokens per operation.
func BenchmarkSweep(b *testing.B) { benchCase(b, "Sweep") }

// BenchmarkLoad loads the dataset into an empty store of each
// implementation (BenchLoad), with no other store loaded in the process:
// the targets of the benchmarks before it are released first.
func BenchmarkLoad(b *testing.B) {
	ReleaseTargets()
	ds := SharedDataset(benchConfig())
	for _, f := range Factories() {
		b.Run(f.Name, func(b *testing.B) { BenchLoad(b, f, ds) })
	}
}

// BenchmarkValidateScale validates live tokens in datasets of 10k, 100k and
// 1M access tokens (1k with -short), for oauthdb and the map floor. Each size
// is loaded once, and released after its benchmarks.
func BenchmarkValidateScale(b *testing.B) {
	ReleaseTargets() // the default-size targets are not needed here
	sizes := []int{10_000, 100_000, 1_000_000}
	if testing.Short() {
		sizes = []int{1_000}
	}
	for _, name := range []string{"map", "oauthdb"} {
		fs, err := Select(name)
		if err != nil {
			b.Run(name, func(b *testing.B) { b.Skip(err) })
			continue
		}
		f := fs[0]
		b.Run(name, func(b *testing.B) {
			for _, n := range sizes {
				cfg := ScaledConfig(n)
				b.Run("tokens="+countLabel(n), func(b *testing.B) {
					t, err := SharedTarget(f, cfg)
					if err != nil {
						b.Fatal(err)
					}
					BenchValidate(b, t)
				})
				ReleaseTarget(f, cfg)
			}
		})
	}
}

func countLabel(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000 && n%1_000 == 0:
		return fmt.Sprintf("%dk", n/1_000)
	}
	return strconv.Itoa(n)
}
