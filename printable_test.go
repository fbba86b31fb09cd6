package oauthdb

import "testing"

func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"", "a", "abcdefgh", "abcdefg\x7f", "abcdefgh\x20xyz", "\x21\x7e\x21\x7e\x21\x7e\x21\x7e", "\x80abcdefghij", "abcdefgh\xff", "abcdefghijklmnop\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := true
		for i := 0; i < len(s); i++ {
			if c := s[i]; c <= ' ' || c > '~' {
				want = false
			}
		}
		if got := printable(s); got != want {
			t.Fatalf("printable(%q) = %v, want %v", s, got, want)
		}
	})
}
