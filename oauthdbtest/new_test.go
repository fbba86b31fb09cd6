package oauthdbtest_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
)

// scenario builds the same small world in any fixture DB.
func scenario(fx *oauthdbtest.Fixtures) (oauthdb.User, oauthdb.OAuthClient, oauthdb.Session, string) {
	u := fx.User()
	c := fx.Client()
	s := fx.Session(u)
	tok, _ := fx.AccessToken(c, s)
	return u, c, s, tok
}

func TestNewIsDeterministic(t *testing.T) {
	a, b := oauthdbtest.New(t), oauthdbtest.New(t)
	ua, ca, sa, ta := scenario(a)
	ub, cb, sb, tb := scenario(b)
	if ua.ID != ub.ID || ca.ClientID != cb.ClientID || sa.Token != sb.Token || ta != tb {
		t.Errorf("two DBs of the same seed differ: %s/%s %s/%s", ua.ID, ub.ID, ca.ClientID, cb.ClientID)
	}
	if diff := cmp.Diff(oauthdbtest.Dump(a.DB), oauthdbtest.Dump(b.DB)); diff != "" {
		t.Errorf("two DBs of the same seed hold different rows (-a +b):\n%s", diff)
	}
	// The DB's own generated values follow the same stream.
	ia, err := a.IssueTokens(oauthdb.IssueRequest{ClientID: ca.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	ib, err := b.IssueTokens(oauthdb.IssueRequest{ClientID: cb.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	if ia.Access.ID != ib.Access.ID || ia.AccessToken != ib.AccessToken {
		t.Errorf("IssueTokens differs between two DBs of the same seed: %v / %v", ia, ib)
	}

	c := oauthdbtest.New(t, oauthdbtest.WithSeed(2))
	if uc := c.User(); uc.ID == ua.ID {
		t.Errorf("seeds 1 and 2 gave the same user ID %q", uc.ID)
	}
}

func TestNewInParallel(t *testing.T) {
	var ids [4]string
	t.Run("group", func(t *testing.T) {
		for i := range ids {
			t.Run("", func(t *testing.T) {
				t.Parallel()
				fx := oauthdbtest.New(t)
				u, _, _, _ := scenario(fx)
				fx.Clock.Advance(time.Duration(i) * time.Hour)
				ids[i] = u.ID
			})
		}
	})
	for i := range ids {
		if ids[i] != ids[0] {
			t.Errorf("parallel test %d made user %q, test 0 made %q", i, ids[i], ids[0])
		}
	}
}

func TestClockDrivesExpiry(t *testing.T) {
	start := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	fx := oauthdbtest.New(t, oauthdbtest.WithStart(start))
	if got := fx.Now(); !got.Equal(start) {
		t.Fatalf("DB clock reads %v, want %v", got, start)
	}
	u := fx.User()
	if !u.CreatedAt.Equal(start) {
		t.Errorf("user created at %v, want the clock's %v", u.CreatedAt, start)
	}
	_, _, _, tok := scenario(fx)
	if _, err := fx.ValidateAccessToken(tok); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	if got := fx.Clock.Advance(59 * time.Minute); !got.Equal(start.Add(59 * time.Minute)) {
		t.Errorf("Advance returned %v", got)
	}
	if _, err := fx.ValidateAccessToken(tok); err != nil {
		t.Fatalf("token after 59 minutes: %v", err)
	}
	fx.Clock.Advance(time.Minute)
	if _, err := fx.ValidateAccessToken(tok); !errors.Is(err, oauthdb.ErrTokenExpired) {
		t.Fatalf("token after an hour: %v, want ErrTokenExpired", err)
	}
	fx.Clock.Set(start)
	if _, err := fx.ValidateAccessToken(tok); err != nil {
		t.Fatalf("token after Set(start): %v", err)
	}
}

func TestNewVerifiesAtCleanup(t *testing.T) {
	got := failures(t, func(tb testing.TB) {
		fx := oauthdbtest.New(tb)
		fx.User()
	})
	if got != "" {
		t.Errorf("a consistent DB failed the audit: %s", got)
	}
}

func TestWithDBOptions(t *testing.T) {
	fx := oauthdbtest.New(t, oauthdbtest.WithDBOptions(oauthdb.WithTokenLifetimes(time.Minute, time.Hour)))
	c := fx.Client()
	issued, err := fx.IssueTokens(oauthdb.IssueRequest{ClientID: c.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	if want := fx.Now().Add(time.Minute); !issued.Access.ExpiresAt.Equal(want) {
		t.Errorf("access token expires at %v, want %v", issued.Access.ExpiresAt, want)
	}
}

// upperHasher is a hasher other than the default, to see that fixtures use
// the DB's.
type upperHasher struct{}

func (upperHasher) AppendHash(dst []byte, token string) []byte {
	return append(dst, "H:"+strings.ToUpper(token)...)
}

func TestWithHasher(t *testing.T) {
	fx := oauthdbtest.New(t, oauthdbtest.WithHasher(upperHasher{}))
	_, _, _, tok := scenario(fx)
	if _, err := fx.ValidateAccessToken(tok); err != nil {
		t.Fatalf("a fixture token does not validate under the DB's hasher: %v", err)
	}
}

func TestWithoutVerify(t *testing.T) {
	got := failures(t, func(tb testing.TB) { oauthdbtest.New(tb, oauthdbtest.WithoutVerify()) })
	if got != "" {
		t.Errorf("report: %s", got)
	}
}
