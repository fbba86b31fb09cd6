package oauthdb_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
)

// The snapshot stream: WriteSnapshot → ReadSnapshot gives back the same
// state, refuses what is not a snapshot it wrote (saying where), changes
// nothing when it refuses, and swaps the state in at once.

// The format, as WriteSnapshot's documentation describes it, read and
// written here on its own so that the tests can take a snapshot apart, edit
// it and put it back together with its checksums right.
const (
	magicLen  = 21
	headerLen = 104 // magic, version, written, 8 row counts, an empty position, checksum
	tables    = 7
	sections  = 8 // the tables and the marks
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// snapFile is a snapshot taken apart: its header (before its checksum) and
// its row frames.
type snapFile struct {
	header []byte
	frames []snapFrame
}

type snapFrame struct {
	kind byte
	rec  []byte
	off  int // where the frame starts in the file it was read from
}

func parseSnap(t testing.TB, data []byte) snapFile {
	t.Helper()
	f := snapFile{header: bytes.Clone(data[:headerLen-4])}
	for i := headerLen; ; {
		if data[i] == 0 {
			if i+5 != len(data) {
				t.Fatalf("the end frame at byte %d is not the end of the file", i)
			}
			return f
		}
		n, w := binary.Uvarint(data[i+1:])
		rec := data[i+1+w : i+1+w+int(n)]
		f.frames = append(f.frames, snapFrame{kind: data[i], rec: bytes.Clone(rec), off: i})
		i += 1 + w + int(n) + 4
	}
}

// bytes puts the file together: row counts from its frames, every
// checksum computed.
func (f snapFile) bytes() []byte {
	var rows [sections]uint64
	for _, fr := range f.frames {
		if fr.kind >= 1 && fr.kind <= sections {
			rows[fr.kind-1]++
		}
	}
	h := bytes.Clone(f.header)
	for i, n := range rows {
		binary.BigEndian.PutUint64(h[magicLen+14+8*i:], n)
	}
	return f.raw(h)
}

// raw puts the file together with the header h as it is.
func (f snapFile) raw(h []byte) []byte {
	out := binary.BigEndian.AppendUint32(bytes.Clone(h), crc32.Checksum(h, castagnoli))
	for _, fr := range f.frames {
		start := len(out)
		out = append(out, fr.kind)
		out = binary.AppendUvarint(out, uint64(len(fr.rec)))
		out = append(out, fr.rec...)
		out = binary.BigEndian.AppendUint32(out, crc32.Checksum(out[start:], castagnoli))
	}
	out = append(out, 0)
	return binary.BigEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

// of returns the frames of one kind.
func (f snapFile) of(kind byte) []snapFrame {
	var out []snapFrame
	for _, fr := range f.frames {
		if fr.kind == kind {
			out = append(out, fr)
		}
	}
	return out
}

// reseal recomputes every checksum of data that its structure lets it
// find, leaving the rest as it is: what lets a fuzzer's edits reach past
// the checksums to the decoder.
func reseal(data []byte) []byte {
	data = bytes.Clone(data)
	if len(data) < headerLen {
		return data
	}
	binary.BigEndian.PutUint32(data[headerLen-4:], crc32.Checksum(data[:headerLen-4], castagnoli))
	for i := headerLen; i < len(data); {
		if data[i] == 0 {
			if i+5 <= len(data) {
				binary.BigEndian.PutUint32(data[i+1:], crc32.Checksum(data[:i+1], castagnoli))
			}
			return data
		}
		n, w := binary.Uvarint(data[i+1:])
		if w <= 0 || n > uint64(len(data)) {
			return data
		}
		end := i + 1 + w + int(n)
		if end+4 > len(data) {
			return data
		}
		binary.BigEndian.PutUint32(data[end:], crc32.Checksum(data[i:end], castagnoli))
		i = end + 4
	}
	return data
}

// rec builds a record's encoding, field by field, as the format says.
type rec []byte

func (r rec) str(s string) rec { return append(binary.AppendUvarint(r, uint64(len(s))), s...) }
func (r rec) flag(b byte) rec  { return append(r, b) }
func (r rec) time(t time.Time) rec {
	if t.IsZero() {
		return append(r, 0)
	}
	return binary.AppendVarint(binary.AppendUvarint(r, uint64(t.Nanosecond())+1), t.Unix())
}

// userRec encodes a user: id, name, email, emailVerified, image,
// createdAt, updatedAt.
func userRec(id, name, email string) rec {
	return rec(nil).str(id).str(name).str(email).flag(0).str("").time(t0).time(t0)
}

// The world of a snapshot: every table, every kind of token life.
type fullWorld struct {
	db      *oauthdb.DB
	clk     *clock
	access  []string // plaintext tokens, for validation
	refresh []string
}

func newFullWorld(t testing.TB) *fullWorld {
	t.Helper()
	clk := &clock{now: t0}
	db, err := oauthdb.Open(oauthdb.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	w := &fullWorld{db: db, clk: clk}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.Update(func(tx *oauthdb.Tx) error {
		return errors.Join(
			tx.InsertUser(oauthdb.User{ID: "u1", Name: "Ada", Email: "ada@example.com"}),
			tx.InsertUser(oauthdb.User{ID: "u2", Name: "Bob", Email: "bob@example.com"}),
			tx.InsertSession(oauthdb.Session{ID: "s1", Token: "cookie-1", UserID: "u1", ExpiresAt: t0.Add(24 * time.Hour)}),
			tx.InsertSession(oauthdb.Session{ID: "s2", Token: "cookie-2", UserID: "u2", ExpiresAt: t0.Add(24 * time.Hour)}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c1", ClientID: "cid-1", ClientSecret: oauthdb.HashSecret("secret-1"),
				Scopes: []string{"openid", "profile", "email", "offline_access"}, RedirectURIs: []string{"https://one.example/cb"}}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c2", ClientID: "cid-2", RedirectURIs: []string{"https://two.example/cb"}}),
			tx.InsertUser(oauthdb.User{ID: "u3", Name: "Cy", Email: "cy@example.com", EmailVerified: true, Image: "https://img.example/cy.png"}),
			tx.InsertSession(oauthdb.Session{ID: "s3", Token: "cookie-3", UserID: "u3", ExpiresAt: t0.Add(48 * time.Hour),
				IPAddress: "192.0.2.7", UserAgent: "Mozilla/5.0 (test)"}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c3", ClientID: "cid-3", ClientSecret: oauthdb.HashSecret("secret-3"),
				SkipConsent: true, EnableEndSession: true, Scopes: []string{"openid", "offline_access", "profile"},
				RedirectURIs: []string{"https://three.example/cb", "https://three.example/cb2"}, PostLogoutRedirectURIs: []string{"https://three.example/bye"},
				GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"}, Contacts: []string{"ops@three.example"},
				TokenEndpointAuthMethod: "client_secret_post", Name: "Three", URI: "https://three.example", Icon: "https://three.example/i.png",
				TOS: "https://three.example/tos", Policy: "https://three.example/policy", SoftwareID: "sw-3", SoftwareVersion: "3.1",
				SoftwareStatement: "eyJhbGciOi.x.y", Type: "web", ReferenceID: "org-1", Metadata: []byte(`{"tier":"gold","n":[1,2]}`), UserID: "u3",
				ClientCredentialsScopes: []string{"read"}, ClientDiscoveryID: "disc-3", SubjectType: "public", ApplicationType: "web",
				BackchannelLogoutURI: "https://three.example/bcl", BackchannelLogoutSessionRequired: true, JWKSURI: "https://three.example/jwks",
				RequirePKCE: true, DPoPBoundAccessTokens: true}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c4", ClientID: "cid-4", Public: true, Disabled: true, Scopes: []string{},
				RedirectURIs: []string{"app://four/cb"}}),
			tx.InsertVerification(oauthdb.Verification{ID: "v1", Identifier: oauthdb.HashToken("code-1"),
				Value: `{"type":"authorization_code","userId":"u1"}`, ExpiresAt: t0.Add(10 * time.Minute)}),
			tx.InsertVerification(oauthdb.Verification{ID: "v2", Identifier: oauthdb.HashToken("code-2"), Value: `{}`, ExpiresAt: t0.Add(-time.Minute)}),
		)
	}))
	grant := func(req oauthdb.IssueRequest) oauthdb.IssuedTokens {
		tok, err := db.IssueTokens(req)
		must(err)
		w.access = append(w.access, tok.AccessToken)
		if tok.RefreshToken != "" {
			w.refresh = append(w.refresh, tok.RefreshToken)
		}
		return tok
	}
	a := grant(userGrant)
	b := grant(oauthdb.IssueRequest{ClientID: "cid-3", UserID: "u3", SessionID: "s3", ReferenceID: "org-1",
		Scopes: []string{"openid", "offline_access"}, Refresh: true, AuthorizationCodeID: oauthdb.HashToken("code-0"),
		AuthTime: t0.Add(-time.Minute), Resources: []string{"https://api.example"}, RequestedUserInfoClaims: []string{"email"},
		DPoPThumbprint: jktA}) // cid-3 has dpopBoundAccessTokens
	grant(oauthdb.IssueRequest{ClientID: "cid-2", Scopes: []string{"read"}}) // client credentials
	d := grant(oauthdb.IssueRequest{ClientID: "cid-2", UserID: "u2", SessionID: "s2", Scopes: []string{"openid"}, Refresh: true})
	e := grant(oauthdb.IssueRequest{ClientID: "cid-1", UserID: "u2", Scopes: []string{"openid"}, Refresh: true})
	clk.Advance(time.Minute)
	rot, err := db.Refresh(oauthdb.RefreshRequest{Token: b.RefreshToken, ClientID: "cid-3", DPoPThumbprint: jktA})
	if err != nil {
		t.Fatal(err)
	}
	w.access, w.refresh = append(w.access, rot.AccessToken), append(w.refresh, rot.RefreshToken)
	if _, err := db.RotateRefreshToken(a.RefreshToken, "cid-1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RotateRefreshToken(a.RefreshToken, "cid-1", nil); !errors.Is(err, oauthdb.ErrTokenReplayed) {
		t.Fatalf("replay: %v", err)
	}
	if _, err := db.RevokeAccessToken(d.AccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RevokeRefreshToken(e.RefreshToken); err != nil {
		t.Fatal(err)
	}
	for _, k := range []oauthdb.ConsentKey{{ClientID: "cid-1", UserID: "u1"}, {ClientID: "cid-3", UserID: "u3", ReferenceID: "org-1"}, {ClientID: "cid-3", ReferenceID: "org-1"}} {
		if _, err := db.GrantConsent(k, []string{"openid"}); err != nil {
			t.Fatal(err)
		}
	}
	must(db.Update(func(tx *oauthdb.Tx) error { return tx.DeleteSession("s2") })) // sessionId cleared, access revoked
	clk.Advance(time.Minute)
	return w
}

// answers is what validation says of each token of a world.
func (w *fullWorld) answers(db *oauthdb.DB) []string {
	var out []string
	for _, tok := range w.access {
		info, err := db.ValidateAccessToken(tok)
		out = append(out, fmt.Sprintf("%+v %v", info, err))
	}
	for _, tok := range w.refresh {
		info, err := db.ValidateRefreshToken(tok)
		out = append(out, fmt.Sprintf("%+v %v", info, err))
	}
	return out
}

func writeSnap(t testing.TB, db *oauthdb.DB) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := db.WriteSnapshot(&buf); err != nil {
		t.Fatalf("WriteSnapshot: %v", err)
	}
	return buf.Bytes()
}

