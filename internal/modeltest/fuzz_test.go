package modeltest

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/internal/refmodel"
)

// seeded returns a harness with a user, a client, a session and tokens
// issued to them, all also in the model.
func seeded(t testing.TB) *Harness {
	h := NewHarness(7, false)
	ops := []Op{
		Insert[oauthdb.User]{Rec: oauthdb.User{ID: "u0", Name: "Ann", Email: "e0@x"}},
		Insert[oauthdb.User]{Rec: oauthdb.User{ID: "u1", Name: "Bob", Email: "e1@x"}},
		Insert[oauthdb.OAuthClient]{Rec: oauthdb.OAuthClient{ID: "c0", ClientID: "cid0", RedirectURIs: []string{"https://a/cb"}}},
		Insert[oauthdb.OAuthClient]{Rec: oauthdb.OAuthClient{ID: "c1", ClientID: "cid1", RedirectURIs: []string{"https://b/cb"},
			UserID: "u1", Scopes: []string{"openid"}}},
		Insert[oauthdb.Session]{Rec: oauthdb.Session{ID: "s0", Token: secretMark + "st0", UserID: "u0", ExpiresAt: Epoch.Add(time.Hour)}},
		Issue{Req: oauthdb.IssueRequest{ClientID: "cid0", UserID: "u0", SessionID: "s0", Scopes: []string{"openid"}, Refresh: true}},
		Issue{Req: oauthdb.IssueRequest{ClientID: "cid1", UserID: "u1", Refresh: true}},
		Issue{Req: oauthdb.IssueRequest{ClientID: "cid0"}},
		Consent{Do: "grant", ClientID: "cid0", UserID: "u0", Scopes: []string{"openid"}},
		Insert[oauthdb.Verification]{Rec: oauthdb.Verification{ID: "v0", Identifier: secretMark + "vi0", Value: "{}", ExpiresAt: Epoch.Add(time.Minute)}},
	}
	for _, op := range ops {
		if err := h.Apply(op); err != nil {
			t.Fatalf("seeding: %s: %v", Format(op), err)
		}
	}
	return h
}

// FuzzTokenValidation presents arbitrary strings as tokens to every
// operation that takes one: none panics, a malformed string is
// ErrTokenMalformed, a string that was never issued is never found, and the
// model agrees on everything.
func FuzzTokenValidation(f *testing.F) {
	for _, s := range []string{"", " ", "a", "plain-0", "tok\x00en", "t\u00f6k", "\x7f", "~!", strings.Repeat("A", 43),
		strings.Repeat("x", oauthdb.MaxTokenLength), strings.Repeat("x", oauthdb.MaxTokenLength+1)} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, tok string, which uint8) {
		h := seeded(t)
		if want := refmodel.Hash(tok); h.DB.Hash(tok) != want || oauthdb.HashToken(tok) != want {
			t.Fatalf("hash of %q: DB.Hash %q, HashToken %q, want %q", tok, h.DB.Hash(tok), oauthdb.HashToken(tok), want)
		}
		issued := slices.Contains(h.access, tok) || slices.Contains(h.refresh, tok)
		_, err := h.DB.ValidateAccessToken(tok)
		_, rerr := h.DB.ValidateRefreshToken(tok)
		for _, err := range []error{err, rerr} {
			switch {
			case refmodel.Malformed(tok):
				if !errors.Is(err, oauthdb.ErrTokenMalformed) || !errors.Is(err, oauthdb.ErrInvalid) {
					t.Fatalf("malformed %q: got %v, want ErrTokenMalformed", tok, err)
				}
			case !issued:
				if !errors.Is(err, oauthdb.ErrTokenNotFound) {
					t.Fatalf("never issued %q: got %v, want ErrTokenNotFound", tok, err)
				}
			}
		}
		// Then every operation, against the model; the token is also
		// presented in place of an issued one (which picks which).
		lit := TokenRef{List: refLiteral, Lit: tok}
		ops := []Op{
			Validate{Tok: lit}, ValidateRefresh{Tok: lit},
			ValidateRefresh{Tok: lit, Introspect: true, Own: true}, ValidateRefresh{Tok: lit, Introspect: true, Client: "cid0"},
			Introspect{Tok: lit, Own: true}, Introspect{Tok: lit, Client: "cid1"},
			Rotate{Tok: lit, Client: "cid0"}, Rotate{Tok: lit, Own: true, Scopes: []string{"openid"}},
			RevokeAccess{Tok: lit}, RevokeRefresh{Tok: lit},
			Rotate{Tok: TokenRef{List: refRefresh, Idx: int(which)}, Own: true},
			Rotate{Tok: lit, Own: true},
		}
		for _, op := range ops {
			if err := h.Apply(op); err != nil {
				t.Fatalf("%s: %v", Format(op), err)
			}
		}
	})
}

