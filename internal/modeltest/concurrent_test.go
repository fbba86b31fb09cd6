package modeltest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
)

// issuedToken is a refresh token with the client it was issued to.
type issuedToken struct{ token, clientID string }

// tokenBag is the tokens the writers have issued, shared with the readers.
type tokenBag struct {
	mu      sync.Mutex
	access  []string
	refresh []issuedToken
}

func (b *tokenBag) add(t oauthdb.IssuedTokens) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.access = append(b.access, t.AccessToken)
	if t.RefreshToken != "" {
		b.refresh = append(b.refresh, issuedToken{t.RefreshToken, t.Access.ClientID})
	}
}

func (b *tokenBag) pick(r *rand.Rand) (string, issuedToken, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.access) == 0 || len(b.refresh) == 0 {
		return "", issuedToken{}, false
	}
	return b.access[r.IntN(len(b.access))], b.refresh[r.IntN(len(b.refresh))], true
}

// write does one random write; errors are expected and ignored, since
// writers race each other.
func write1(db *oauthdb.DB, clock *Clock, r *rand.Rand, bag *tokenBag) {
	u := fmt.Sprintf("u%d", r.IntN(6))
	s := fmt.Sprintf("s%d", r.IntN(6))
	c := fmt.Sprintf("cid%d", r.IntN(4))
	now := clock.Now()
	k := r.IntN(20)
	if k >= 16 {
		k -= 16 // inserts and issues more often than deletes
	}
	switch k {
	case 0:
		db.Update(func(tx *oauthdb.Tx) error {
			return tx.InsertUser(oauthdb.User{ID: u, Name: "N", Email: u + "@x"})
		})
	case 1:
		db.Update(func(tx *oauthdb.Tx) error {
			return tx.InsertSession(oauthdb.Session{ID: s, Token: "st-" + s, UserID: u, ExpiresAt: now.Add(time.Hour)})
		})
	case 2:
		owner := ""
		if r.IntN(2) == 0 {
			owner = u
		}
		db.Update(func(tx *oauthdb.Tx) error {
			return tx.InsertClient(oauthdb.OAuthClient{ID: "rec-" + c, ClientID: c, UserID: owner,
				RedirectURIs: []string{"https://x/cb"}, Disabled: r.IntN(10) == 0})
		})
	case 3, 4, 5:
		req := oauthdb.IssueRequest{ClientID: c, UserID: u, Refresh: true}
		if r.IntN(4) != 0 {
			req.Scopes = []string{oauthdb.ScopeOfflineAccess} // rotated when redeemed
		}
		if r.IntN(2) == 0 {
			if err := db.View(func(tx *oauthdb.Tx) error {
				ses, err := tx.Session(s)
				req.SessionID, req.UserID = ses.ID, ses.UserID
				return err
			}); err != nil {
				return
			}
		}
		if t, err := db.IssueTokens(req); err == nil {
			bag.add(t)
		}
	case 6, 7:
		if _, rt, ok := bag.pick(r); ok {
			if t, err := db.RotateRefreshToken(rt.token, rt.clientID, nil); err == nil {
				bag.add(t)
			}
		}
	case 8:
		if at, rt, ok := bag.pick(r); ok {
			db.RevokeAccessToken(at)
			db.RevokeRefreshToken(rt.token)
		}
	case 9:
		switch r.IntN(4) {
		case 0:
			db.RevokeSession(s)
		case 1:
			db.RevokeUser(u)
		case 2:
			db.RevokeClient(c)
		default:
			db.RevokeClientUser(c, u)
		}
	case 10:
		db.Update(func(tx *oauthdb.Tx) error { return tx.DeleteSession(s) })
	case 11:
		db.Update(func(tx *oauthdb.Tx) error { return tx.DeleteUser(u) })
	case 12:
		db.Update(func(tx *oauthdb.Tx) error { return tx.DeleteClient("rec-" + c) })
	case 13:
		db.GrantConsent(oauthdb.ConsentKey{ClientID: c, UserID: u}, []string{"openid"})
	case 14:
		db.SweepExpired(1 + r.IntN(5))
	default:
		clock.Advance(time.Duration(r.IntN(10)) * time.Minute)
	}
}