// A snapshot read into a new DB gives back the same records, the same
// answers to validation and, written again, the same bytes.
func TestSnapshotStreamRoundTrip(t *testing.T) {
	w := newFullWorld(t)
	want := dump(t, w.db)
	for _, n := range []int{len(want.Users), len(want.Sessions), len(want.Clients), len(want.AccessTokens),
		len(want.RefreshTokens), len(want.Consents), len(want.Verifications)} {
		if n == 0 {
			t.Fatalf("the world has an empty table: %+v", want)
		}
	}
	data := writeSnap(t, w.db)

	// A DB with a state of its own, replaced whole: its user would
	// conflict with the snapshot's.
	warmClock := &clock{now: w.clk.Now()}
	warm, err := oauthdb.Open(oauthdb.WithClock(warmClock.Now))
	if err != nil {
		t.Fatal(err)
	}
	update(t, warm, func(tx *oauthdb.Tx) error {
		return tx.InsertUser(oauthdb.User{ID: "gone", Name: "Gone", Email: "ada@example.com"})
	})
	info, err := warm.ReadSnapshot(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ReadSnapshot: %v", err)
	}
	if diff := cmp.Diff(want, dump(t, warm)); diff != "" {
		t.Errorf("read snapshot (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(w.answers(w.db), w.answers(warm)); diff != "" {
		t.Errorf("validation after the read (-want +got):\n%s", diff)
	}
	if again := writeSnap(t, warm); !bytes.Equal(again, data) {
		t.Errorf("the read DB writes another snapshot (%d bytes, was %d)", len(again), len(data))
	}
	wantInfo := oauthdb.SnapshotInfo{Version: 2, Written: w.clk.Now(), Size: int64(len(data)), Rows: map[string]int{
		oauthdb.TableUser: len(want.Users), oauthdb.TableSession: len(want.Sessions), oauthdb.TableOAuthClient: len(want.Clients),
		oauthdb.TableOAuthAccessToken: len(want.AccessTokens), oauthdb.TableOAuthRefreshToken: len(want.RefreshTokens),
		oauthdb.TableOAuthConsent: len(want.Consents), oauthdb.TableVerification: len(want.Verifications)}}
	if diff := cmp.Diff(wantInfo, info); diff != "" {
		t.Errorf("SnapshotInfo (-want +got):\n%s", diff)
	}
	if info.Total() != want.Len() {
		t.Errorf("Total = %d, want %d", info.Total(), want.Len())
	}
	if s := info.String(); !strings.Contains(s, "v2") || !strings.Contains(s, "oauthAccessToken="+fmt.Sprint(len(want.AccessTokens))) {
		t.Errorf("String = %q", s)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("warm start", "snapshot", info)
	if !strings.Contains(logged.String(), "snapshot.user=3") || !strings.Contains(logged.String(), "snapshot.version=2") {
		t.Errorf("logged %q", logged.String())
	}
}

// A snapshot holds no token and no client secret in plaintext: only what
// the DB itself holds.
func TestSnapshotStreamHoldsNoPlaintext(t *testing.T) {
	w := newFullWorld(t)
	data := writeSnap(t, w.db)
	for _, s := range append(append([]string{"secret-1", "secret-3", "code-1"}, w.access...), w.refresh...) {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("the snapshot holds a plaintext token or secret")
		}
	}
}

func TestEmptySnapshot(t *testing.T) {
	data := writeSnap(t, openDB(t))
	if len(data) != headerLen+5 {
		t.Errorf("an empty snapshot takes %d bytes, want %d", len(data), headerLen+5)
	}
	db, _ := world(t)
	info, err := db.ReadSnapshot(bytes.NewReader(data))
	if err != nil || info.Total() != 0 || db.Snapshot().Len() != 0 {
		t.Errorf("ReadSnapshot(empty) = %+v, %v; %d records left", info, err, db.Snapshot().Len())
	}
}

// snapErr checks that err is a *SnapshotError around want, and returns it.
func snapErr(t *testing.T, err, want error) *oauthdb.SnapshotError {
	t.Helper()
	var se *oauthdb.SnapshotError
	if !errors.As(err, &se) || !errors.Is(err, want) {
		t.Fatalf("error = %v, want a *SnapshotError around %v", err, want)
	}
	return se
}

// unchanged checks that a failed read left db as it was.
func unchanged(t *testing.T, db *oauthdb.DB, before oauthdb.Snapshot) {
	t.Helper()
	if diff := cmp.Diff(before, dump(t, db)); diff != "" {
		t.Fatalf("a failed ReadSnapshot changed the DB (-before +after):\n%s", diff)
	}
}

// Every cut of a snapshot is ErrSnapshotTruncated, at the frame the cut
// falls in, and changes nothing.
func TestReadSnapshotTruncated(t *testing.T) {
	src, _ := world(t)
	seed2(t, src)
	data := writeSnap(t, src)
	f := parseSnap(t, data)
	db, _ := world(t)
	before := dump(t, db)
	for cut := range len(data) {
		_, err := db.ReadSnapshot(bytes.NewReader(data[:cut]))
		se := snapErr(t, err, oauthdb.ErrSnapshotTruncated)
		wantOff, wantTable, wantRow := 0, "", 0
		switch {
		case cut < magicLen:
		case cut < magicLen+2:
			wantOff = magicLen
		case cut < headerLen-5:
			wantOff = magicLen + 2
		case cut < headerLen-4:
			wantOff = headerLen - 5 // the position's length
		case cut < headerLen:
			wantOff = headerLen - 4
		default:
			wantOff = len(data) - 5 // the end frame, unless a row holds the cut
			row := map[byte]int{}
			for _, fr := range f.frames {
				row[fr.kind]++
				if fr.off <= cut {
					wantOff, wantTable, wantRow = fr.off, tableNames[fr.kind-1], row[fr.kind]
				}
			}
			if cut >= len(data)-5 {
				wantOff, wantTable, wantRow = len(data)-5, "", 0
			}
		}
		if int(se.Offset) != wantOff || se.Table != wantTable || se.Row != wantRow {
			t.Fatalf("cut at %d: error at byte %d, %q row %d; want byte %d, %q row %d (%v)",
				cut, se.Offset, se.Table, se.Row, wantOff, wantTable, wantRow, err)
		}
	}
	unchanged(t, db, before)
}

var tableNames = []string{oauthdb.TableUser, oauthdb.TableSession, oauthdb.TableOAuthClient, oauthdb.TableOAuthRefreshToken,
	oauthdb.TableOAuthAccessToken, oauthdb.TableOAuthConsent, oauthdb.TableVerification}

// seed2 adds the seeded world's tokens to world's users and clients.
func seed2(t *testing.T, db *oauthdb.DB) {
	t.Helper()
	issue(t, db, userGrant)
	issue(t, db, oauthdb.IssueRequest{ClientID: "cid-2", Scopes: []string{"read"}})
	if _, err := db.GrantConsent(oauthdb.ConsentKey{ClientID: "cid-1", UserID: "u1"}, []string{"openid"}); err != nil {
		t.Fatal(err)
	}
}

// Every flipped bit is refused — most by a checksum — and changes nothing.
func TestReadSnapshotFlippedBits(t *testing.T) {
	src, _ := world(t)
	seed2(t, src)
	data := writeSnap(t, src)
	db, _ := world(t)
	before := dump(t, db)
	kinds := map[error]int{}
	for i := range data {
		for bit := range 8 {
			c := bytes.Clone(data)
			c[i] ^= 1 << bit
			_, err := db.ReadSnapshot(bytes.NewReader(c))
			var se *oauthdb.SnapshotError
			if !errors.As(err, &se) {
				t.Fatalf("byte %d bit %d flipped: %v", i, bit, err)
			}
			for _, k := range []error{oauthdb.ErrSnapshotCorrupt, oauthdb.ErrSnapshotMalformed, oauthdb.ErrSnapshotVersion, oauthdb.ErrSnapshotTruncated} {
				if errors.Is(err, k) {
					kinds[k]++
				}
			}
			if i >= magicLen+2 && !errors.Is(err, oauthdb.ErrSnapshotCorrupt) && !errors.Is(err, oauthdb.ErrSnapshotTruncated) &&
				!errors.Is(err, oauthdb.ErrSnapshotMalformed) {
				t.Fatalf("byte %d bit %d flipped: %v", i, bit, err)
			}
		}
	}
	if kinds[oauthdb.ErrSnapshotCorrupt] < len(data)*8*9/10 {
		t.Errorf("only %d of %d flips were caught by a checksum: %v", kinds[oauthdb.ErrSnapshotCorrupt], len(data)*8, kinds)
	}
	unchanged(t, db, before)
}

// Each way a snapshot can be wrong is its own error, which says where: the
// byte, the table and row, the field; and changes nothing.
// recID is the id of an encoded record: its first field.
func recID(r rec) string { return string(r[1 : 1+r[0]]) }

func TestReadSnapshotErrorsSayWhere(t *testing.T) {
	src, _ := world(t)
	seed2(t, src)
	data := writeSnap(t, src)
	f := parseSnap(t, data)
	users, rts, ats := f.of(1), f.of(4), f.of(5)
	second := users[1].off // where the second user's frame starts, in data and in f.bytes()
	sessionsAt := f.of(2)[0].off
	edit := func(fn func(f *snapFile)) []byte {
		g := parseSnap(t, data)
		fn(&g)
		return g.bytes()
	}
	withUsers := func(recs ...rec) []byte {
		return edit(func(g *snapFile) {
			frames := []snapFrame{}
			for _, r := range recs {
				frames = append(frames, snapFrame{kind: 1, rec: r})
			}
			g.frames = append(frames, g.frames[len(users):]...)
		})
	}
	header := func(fn func(h []byte)) []byte {
		h := bytes.Clone(f.header)
		fn(h)
		return f.raw(h)
	}
	tail := len(data) - 5
	// The access token issued with the refresh token: dropping the refresh
	// token leaves its refreshId dangling.
	rtID := rts[0].rec[1 : 1+rts[0].rec[0]]
	var orphan snapFrame
	orphanRow := 0
	for i, a := range ats {
		if bytes.Contains(a.rec, rtID) {
			orphan, orphanRow = a, i+1
		}
	}
	editRaw := func(fn func(f *snapFile)) []byte {
		g := parseSnap(t, data)
		fn(&g)
		return g.raw(g.header)
	}
	cases := []struct {
		name  string
		data  []byte
		want  error
		off   int
		table string
		row   int
		field string
		id    string // the row's, once its record decoded
	}{
		{"not a snapshot", []byte(`{"user":[]}`), oauthdb.ErrSnapshotMalformed, 0, "", 0, "", ""},
		{"empty", nil, oauthdb.ErrSnapshotTruncated, 0, "", 0, "", ""},
		{"a newer version", header(func(h []byte) { h[magicLen+1] = 3 }), oauthdb.ErrSnapshotVersion, magicLen, "", 0, "", ""},
		{"header checksum", append(append(bytes.Clone(data[:headerLen-1]), data[headerLen-1]^1), data[headerLen:]...), oauthdb.ErrSnapshotCorrupt, headerLen - 4, "", 0, "", ""},
		{"a time of year 10000", header(func(h []byte) {
			binary.BigEndian.PutUint64(h[magicLen+2:], uint64(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()))
		}), oauthdb.ErrSnapshotMalformed, magicLen + 2, "", 0, "", ""},
		{"10^12 rows", header(func(h []byte) { binary.BigEndian.PutUint64(h[magicLen+14+8*4:], 1e12) }), oauthdb.ErrSnapshotMalformed, magicLen + 14 + 8*4, "", 0, "", ""},
		{"a row more in the header", header(func(h []byte) { binary.BigEndian.PutUint64(h[magicLen+14:], uint64(len(users)+1)) }),
			oauthdb.ErrSnapshotMalformed, sessionsAt, oauthdb.TableUser, len(users) + 1, "", ""},
		{"a row less in the header", header(func(h []byte) { binary.BigEndian.PutUint64(h[magicLen+14+8*5:], 0) }),
			oauthdb.ErrSnapshotMalformed, f.of(6)[0].off, "", 0, "", ""},
		{"the end before the last row", editRaw(func(g *snapFile) { g.frames = g.frames[:len(g.frames)-1] }),
			oauthdb.ErrSnapshotMalformed, tail - frameLen(f.frames[len(f.frames)-1]), oauthdb.TableOAuthConsent, 1, "", ""},
		{"a record of 100 MB", append(bytes.Clone(data[:headerLen]), append([]byte{1}, binary.AppendUvarint(nil, 100<<20)...)...),
			oauthdb.ErrSnapshotMalformed, headerLen, oauthdb.TableUser, 1, "", ""},
		{"a record's checksum", func() []byte { c := bytes.Clone(data); c[second+5] ^= 0x20; return c }(),
			oauthdb.ErrSnapshotCorrupt, second, oauthdb.TableUser, 2, "", ""},
		{"the stream's checksum", func() []byte { c := bytes.Clone(data); c[len(c)-1] ^= 1; return c }(),
			oauthdb.ErrSnapshotCorrupt, tail, "", 0, "", ""},
		{"data after the end", append(bytes.Clone(data), 0), oauthdb.ErrSnapshotMalformed, len(data), "", 0, "", ""},
		{"a dangling foreign key", edit(func(g *snapFile) {
			g.frames = slicesDelete(g.frames, func(fr snapFrame) bool { return bytes.Equal(fr.rec, rts[0].rec) })
		}), oauthdb.ErrForeignKey, orphan.off - frameLen(rts[0]), oauthdb.TableOAuthAccessToken, orphanRow, "refreshId", recID(orphan.rec)},
		{"a duplicate id", withUsers(users[0].rec, users[0].rec, users[1].rec), oauthdb.ErrConflict, second, oauthdb.TableUser, 2, "id", recID(users[0].rec)},
		{"a duplicate email", withUsers(users[0].rec, userRec("u1x", "Eve", "ada@example.com"), users[1].rec),
			oauthdb.ErrConflict, second, oauthdb.TableUser, 2, "email", "u1x"},
		{"a record the door refuses", withUsers(users[0].rec, userRec("u1x", "", "eve@example.com"), users[1].rec),
			oauthdb.ErrInvalid, second, oauthdb.TableUser, 2, "name", "u1x"},
		{"rows out of order", withUsers(users[1].rec, users[0].rec), oauthdb.ErrSnapshotMalformed, second, oauthdb.TableUser, 2, "id", recID(users[0].rec)},
		{"no createdAt", withUsers(users[0].rec, rec(nil).str("u1x").str("Eve").str("e@x").flag(0).str("").time(time.Time{}).time(t0), users[1].rec),
			oauthdb.ErrSnapshotMalformed, second, oauthdb.TableUser, 2, "createdAt", "u1x"},
		{"a bool of 2", withUsers(users[0].rec, rec(nil).str("u1x").str("Eve").str("e@x").flag(2).str("").time(t0).time(t0), users[1].rec),
			oauthdb.ErrSnapshotMalformed, second, oauthdb.TableUser, 2, "", "u1x"},
		{"a longer varint", withUsers(users[0].rec, append([]byte{0x83, 0x00}, userRec("u1x", "Eve", "e@x")[1:]...), users[1].rec),
			oauthdb.ErrSnapshotMalformed, second, oauthdb.TableUser, 2, "", "u1x"},
		{"a string past the end", withUsers(users[0].rec, rec(nil).str("u1x").str("Eve")[:6], users[1].rec),
			oauthdb.ErrSnapshotMalformed, second, oauthdb.TableUser, 2, "name", "u1x"},
		{"bytes left over", withUsers(users[0].rec, append(userRec("u1x", "Eve", "e@x"), 0), users[1].rec),
			oauthdb.ErrSnapshotMalformed, second, oauthdb.TableUser, 2, "", "u1x"},
		{"a createdAt of year 10000", withUsers(users[0].rec, rec(nil).str("u1x").str("Eve").str("e@x").flag(0).str("").
			time(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)).time(t0), users[1].rec),
			oauthdb.ErrSnapshotMalformed, second, oauthdb.TableUser, 2, "createdAt", "u1x"},
		{"a row of another table", editRaw(func(g *snapFile) { g.frames[1].kind = 2 }),
			oauthdb.ErrSnapshotMalformed, second, oauthdb.TableUser, 2, "", ""},
	}
	db, _ := world(t)
	before := dump(t, db)
	secrets := []string{"cookie-1", "cookie-2"}
	for _, a := range f.frames {
		if a.kind == 4 || a.kind == 5 {
			secrets = append(secrets, string(a.rec[1+a.rec[0]+1:][:43])) // the token hash after the id
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info, err := db.ReadSnapshot(bytes.NewReader(c.data))
			se := snapErr(t, err, c.want)
			if int(se.Offset) != c.off || se.Table != c.table || se.Row != c.row || se.Field != c.field || se.ID != c.id {
				t.Errorf("error at byte %d, %q row %d (id %q) field %q; want byte %d, %q row %d (id %q) field %q\n%v",
					se.Offset, se.Table, se.Row, se.ID, se.Field, c.off, c.table, c.row, c.id, c.field, err)
			}
			if c.id != "" && !strings.Contains(err.Error(), `"`+c.id+`"`) {
				t.Errorf("the error does not name the row %q: %v", c.id, err)
			}
			if info.Version != 0 || info.Rows != nil {
				t.Errorf("a failed read returned info %+v", info)
			}
			msg := err.Error()
			if len(msg) > 300 {
				t.Errorf("the error takes %d bytes: %s", len(msg), msg)
			}
			for _, s := range secrets {
				if strings.Contains(msg, s) {
					t.Errorf("the error shows a secret: %s", msg)
				}
			}
			t.Log(msg)
			unchanged(t, db, before)
		})
	}
}

