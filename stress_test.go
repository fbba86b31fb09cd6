package oauthdb_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
)

var stressFor = flag.Duration("stress.duration", 1500*time.Millisecond, "how long TestStress runs (longer for a soak)")

// stressTokens is what the stress test's writers have issued and killed:
// a token is in dead once the call that made it inactive has returned.
type stressTokens struct {
	mu     sync.RWMutex
	access []string
	dead   map[string]bool
}

func (s *stressTokens) add(t string) {
	s.mu.Lock()
	s.access = append(s.access, t)
	s.mu.Unlock()
}

func (s *stressTokens) kill(ts ...string) {
	s.mu.Lock()
	for _, t := range ts {
		s.dead[t] = true
	}
	s.mu.Unlock()
}

// pick returns a random token and whether it was dead when picked.
func (s *stressTokens) pick(r *rand.Rand) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.access) == 0 {
		return "", false
	}
	t := s.access[r.IntN(len(s.access))]
	return t, s.dead[t]
}

// Readers validate through the cache while writers issue, rotate, revoke,
// disable clients, delete users and sweep, and the whole state is swapped
// for a streamed copy of itself now and then. No validation that starts
// after a revocation returned may call the token active, and every active
// answer is one consistent joined view.
func TestStress(t *testing.T) {
	db, err := oauthdb.Open()
	if err != nil {
		t.Fatal(err)
	}
	const users, clients = 20, 4
	update(t, db, func(tx *oauthdb.Tx) error {
		var errs []error
		for i := range users {
			id := fmt.Sprint("u", i)
			errs = append(errs, tx.InsertUser(oauthdb.User{ID: id, Name: id, Email: id + "@example.com"}),
				tx.InsertSession(oauthdb.Session{ID: "s" + id, Token: "cookie-" + id, UserID: id, ExpiresAt: time.Now().Add(time.Hour)}))
		}
		for i := range clients {
			id := fmt.Sprint("c", i)
			errs = append(errs, tx.InsertClient(oauthdb.OAuthClient{ID: id, ClientID: "cid-" + id, RedirectURIs: []string{"https://x.example/cb"}}))
		}
		return errors.Join(errs...)
	})
	toks := &stressTokens{dead: map[string]bool{}}
	var stop atomic.Bool
	// swap keeps writers out while the state is swapped: a write racing the
	// swap would be lost with the old state (ReadSnapshot is for start-up).
	var swap sync.RWMutex
	var wg sync.WaitGroup
	var validations, active atomic.Int64
	fail := func(format string, args ...any) {
		t.Errorf(format, args...)
		stop.Store(true)
	}

	for w := range 2 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for !stop.Load() {
				swap.RLock()
				u := fmt.Sprint("u", r.IntN(users))
				c := fmt.Sprint("cid-c", r.IntN(clients))
				switch op := r.IntN(10); {
				case op < 5:
					tok, err := db.IssueTokens(oauthdb.IssueRequest{ClientID: c, UserID: u, SessionID: "s" + u, Refresh: true})
					if err == nil {
						toks.add(tok.AccessToken)
						if r.IntN(2) == 0 {
							if next, err := db.RotateRefreshToken(tok.RefreshToken, c, nil); err == nil {
								toks.add(next.AccessToken)
							}
						}
						if r.IntN(4) == 0 {
							if _, err := db.RevokeRefreshToken(tok.RefreshToken); err != nil {
								fail("RevokeRefreshToken: %v", err)
							}
							toks.kill(tok.AccessToken)
						}
					} else if !errors.Is(err, oauthdb.ErrNotFound) && !errors.Is(err, oauthdb.ErrClientDisabled) {
						fail("IssueTokens: %v", err)
					}
				case op < 7:
					tk, _ := toks.pick(r)
					if tk != "" {
						if _, err := db.RevokeAccessToken(tk); err != nil {
							fail("RevokeAccessToken: %v", err)
						}
						toks.kill(tk)
					}
				case op < 8:
					// Disable a client: every token of it is inactive from
					// now on, whatever comes after (enabling revokes them).
					var killed []string
					toks.mu.RLock()
					all := append([]string(nil), toks.access...)
					toks.mu.RUnlock()
					for _, tk := range all {
						if info, err := db.ValidateAccessToken(tk); err == nil && info.Client.ClientID == c {
							killed = append(killed, tk)
						}
					}
					err := db.Update(func(tx *oauthdb.Tx) error {
						cl, err := tx.ClientByClientID(c)
						if err != nil {
							return err
						}
						cl.Disabled = !cl.Disabled
						return tx.UpdateClient(cl)
					})
					if err != nil {
						fail("toggle client: %v", err)
					}
					toks.kill(killed...)
				case op < 9:
					if _, err := db.RevokeSession("s" + u); err != nil {
						fail("RevokeSession: %v", err)
					}
				default:
					if _, err := db.SweepExpired(100); err != nil {
						fail("SweepExpired: %v", err)
					}
				}
				swap.RUnlock()
			}
		})
	}
	wg.Go(func() { // the state swapped for a copy of itself
		for !stop.Load() {
			time.Sleep(50 * time.Millisecond)
			swap.Lock()
			var buf bytes.Buffer
			if err := db.WriteSnapshot(&buf); err != nil {
				fail("WriteSnapshot: %v", err)
			} else if _, err := db.ReadSnapshot(&buf); err != nil {
				fail("ReadSnapshot: %v", err)
			}
			swap.Unlock()
		}
	})
	for rd := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(rd), 2))
			for !stop.Load() {
				tk, dead := toks.pick(r)
				if tk == "" {
					continue
				}
				validations.Add(1)
				info, err := db.ValidateAccessToken(tk)
				if err != nil {
					var te *oauthdb.TokenError
					if !errors.As(err, &te) {
						fail("ValidateAccessToken: not a *TokenError: %v", err)
					}
					continue
				}
				active.Add(1)
				if dead {
					fail("a token revoked before its validation began is active: %+v", info.Token)
				}
				tok := info.Token
				if info.Client.ClientID != tok.ClientID || info.Client.Disabled ||
					info.User.ID != tok.UserID || (tok.SessionID != "" && (info.Session.ID != tok.SessionID || info.Session.UserID != tok.UserID)) {
					fail("inconsistent joined view: token %+v client %q user %q session %+v", tok, info.Client.ClientID, info.User.ID, info.Session)
				}
			}
		})
	}
	time.Sleep(*stressFor)
	stop.Store(true)
	wg.Wait()
	st := db.CacheStats()
	t.Logf("%d validations, %d active; cache: %d hits, %d misses", validations.Load(), active.Load(), st.Hits, st.Misses)
	if validations.Load() == 0 || active.Load() == 0 || st.Hits == 0 {
		t.Error("the stress test did not exercise validation through the cache")
	}
	if err := db.Verify(); err != nil {
		t.Error(err)
	}
}