// FuzzInsertRecord writes a record of arbitrary field values, by insert or
// update, to a DB that holds a few rows: the write never panics; it either
// succeeds and the DB passes Verify, or it returns an *oauthdb.Error that is
// exactly one of the four kinds and the DB is unchanged. The model agrees.
func FuzzInsertRecord(f *testing.F) {
	f.Add(uint8(0), "u9", "Name", "e9@x", "", "", "", int64(1), int64(0), true, "openid profile")
	f.Add(uint8(1), "s9", secretMark+"st9", "u0", "", "", "", int64(3600e9), int64(0), false, "")
	f.Add(uint8(2), "c9", "cid9", "u1", "https://x/cb", `{"a":1}`, "", int64(0), int64(0), false, "openid")
	f.Add(uint8(3), "a9", secretMark+"h", "cid0", "s0", "u0", "", int64(60e9), int64(0), false, "openid")
	f.Add(uint8(4), "r9", secretMark+"h", "cid1", "", "u1", "org", int64(60e9), int64(1), true, "")
	f.Add(uint8(5), "k9", "cid1", "u0", "org", "", "", int64(0), int64(0), false, "email")
	f.Add(uint8(6), "v9", secretMark+"vi9", "{}", "", "", "", int64(60e9), int64(0), false, "")
	f.Add(uint8(56), "u0", "", "e1@x", "", "", "", int64(0), int64(0), false, "")
	f.Add(uint8(9), "c0", "cid5", "", "https://x/cb", "", "", int64(0), int64(0), false, "")
	f.Add(uint8(3), "a9", secretMark+"h", "cid0", "s0\x00", "u0", "", int64(60e9), int64(0), false, "")
	f.Fuzz(func(t *testing.T, which uint8, s1, s2, s3, s4, s5, s6 string, t1, t2 int64, b bool, scopeList string) {
		h := seeded(t)
		h.arbitraryInput = true
		op := fuzzRecord(which, s1, s2, s3, s4, s5, s6, t1, t2, b, scopeList, time.UTC)
		if err := h.Apply(op); err != nil {
			t.Fatalf("%s: %v", Format(op), err)
		}
		// The property itself, stated without the model, on a DB of its
		// own: the failed write is committed, and must have done nothing.
		h = seeded(t)
		before := DumpDB(h.DB)
		var werr error
		h.DB.Update(func(tx *oauthdb.Tx) error {
			werr = write(tx, op)
			return nil
		})
		if werr == nil {
			if err := h.DB.Verify(); err != nil {
				t.Fatalf("%s: Verify: %v", Format(op), err)
			}
			return
		}
		var e *oauthdb.Error
		if !errors.As(werr, &e) {
			t.Fatalf("%s: error %v is not an *oauthdb.Error", Format(op), werr)
		}
		kinds := 0
		for _, s := range []error{oauthdb.ErrNotFound, oauthdb.ErrConflict, oauthdb.ErrForeignKey, oauthdb.ErrInvalid} {
			if errors.Is(werr, s) {
				kinds++
			}
		}
		if kinds != 1 {
			t.Fatalf("%s: error %v is %d of the four kinds", Format(op), werr, kinds)
		}
		if d := diff(DumpDB(h.DB), before); d != "" {
			t.Fatalf("%s failed with %v but changed the DB:\n%s", Format(op), werr, d)
		}
	})
}

// fuzzRecord turns a fuzzer's values into the write of one record, in the
// table which%7 picks, as an update if which has bit 3 (8) set. Its times
// are in zone.
func fuzzRecord(which uint8, s1, s2, s3, s4, s5, s6 string, t1, t2 int64, b bool, scopeList string, zone *time.Location) Op {
	scopes := strings.Fields(scopeList)
	if scopeList == "" {
		scopes = nil
	}
	// Odd values are instants near the epoch; even ones reach far, to
	// before year one.
	at := func(v int64) time.Time {
		if v%2 != 0 {
			return Epoch.Add(time.Duration(v)).In(zone)
		}
		return time.Time{}.Add(time.Duration(v)).In(zone)
	}
	update := which&8 != 0
	switch which % 7 {
	case 0:
		u := oauthdb.User{ID: s1, Name: s2, Email: s3, Image: s4, EmailVerified: b, CreatedAt: at(t1)}
		return pickWrite(update, u)
	case 1:
		return pickWrite(update, oauthdb.Session{ID: s1, Token: s2, UserID: s3, IPAddress: s4, UserAgent: s5, ExpiresAt: at(t1), CreatedAt: at(t2)})
	case 2:
		c := oauthdb.OAuthClient{ID: s1, ClientID: s2, UserID: s3, RedirectURIs: strings.Fields(s4),
			Metadata: json.RawMessage(s5), Name: s6, Scopes: scopes, Disabled: b}
		return pickWrite(update, c)
	case 3:
		return pickWrite(update, oauthdb.OAuthAccessToken{ID: s1, Token: s2, ClientID: s3, SessionID: s4, UserID: s5, RefreshID: s6,
			Scopes: scopes, ExpiresAt: at(t1), Revoked: at(t2)})
	case 4:
		return pickWrite(update, oauthdb.OAuthRefreshToken{ID: s1, Token: s2, ClientID: s3, SessionID: s4, UserID: s5, ReferenceID: s6,
			Scopes: scopes, ExpiresAt: at(t1), Revoked: at(t2)})
	case 5:
		return pickWrite(update, oauthdb.OAuthConsent{ID: s1, ClientID: s2, UserID: s3, ReferenceID: s4, Scopes: scopes})
	default:
		return pickWrite(update, oauthdb.Verification{ID: s1, Identifier: s2, Value: s3, ExpiresAt: at(t1)})
	}
}