// A conflict on a secret value (a session's cookie) does not show it.
func TestReadSnapshotHidesSecrets(t *testing.T) {
	src, _ := world(t)
	f := parseSnap(t, writeSnap(t, src))
	for i, fr := range f.frames {
		if fr.kind == 2 && i > 0 && f.frames[i-1].kind == 2 {
			// The second session, with the first one's id changed: its
			// cookie and its id are both the first's, but the id differs.
			prev := f.frames[i-1].rec
			f.frames[i].rec = append(rec(nil).str("s1z"), prev[1+prev[0]:]...)
		}
	}
	_, err := openDB(t).ReadSnapshot(bytes.NewReader(f.bytes()))
	se := snapErr(t, err, oauthdb.ErrConflict)
	if se.Field != "token" || strings.Contains(err.Error(), "cookie-") {
		t.Errorf("error = %v (field %q), want a conflict on token that does not show it", err, se.Field)
	}
}

func slicesDelete(frames []snapFrame, del func(snapFrame) bool) []snapFrame {
	var out []snapFrame
	for _, fr := range frames {
		if !del(fr) {
			out = append(out, fr)
		}
	}
	return out
}

// frameLen is the length a frame takes in a file.
func frameLen(fr snapFrame) int {
	return 1 + len(binary.AppendUvarint(nil, uint64(len(fr.rec)))) + len(fr.rec) + 4
}

