package oauthdb

import (
	"testing"
	"time"
)

// cacheFixture is a DB and a cache of three entries per kind, with a view
// to keep in it: an access token of a client, no user, no session.
type cacheFixture struct {
	db    *DB
	cache *tokenCache
	token *OAuthAccessToken
	o     owners
	until time.Time
}

func newCacheFixture(t *testing.T) *cacheFixture {
	t.Helper()
	db, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	return &cacheFixture{db: db, cache: newTokenCache(3, 0), token: &OAuthAccessToken{ID: "a1", ClientID: "cid"},
		o: owners{client: &OAuthClient{ClientID: "cid"}}, until: time.Now().Add(time.Hour)}
}

func (f *cacheFixture) keep(k cacheKey, index uint64) {
	f.cache.access.keep(f.cache, f.db.st, k, f.token, f.o, f.until, index)
}

func (f *cacheFixture) has(k cacheKey) bool {
	return f.cache.access.get(k, time.Now()) != nil
}

// A view read before a commit is not kept after it: the commit's
// invalidations may have run already.
func TestCacheKeepsNoViewReadBeforeACommit(t *testing.T) {
	f := newCacheFixture(t)
	before := f.db.st.Index()
	if err := f.db.Update(func(tx *Tx) error { return tx.InsertUser(User{ID: "u1", Name: "U", Email: "u@example.com"}) }); err != nil {
		t.Fatal(err)
	}
	k := cacheKey{1}
	f.keep(k, before)
	if f.has(k) {
		t.Error("a view read before a commit was kept")
	}
	f.keep(k, f.db.st.Index())
	if !f.has(k) {
		t.Error("a view read after the last commit was not kept")
	}
}

// The cache holds at most its size per kind. When it is full, the entry
// kept next takes the place of the first the hand finds unreferenced since
// its last pass, and a forgotten entry's place is taken before any other's.
func TestCacheEvictsByClock(t *testing.T) {
	f := newCacheFixture(t)
	k := func(i byte) cacheKey { return cacheKey{i} }
	index := f.db.st.Index()
	for i := byte(1); i <= 3; i++ {
		f.keep(k(i), index)
	}
	f.has(k(1)) // hits: their second chance
	f.has(k(3))
	f.keep(k(4), index) // k1 spends its chance; k2 has none
	want := func(present ...byte) {
		t.Helper()
		for i := byte(1); i <= 6; i++ {
			got := f.cache.access.entries.Size() <= 3 && f.has(k(i))
			if want := containsByte(present, i); got != want {
				t.Errorf("entry %d kept: %v, want %v", i, got, want)
			}
		}
		for i := byte(1); i <= 6; i++ { // has hit them: clear the bits again
			if e, ok := f.cache.access.entries.Load(k(i)); ok {
				e.referenced.Store(false)
			}
		}
	}
	want(1, 3, 4)
	f.has(k(3))
	f.keep(k(5), index) // the hand goes on from k2's place: k3 spends its chance, k1 has none
	want(3, 4, 5)
	f.cache.access.forget(k(4))
	f.keep(k(6), index)
	want(3, 5, 6)
}

func containsByte(s []byte, b byte) bool {
	for _, x := range s {
		if x == b {
			return true
		}
	}
	return false
}