// FuzzSnapshotRoundTrip writes a record of arbitrary field values, in an
// arbitrary time zone; whatever the DB accepts, its snapshot must survive
// JSON and Restore exactly: the same snapshot, the same JSON bytes. Input a
// snapshot cannot carry must be refused at the door instead.
func FuzzSnapshotRoundTrip(f *testing.F) {
	f.Add(uint8(0), "u9", "Name", "e9@x", "", "", "", int64(1), int64(0), true, "openid", int32(0))
	f.Add(uint8(1), "s9", "st9", "u0", "192.0.2.1", "agent", "", int64(3600e9), int64(3), false, "", int32(561))
	f.Add(uint8(2), "c9", "cid9", "u1", "https://x/cb", ` {"a": [1, 2], "h": "<&>"} `, "App", int64(0), int64(0), false, "openid", int32(-3600))
	f.Add(uint8(2), "c9", "cid9", "", "https://x/cb", `null`, "", int64(0), int64(0), false, "", int32(0))
	f.Add(uint8(3), "a9", "h9", "cid0", "s0", "u0", "", int64(60e9), int64(1), false, "openid offline_access", int32(50400))
	f.Add(uint8(4), "r9", "h9", "cid1", "", "u1", "org", int64(60e9), int64(1), true, "email", int32(0))
	f.Add(uint8(5), "k9", "cid1", "u0", "org", "", "", int64(0), int64(0), false, "email", int32(0))
	f.Add(uint8(6), "v9", "vi9", `{"x":"\u2028"}`, "", "", "", int64(60e9), int64(0), false, "", int32(0))
	f.Add(uint8(0), "u\xff", "N", "e9@x", "", "", "", int64(1), int64(0), false, "", int32(0))
	f.Fuzz(func(t *testing.T, which uint8, s1, s2, s3, s4, s5, s6 string, t1, t2 int64, b bool, scopeList string, zone int32) {
		op := fuzzRecord(which, s1, s2, s3, s4, s5, s6, t1, t2, b, scopeList, time.FixedZone("z", int(zone%(18*3600))))
		h := seeded(t)
		var werr error
		h.DB.Update(func(tx *oauthdb.Tx) error {
			werr = write(tx, op)
			return nil
		})
		if werr != nil {
			return // refused at the door: nothing to carry
		}
		snap := h.DB.Snapshot()
		b1, err := json.Marshal(snap)
		if err != nil {
			t.Fatalf("%s: the DB accepted it, but its snapshot does not encode: %v", Format(op), err)
		}
		var back oauthdb.Snapshot
		if err := json.Unmarshal(b1, &back); err != nil {
			t.Fatalf("%s: the snapshot does not decode: %v", Format(op), err)
		}
		db, err := oauthdb.Open(h.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Restore(back); err != nil {
			t.Fatalf("%s: Restore refuses the DB's own snapshot: %v", Format(op), err)
		}
		again := db.Snapshot()
		if d := cmp.Diff(snap, again); d != "" {
			t.Fatalf("%s: the snapshot changed in the round trip (-before +after):\n%s", Format(op), d)
		}
		b2, err := json.Marshal(again)
		if err != nil || string(b1) != string(b2) {
			t.Fatalf("%s: the snapshot's JSON changed in the round trip (%v):\n%s\n%s", Format(op), err, b1, b2)
		}
	})
}

// pickWrite returns an insert of rec, or an update of the row with its ID.
func pickWrite[T any](update bool, rec T) Op {
	if update {
		return Update[T]{Ref: -1, Rec: rec}
	}
	return Insert[T]{Rec: rec}
}

// write does a write op in tx.
func write(tx *oauthdb.Tx, op Op) error {
	w, _ := resolve(refmodel.New(refmodel.Config{}), op)
	return w.db(tx)
}

// FuzzOps turns bytes into a sequence of operations, by the same generator
// as TestModel, and runs it against the model.
func FuzzOps(f *testing.F) {
	for seed := range uint64(8) {
		src := NewRandSource(seed)
		b := make([]byte, 400)
		for i := range b {
			b[i] = byte(src.Intn(256))
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lenient := len(data) > 0 && data[0]&1 == 1
		g := &Gen{Src: &ByteSource{B: data}, Avoid: avoid()}
		r, fail := Generate(11, lenient, g, 300, nil)
		if fail != nil {
			small, sf := r.Shrink()
			if sf == nil {
				t.Fatalf("%v\n(did not replay)\n%s", fail, r)
			}
			t.Fatalf("%v\n\nshrunk to %s", sf, small)
		}
	})
}