// A writer that fails fails WriteSnapshot, with its error and where.
func TestWriteSnapshotWriterFails(t *testing.T) {
	db, _ := world(t)
	seed2(t, db)
	full := writeSnap(t, db)
	boom := errors.New("disk full")
	err := db.WriteSnapshot(&failingWriter{room: 100, err: boom})
	se := snapErr(t, err, boom)
	if se.Offset > int64(len(full)) {
		t.Errorf("error at byte %d of %d: %v", se.Offset, len(full), err)
	}
}

type failingWriter struct {
	room int
	err  error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) <= w.room {
		w.room -= len(p)
		return len(p), nil
	}
	n := w.room
	w.room = 0
	return n, w.err
}

// slowWriter gives way on every write, so that writers commit while a
// snapshot is written.
type slowWriter struct{ bytes.Buffer }

func (w *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	return w.Buffer.Write(p)
}

// WriteSnapshot reads one consistent state while writers go on: every
// snapshot written under a stream of grants, rotations and revocations
// reads back into a DB that passes Verify (so every refreshId names a
// refresh token of the file), and writers committed while it was written.
func TestWriteSnapshotWhileWriting(t *testing.T) {
	db, clk := world(t)
	var live []string
	for range 300 {
		tok := issue(t, db, userGrant)
		live = append(live, tok.RefreshToken)
	}
	var commits atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 2 {
		refresh := live[g*150 : (g+1)*150]
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				j := i % len(refresh)
				switch i % 3 {
				case 0:
					tok, err := db.RotateRefreshToken(refresh[j], "cid-1", nil)
					if err != nil {
						t.Errorf("rotate: %v", err)
						return
					}
					refresh[j] = tok.RefreshToken
				case 1:
					tok, err := db.IssueTokens(userGrant)
					if err != nil {
						t.Errorf("issue: %v", err)
						return
					}
					if _, err := db.RevokeRefreshToken(tok.RefreshToken); err != nil {
						t.Errorf("revoke: %v", err)
						return
					}
					commits.Add(1)
				case 2:
					if _, err := db.SweepExpired(100); err != nil {
						t.Errorf("sweep: %v", err)
						return
					}
				}
				commits.Add(1)
			}
		})
	}
	_ = clk
	for range 5 {
		before := commits.Load()
		var w slowWriter
		if err := db.WriteSnapshot(&w); err != nil {
			t.Fatal(err)
		}
		during := commits.Load() - before
		copyDB := openDB(t)
		info, err := copyDB.ReadSnapshot(&w)
		if err != nil {
			t.Fatalf("a snapshot written under writes does not read back: %v", err)
		}
		if err := copyDB.Verify(); err != nil {
			t.Fatal(err)
		}
		s := copyDB.Snapshot()
		rts := map[string]bool{}
		for _, rt := range s.RefreshTokens {
			rts[rt.ID] = true
		}
		for _, at := range s.AccessTokens {
			if at.RefreshID != "" && !rts[at.RefreshID] {
				t.Fatalf("access token %s names refresh token %s, not in the snapshot", at.ID, at.RefreshID)
			}
		}
		t.Logf("%d rows, %d commits while it was written", info.Total(), during)
		if during == 0 {
			t.Log("no commit while the snapshot was written")
		}
	}
	close(stop)
	wg.Wait()
}

