package bench

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestImplementations runs every implementation on a tiny dataset and checks
// that they give the answers the semantics of [Impl] require — and so the
// same answers.
func TestImplementations(t *testing.T) {
	ds := Generate(TinyConfig())
	checkTinyDataset(t, ds)
	transcripts := map[string]string{}
	var names []string
	for _, f := range Factories() {
		t.Run(f.Name, func(t *testing.T) {
			var log transcript
			t.Run("Validate", func(t *testing.T) { scenarioValidate(t, f, ds, &log) })
			t.Run("IssueRotate", func(t *testing.T) { scenarioIssueRotate(t, f, ds, &log) })
			t.Run("RevokeSession", func(t *testing.T) { scenarioRevokeSession(t, f, ds, &log) })
			t.Run("Sweep", func(t *testing.T) { scenarioSweep(t, f, ds, &log) })
			transcripts[f.Name] = strings.Join(log, "\n")
			names = append(names, f.Name)
		})
	}
	for _, name := range names[1:] {
		if transcripts[name] != transcripts[names[0]] {
			t.Errorf("%s and %s answer differently:\n%s", names[0], name, diffLines(transcripts[names[0]], transcripts[name]))
		}
	}
}

type transcript []string

func (l *transcript) add(format string, args ...any) { *l = append(*l, fmt.Sprintf(format, args...)) }

func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < max(len(al), len(bl)) && len(out) < 20; i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("line %d:\n  - %s\n  + %s", i, x, y))
		}
	}
	return strings.Join(out, "\n")
}

// checkTinyDataset makes sure the tiny dataset has every case the scenarios
// test.
func checkTinyDataset(t *testing.T, ds *Dataset) {
	t.Helper()
	count := map[TokenStatus]int{}
	for i := range ds.AccessTokens {
		count[ds.AccessStatus(i)]++
	}
	for _, s := range []TokenStatus{StatusValid, StatusExpired, StatusClientDisabled, StatusSessionExpired} {
		if count[s] == 0 {
			t.Fatalf("tiny dataset has no %s access token (%v)", s, count)
		}
	}
	if ds.Expired.AccessTokens == 0 || ds.Expired.RefreshTokens < 3 || ds.Expired.Sessions == 0 {
		t.Fatalf("tiny dataset lacks expired rows: %+v", ds.Expired)
	}
	if len(ds.LiveRefresh) < 2 || len(ds.MissingTokens) == 0 || len(ds.SessionsWithTokens) < 2 {
		t.Fatalf("tiny dataset lacks helper rows")
	}
	if g := Generate(TinyConfig()); g.AccessTokens[17].Token != ds.AccessTokens[17].Token || g.LiveTokens[3] != ds.LiveTokens[3] {
		t.Fatalf("Generate is not deterministic")
	}
}

func open(t *testing.T, f Factory, ds *Dataset) (Impl, *Clock) {
	t.Helper()
	clock := NewClock(ds.Now)
	impl, err := f.New(clock.Now)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := impl.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := impl.Load(ds); err != nil {
		t.Fatalf("Load: %v", err)
	}
	return impl, clock
}

func validate(t *testing.T, impl Impl, token string) bool {
	t.Helper()
	ok, err := impl.Validate(token)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return ok
}