// checkSnapshot checks, within one read transaction, that every foreign
// key names a row of the same snapshot (or is empty where it may be), and
// that the snapshot does not change while it is read.
func checkSnapshot(tx *oauthdb.Tx) error {
	dump := func() []any {
		return []any{slices.Collect(tx.Users()), slices.Collect(tx.Sessions()), slices.Collect(tx.Clients()),
			slices.Collect(tx.AccessTokens()), slices.Collect(tx.RefreshTokens()), slices.Collect(tx.Consents())}
	}
	before := dump()
	client := func(what, id, clientID string) error {
		if _, err := tx.ClientByClientID(clientID); err != nil {
			return fmt.Errorf("%s %s: client %q: %v", what, id, clientID, err)
		}
		return nil
	}
	user := func(what, id, userID string) error {
		if _, err := tx.User(userID); userID != "" && err != nil {
			return fmt.Errorf("%s %s: user %q: %v", what, id, userID, err)
		}
		return nil
	}
	session := func(what, id, sessionID string) error {
		if _, err := tx.Session(sessionID); sessionID != "" && err != nil {
			return fmt.Errorf("%s %s: session %q: %v", what, id, sessionID, err)
		}
		return nil
	}
	for t := range tx.AccessTokens() {
		if err := errors.Join(client("access token", t.ID, t.ClientID), user("access token", t.ID, t.UserID),
			session("access token", t.ID, t.SessionID)); err != nil {
			return err
		}
		if _, err := tx.RefreshToken(t.RefreshID); t.RefreshID != "" && err != nil {
			return fmt.Errorf("access token %s: refresh token %q: %v", t.ID, t.RefreshID, err)
		}
	}
	for t := range tx.RefreshTokens() {
		if err := errors.Join(client("refresh token", t.ID, t.ClientID), user("refresh token", t.ID, t.UserID),
			session("refresh token", t.ID, t.SessionID)); err != nil {
			return err
		}
	}
	for c := range tx.Consents() {
		if err := errors.Join(client("consent", c.ID, c.ClientID), user("consent", c.ID, c.UserID)); err != nil {
			return err
		}
	}
	for s := range tx.Sessions() {
		if _, err := tx.User(s.UserID); err != nil {
			return fmt.Errorf("session %s: user %q: %v", s.ID, s.UserID, err)
		}
	}
	for c := range tx.Clients() {
		if err := user("client", c.ID, c.UserID); err != nil {
			return err
		}
	}
	if !reflect.DeepEqual(before, dump()) {
		return errors.New("the snapshot changed while it was read")
	}
	return nil
}

// checkValid checks that a token that validates comes with its own client,
// user and session.
func checkValid(db *oauthdb.DB, token string) error {
	info, err := db.ValidateAccessToken(token)
	if err != nil {
		return nil
	}
	t := info.Token
	if info.Client.ClientID != t.ClientID || info.Client.Disabled || info.User.ID != t.UserID || info.Session.ID != t.SessionID {
		return fmt.Errorf("token %s validated with client %q user %q session %q", t.ID, info.Client.ClientID, info.User.ID, info.Session.ID)
	}
	return nil
}

// TestConcurrentSnapshots runs writers and readers at once (run it with
// -race): every read transaction sees a snapshot in which every foreign key
// holds, and every valid token comes with its own client, user and session.
func TestConcurrentSnapshots(t *testing.T) {
	clock := NewClock()
	db, err := oauthdb.Open(oauthdb.WithClock(clock.Now), oauthdb.WithTokenLifetimes(AccessTTL, RefreshTTL))
	if err != nil {
		t.Fatal(err)
	}
	duration := time.Second
	if testing.Short() {
		duration = 200 * time.Millisecond
	}
	var bag tokenBag
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	var writes, reads atomic.Int64
	for w := range 2 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for !stop.Load() {
				write1(db, clock, r, &bag)
				writes.Add(1)
			}
		})
	}
	for rd := range 3 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(rd), 2))
			for i := 0; !stop.Load(); i++ {
				var err error
				switch {
				case i%50 == 49:
					err = db.Verify()
				case i%2 == 0:
					err = db.View(checkSnapshot)
				default:
					if at, _, ok := bag.pick(r); ok {
						err = checkValid(db, at)
					}
				}
				reads.Add(1)
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	time.Sleep(duration)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := db.Verify(); err != nil {
		t.Error(err)
	}
	t.Logf("%d writes (%d access tokens issued) and %d reads in %v", writes.Load(), len(bag.access), reads.Load(), duration)
}

// TestConcurrentRotation rotates one refresh token from two goroutines at
// once, many times: exactly one rotation wins; the other is a replay, which
// revokes the family, the winner's new token with it.
func TestConcurrentRotation(t *testing.T) {
	db, err := oauthdb.Open(oauthdb.WithClock(NewClock().Now))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *oauthdb.Tx) error {
		return errors.Join(tx.InsertUser(oauthdb.User{ID: "u0", Name: "N", Email: "e@x"}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c0", ClientID: "cid0", RedirectURIs: []string{"https://x/cb"}}))
	})
	if err != nil {
		t.Fatal(err)
	}
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	for range rounds {
		issued, err := db.IssueTokens(oauthdb.IssueRequest{ClientID: "cid0", UserID: "u0", Scopes: []string{oauthdb.ScopeOfflineAccess}, Refresh: true})
		if err != nil {
			t.Fatal(err)
		}
		var got [2]oauthdb.IssuedTokens
		var errs [2]error
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() { got[i], errs[i] = db.RotateRefreshToken(issued.RefreshToken, "cid0", nil) })
		}
		wg.Wait()
		won := 0
		for i := range 2 {
			switch {
			case errs[i] == nil:
				won = i
			case !errors.Is(errs[i], oauthdb.ErrTokenReplayed):
				t.Fatalf("a rotation failed with %v, want ErrTokenReplayed", errs[i])
			}
		}
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("rotations: %v and %v; want exactly one to win", errs[0], errs[1])
		}
		if _, err := db.ValidateRefreshToken(got[won].RefreshToken); !errors.Is(err, oauthdb.ErrTokenRevoked) {
			t.Fatalf("the winner's new refresh token after the replay: %v, want ErrTokenRevoked", err)
		}
		if _, err := db.ValidateAccessToken(got[won].AccessToken); !errors.Is(err, oauthdb.ErrTokenNotFound) {
			t.Fatalf("the winner's new access token after the replay: %v, want ErrTokenNotFound", err)
		}
	}
	if err := db.Verify(); err != nil {
		t.Fatal(err)
	}
}