// ReadSnapshot swaps a state in at once: a validation running meanwhile
// answers from the old state or the new, never from a mix, and once
// ReadSnapshot has returned every validation answers from the new one (the
// validation cache starts over).
func TestReadSnapshotWhileValidating(t *testing.T) {
	// Two states over the same tokens: in "old", tok-i belongs to u1 with
	// scope openid; in "new", to u2 with scope profile, and only the even
	// ones exist.
	build := func(user, session, scope string, keep func(int) bool) []byte {
		db, _ := world(t)
		update(t, db, func(tx *oauthdb.Tx) error {
			for i := range 64 {
				if !keep(i) {
					continue
				}
				if err := tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: fmt.Sprintf("at%02d", i), Token: oauthdb.HashToken(fmt.Sprintf("tok-%d", i)),
					ClientID: "cid-2", UserID: user, SessionID: session, Scopes: []string{scope}, ExpiresAt: t0.Add(time.Hour)}); err != nil {
					return err
				}
			}
			return nil
		})
		return writeSnap(t, db)
	}
	oldData := build("u1", "s1", "openid", func(int) bool { return true })
	newData := build("u2", "s2", "profile", func(i int) bool { return i%2 == 0 })
	answer := func(db *oauthdb.DB, i int) string {
		info, err := db.ValidateAccessToken(fmt.Sprintf("tok-%d", i))
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("%s %s %s %v", info.Token.ID, info.User.ID, info.Session.ID, info.Token.Scopes)
	}
	states := map[string][]string{}
	for name, data := range map[string][]byte{"old": oldData, "new": newData} {
		db := openDB(t)
		if _, err := db.ReadSnapshot(bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		for i := range 64 {
			states[name] = append(states[name], answer(db, i))
		}
	}
	db := openDB(t)
	if _, err := db.ReadSnapshot(bytes.NewReader(oldData)); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var seen [2]atomic.Int64
	for g := range 2 {
		wg.Go(func() {
			for i := g; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := i % 64
				got := answer(db, k)
				switch got {
				case states["old"][k]:
					seen[0].Add(1)
				case states["new"][k]:
					seen[1].Add(1)
				default:
					t.Errorf("tok-%d: %q, neither the old state's %q nor the new's %q", k, got, states["old"][k], states["new"][k])
					return
				}
			}
		})
	}
	for round := range 40 {
		data, want := oldData, states["old"]
		if round%2 == 0 {
			data, want = newData, states["new"]
		}
		if _, err := db.ReadSnapshot(bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		for k := range 64 {
			if got := answer(db, k); got != want[k] {
				t.Fatalf("round %d, after ReadSnapshot returned: tok-%d %q, want %q", round, k, got, want[k])
			}
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("validations from the old state: %d, from the new: %d", seen[0].Load(), seen[1].Load())
}

// A reader that fails fails ReadSnapshot with its error.
func TestReadSnapshotReaderFails(t *testing.T) {
	src, _ := world(t)
	data := writeSnap(t, src)
	boom := errors.New("connection reset")
	db, _ := world(t)
	before := dump(t, db)
	_, err := db.ReadSnapshot(io.MultiReader(bytes.NewReader(data[:200]), iotestErr{boom}))
	se := snapErr(t, err, boom)
	if se.Table == "" || se.Row == 0 {
		t.Errorf("error = %v, want it to name the row being read", err)
	}
	unchanged(t, db, before)
}

type iotestErr struct{ err error }

func (r iotestErr) Read([]byte) (int, error) { return 0, r.err }

// FuzzReadSnapshot feeds ReadSnapshot anything — and, resealed, anything
// whose checksums match, so that the fuzzer's edits reach the decoder and
// the door. It must never panic; when it fails, the DB is as it was; when it
// succeeds, the DB passes Verify and writes back the very bytes it read,
// given the time they say they were written.
func FuzzReadSnapshot(f *testing.F) {
	real := writeSnap(f, newFullWorld(f).db)
	f.Add(real, false)
	f.Add(real, true)
	for _, cut := range []int{0, 10, magicLen, headerLen - 1, headerLen, headerLen + 7, len(real) / 2, len(real) - 5, len(real) - 1} {
		f.Add(real[:cut], false)
		f.Add(real[:cut], true)
	}
	for _, i := range []int{3, magicLen + 1, magicLen + 20, headerLen, headerLen + 1, headerLen + 3, len(real) / 3, len(real) - 3} {
		c := bytes.Clone(real)
		c[i] ^= 0x41
		f.Add(c, false)
		f.Add(c, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, resealed bool) {
		if resealed {
			data = reseal(data)
		}
		at := t0
		db, err := oauthdb.Open(oauthdb.WithClock(func() time.Time { return at }), oauthdb.WithValidationCache(0))
		if err != nil {
			t.Fatal(err)
		}
		update(t, db, func(tx *oauthdb.Tx) error {
			return tx.InsertUser(oauthdb.User{ID: "before", Name: "Before", Email: "before@example.com"})
		})
		before := db.Snapshot()
		info, err := db.ReadSnapshot(bytes.NewReader(data))
		if err != nil {
			var se *oauthdb.SnapshotError
			if !errors.As(err, &se) {
				t.Fatalf("not a *SnapshotError: %v", err)
			}
			if len(err.Error()) > 400 {
				t.Fatalf("an error of %d bytes", len(err.Error()))
			}
			if diff := cmp.Diff(before, db.Snapshot()); diff != "" {
				t.Fatalf("a failed read changed the DB: %v\n%s", err, diff)
			}
			return
		}
		if err := db.Verify(); err != nil {
			t.Fatalf("Verify after a read: %v", err)
		}
		at = info.Written
		if again := writeSnap(t, db); !bytes.Equal(again, data) {
			t.Fatalf("the read DB writes other bytes:\n read %x\nwrote %x", data, again)
		}
	})
}