func scenarioValidate(t *testing.T, f Factory, ds *Dataset, log *transcript) {
	impl, _ := open(t, f, ds)
	for i := range ds.AccessTokens {
		want := ds.AccessStatus(i)
		got := validate(t, impl, ds.AccessTokens[i].Token)
		log.add("validate access %d: %v", i, got)
		if got != (want == StatusValid) {
			t.Errorf("token %d (%s): Validate = %v", i, want, got)
		}
	}
	for i := range ds.RefreshTokens {
		if validate(t, impl, ds.RefreshTokens[i].Token) {
			t.Errorf("refresh token %d validates as an access token", i)
		}
	}
	for _, tok := range ds.MissingTokens {
		if validate(t, impl, tok) {
			t.Errorf("missing token validates")
		}
	}
	if validate(t, impl, "") {
		t.Errorf("empty token validates")
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

func scenarioIssueRotate(t *testing.T, f Factory, ds *Dataset, log *transcript) {
	impl, clock := open(t, f, ds)
	g := ds.LiveRefresh[0]
	scopes := []string{"openid", "offline_access"}

	access, refresh, err := impl.Issue(g.ClientID, g.UserID, g.SessionID, scopes)
	if err != nil || access == "" || refresh == "" {
		t.Fatalf("Issue = %q, %q, %v", access, refresh, err)
	}
	if !validate(t, impl, access) {
		t.Errorf("issued access token does not validate")
	}
	if validate(t, impl, refresh) {
		t.Errorf("issued refresh token validates as an access token")
	}

	// Client credentials: no user, no session, no refresh token.
	cc, ccRefresh, err := impl.Issue(g.ClientID, "", "", []string{"read"})
	if err != nil || ccRefresh != "" || !validate(t, impl, cc) {
		t.Errorf("client-credentials Issue = %q, %q, %v", cc, ccRefresh, err)
	}

	var disabled *Client
	for i := range ds.Clients {
		if ds.Clients[i].Disabled {
			disabled = &ds.Clients[i]
		}
	}
	_, _, err = impl.Issue(disabled.ClientID, g.UserID, g.SessionID, scopes)
	wantErr(t, "Issue for a disabled client", err, ErrInvalidClient)
	_, _, err = impl.Issue("no-such-client", g.UserID, g.SessionID, scopes)
	wantErr(t, "Issue for an unknown client", err, ErrInvalidClient)
	_, _, err = impl.Issue(g.ClientID, "no-such-user", "", scopes)
	wantErr(t, "Issue for an unknown user", err, ErrNotFound)
	_, _, err = impl.Issue(g.ClientID, g.UserID, "no-such-session", scopes)
	wantErr(t, "Issue for an unknown session", err, ErrNotFound)
	_, _, err = impl.Issue(g.ClientID, g.UserID, g.SessionID, []string{"openid", "admin"})
	wantErr(t, "Issue of a scope the client does not allow", err, ErrInvalidScope)
	for i := range ds.Sessions {
		if s := &ds.Sessions[i]; s.UserID != g.UserID {
			_, _, err = impl.Issue(g.ClientID, g.UserID, s.ID, scopes)
			wantErr(t, "Issue for another user's session", err, ErrInvalidSession)
			break
		}
	}
	for i := range ds.Sessions {
		if s := &ds.Sessions[i]; !ds.Now.Before(s.ExpiresAt) {
			_, _, err = impl.Issue(g.ClientID, s.UserID, s.ID, scopes)
			wantErr(t, "Issue for an expired session", err, ErrInvalidSession)
			break
		}
	}
	// Unexpired, unrevoked refresh tokens of a disabled client do not
	// rotate; those of an expired session do (a refresh token outlives its
	// session), and what they issue has no session.
	for i := range ds.RefreshTokens {
		rt := &ds.RefreshTokens[i]
		if !ds.Now.Before(rt.ExpiresAt) || !rt.Revoked.IsZero() || slices.Contains(ds.LiveRefresh, rt) {
			continue
		}
		access, _, err := impl.Rotate(rt.Token, rt.ClientID)
		if ds.clientByID[rt.ClientID].Disabled {
			wantErr(t, "Rotate of a token of a disabled client", err, ErrInvalidGrant)
		} else if err != nil || !validate(t, impl, access) {
			t.Errorf("Rotate of a token of an expired session = %v; want a new, active access token", err)
		}
		log.add("rotate inactive owner: %v", errors.Is(err, ErrInvalidGrant))
	}

	// Rotation refusals change nothing.
	_, _, err = impl.Rotate(refresh, "another-client")
	wantErr(t, "Rotate for another client", err, ErrInvalidGrant)
	_, _, err = impl.Rotate("no-such-token", g.ClientID)
	wantErr(t, "Rotate of an unknown token", err, ErrInvalidGrant)
	for i := range ds.RefreshTokens {
		if rt := &ds.RefreshTokens[i]; !ds.Now.Before(rt.ExpiresAt) {
			_, _, err = impl.Rotate(rt.Token, rt.ClientID)
			wantErr(t, "Rotate of an expired token", err, ErrInvalidGrant)
			break
		}
	}

	clock.Set(ds.Now.Add(time.Minute))
	a2, r2, err := impl.Rotate(refresh, g.ClientID)
	if err != nil || a2 == "" || r2 == "" {
		t.Fatalf("Rotate = %v", err)
	}
	a3, r3, err := impl.Rotate(r2, g.ClientID)
	if err != nil {
		t.Fatalf("second Rotate = %v", err)
	}
	for _, tok := range []string{access, a2, a3} {
		if !validate(t, impl, tok) {
			t.Errorf("access token of the family does not validate before the replay")
		}
	}

	// The family: every refresh token of (client, user) in the dataset.
	var familyAccess, otherAccess []string
	family := map[string]bool{}
	for i := range ds.RefreshTokens {
		if rt := &ds.RefreshTokens[i]; rt.ClientID == g.ClientID && rt.UserID == g.UserID {
			family[rt.ID] = true
		}
	}
	for i := range ds.AccessTokens {
		if ds.AccessStatus(i) != StatusValid {
			continue
		}
		if family[ds.AccessTokens[i].RefreshID] {
			familyAccess = append(familyAccess, ds.AccessTokens[i].Token)
		} else {
			otherAccess = append(otherAccess, ds.AccessTokens[i].Token)
		}
	}

	// Replay of the first refresh token: fails and revokes the family.
	_, _, err = impl.Rotate(refresh, g.ClientID)
	wantErr(t, "replayed Rotate", err, ErrReplay)
	log.add("replay: %v", errors.Is(err, ErrReplay))
	for _, tok := range append([]string{access, a2, a3}, familyAccess...) {
		if validate(t, impl, tok) {
			t.Errorf("access token of a revoked family still validates")
		}
	}
	_, _, err = impl.Rotate(r3, g.ClientID)
	wantErr(t, "Rotate of the family's newest token", err, ErrReplay)
	_, _, err = impl.Rotate(g.Token, g.ClientID)
	wantErr(t, "Rotate of the family's dataset token", err, ErrReplay)
	if !validate(t, impl, cc) {
		t.Errorf("client-credentials token was revoked with the family")
	}
	valid := 0
	for _, tok := range otherAccess {
		if validate(t, impl, tok) {
			valid++
		}
	}
	if valid != len(otherAccess) {
		t.Errorf("%d of %d tokens outside the family still validate", valid, len(otherAccess))
	}
	log.add("family access tokens: %d, others: %d", len(familyAccess), valid)

	// Another live refresh token of a different family still rotates.
	for _, rt := range ds.LiveRefresh[1:] {
		if rt.ClientID == g.ClientID && rt.UserID == g.UserID {
			continue
		}
		a, _, err := impl.Rotate(rt.Token, rt.ClientID)
		if err != nil || !validate(t, impl, a) {
			t.Errorf("Rotate of an unrelated token: %v", err)
		}
		break
	}
}

func scenarioRevokeSession(t *testing.T, f Factory, ds *Dataset, log *transcript) {
	impl, _ := open(t, f, ds)
	for _, sid := range ds.SessionsWithTokens[:min(5, len(ds.SessionsWithTokens))] {
		// Expected rows: the access tokens of the session or of its refresh
		// tokens, and its refresh tokens not yet revoked.
		revoked := map[string]bool{}
		want := 0
		for i := range ds.RefreshTokens {
			if rt := &ds.RefreshTokens[i]; rt.SessionID == sid {
				revoked[rt.ID] = true
				if rt.Revoked.IsZero() {
					want++
				}
			}
		}
		var gone []string
		for i := range ds.AccessTokens {
			if at := &ds.AccessTokens[i]; at.SessionID == sid || revoked[at.RefreshID] {
				want++
				gone = append(gone, at.Token)
			}
		}
		n, err := impl.RevokeSession(sid)
		if err != nil || n != want {
			t.Errorf("RevokeSession = %d, %v; want %d", n, err, want)
		}
		log.add("revoke session: %d", n)
		for _, tok := range gone {
			if validate(t, impl, tok) {
				t.Errorf("token of a revoked session validates")
			}
		}
		for i := range ds.RefreshTokens {
			if rt := &ds.RefreshTokens[i]; revoked[rt.ID] && ds.Now.Before(rt.ExpiresAt) {
				_, _, err := impl.Rotate(rt.Token, rt.ClientID)
				wantErr(t, "Rotate of a revoked session's token", err, ErrReplay)
				break
			}
		}
		if n, err := impl.RevokeSession(sid); err != nil || n != 0 {
			t.Errorf("second RevokeSession = %d, %v; want 0", n, err)
		}
	}
	// Tokens of sessions never revoked still validate (families revoked by
	// the replays above excluded: check only tokens without a refresh
	// parent and of untouched sessions).
	touched := map[string]bool{}
	for _, sid := range ds.SessionsWithTokens[:min(5, len(ds.SessionsWithTokens))] {
		touched[sid] = true
	}
	for i := range ds.AccessTokens {
		at := &ds.AccessTokens[i]
		if ds.AccessStatus(i) == StatusValid && at.RefreshID == "" && !touched[at.SessionID] && !validate(t, impl, at.Token) {
			t.Errorf("token %d of an untouched session no longer validates", i)
		}
	}
}

func scenarioSweep(t *testing.T, f Factory, ds *Dataset, log *transcript) {
	impl, _ := open(t, f, ds)
	now := ds.Now
	exp := ds.Expired

	// The two oldest expired refresh tokens go after every expired access
	// token.
	var expiredRefresh []*RefreshToken
	for i := range ds.RefreshTokens {
		if rt := &ds.RefreshTokens[i]; !now.Before(rt.ExpiresAt) {
			expiredRefresh = append(expiredRefresh, rt)
		}
	}
	slices.SortFunc(expiredRefresh, func(a, b *RefreshToken) int { return a.ExpiresAt.Compare(b.ExpiresAt) })
	n, err := impl.Sweep(now, exp.AccessTokens+2)
	if err != nil || n != exp.AccessTokens+2 {
		t.Fatalf("Sweep(%d) = %d, %v", exp.AccessTokens+2, n, err)
	}
	deleted := map[string]bool{expiredRefresh[0].ID: true, expiredRefresh[1].ID: true}
	for i := range ds.AccessTokens {
		at := &ds.AccessTokens[i]
		if deleted[at.RefreshID] && validate(t, impl, at.Token) {
			t.Errorf("access token of a swept refresh token validates")
		}
	}
	_, _, err = impl.Rotate(expiredRefresh[2].Token, expiredRefresh[2].ClientID)
	wantErr(t, "Rotate of an expired, unswept token", err, ErrInvalidGrant)

	n, err = impl.Sweep(now, 1<<30)
	if want := exp.Total() - exp.AccessTokens - 2; err != nil || n != want {
		t.Fatalf("second Sweep = %d, %v; want %d", n, err, want)
	}
	log.add("sweep: %d", n)
	if n, err := impl.Sweep(now, 1<<30); err != nil || n != 0 {
		t.Fatalf("third Sweep = %d, %v; want 0", n, err)
	}

	// After the sweep, expired sessions are gone and their tokens have no
	// session (set null); their access tokens were revoked with them, so
	// none is active again. The valid ones stay valid, unless their refresh
	// token expired (cascade).
	refreshExpired := map[string]bool{}
	for _, rt := range expiredRefresh {
		refreshExpired[rt.ID] = true
	}
	for i := range ds.AccessTokens {
		at := &ds.AccessTokens[i]
		st := ds.AccessStatus(i)
		want := st == StatusValid && !refreshExpired[at.RefreshID]
		got := validate(t, impl, at.Token)
		if got != want {
			t.Errorf("after sweep, token %d (%s): Validate = %v, want %v", i, st, got, want)
		}
		log.add("after sweep %d: %v", i, got)
	}
	// The store still takes writes after a sweep.
	g := ds.LiveRefresh[0]
	access, _, err := impl.Issue(g.ClientID, g.UserID, g.SessionID, []string{"openid"})
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if !validate(t, impl, access) {
		t.Errorf("issued token does not validate after the sweep")
	}
}
