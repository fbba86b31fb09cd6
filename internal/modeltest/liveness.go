package modeltest

import (
	"fmt"

	"github.com/oauthdb/oauthdb"
)

// Liveness is monotonic: a token that was inactive at some moment never
// becomes active again, whatever is swept, deleted, cascaded, rotated or
// written — unless its own record is written anew. This is checked on the
// DB directly, after every step, and not only as agreement with the model:
// the model shares the store's reading of the design, so it could share a
// mistake in it too.

// checkLiveness validates every token the test has seen and fails if one
// that was seen inactive is active again. Each verdict is also held to the
// model's: with the validation cache on, these validations fill it, and a
// stale entry shows as a verdict the model does not give.
func (h *Harness) checkLiveness() error {
	if err := checkEvery(h, "access token", h.access, h.DB.ValidateAccessToken, h.Model.ValidateAccessToken); err != nil {
		return err
	}
	return checkEvery(h, "refresh token", h.refresh, h.DB.ValidateRefreshToken, h.Model.ValidateRefreshToken)
}

// checkEvery validates each token of a kind, as checkLiveness says.
func checkEvery[I any](h *Harness, kind string, tokens []string, db, model func(string) (I, error)) error {
	for _, p := range tokens {
		got, err := db(p)
		want, merr := model(p)
		if d := same(got, err, want, merr, h); d != nil {
			return fmt.Errorf("validating every token, %.12s…: %v", p, d)
		}
		if err := h.sawVerdict(kind, p, err); err != nil {
			return err
		}
	}
	return nil
}

func (h *Harness) sawVerdict(kind, plaintext string, err error) error {
	key := kind + " " + plaintext
	was, dead := h.dead[key]
	switch {
	case err == nil && dead:
		return fmt.Errorf("liveness: the %s %.12s… was inactive (%s) and is active again at step %d", kind, plaintext, was, h.step)
	case err != nil && !dead:
		h.dead[key] = fmt.Sprintf("since step %d: %v", h.step, err)
	}
	return nil
}

// rewrites forgets what was seen of the tokens whose own records op writes
// anew: an insert or update of a token row may make that token active, as a
// new grant does.
func (h *Harness) rewrites(op Op) {
	var hashes []string
	switch op := op.(type) {
	case Insert[oauthdb.OAuthAccessToken]:
		hashes = append(hashes, op.Rec.Token)
	case Update[oauthdb.OAuthAccessToken]:
		hashes = append(hashes, op.Rec.Token)
	case Insert[oauthdb.OAuthRefreshToken]:
		hashes = append(hashes, op.Rec.Token)
	case Update[oauthdb.OAuthRefreshToken]:
		hashes = append(hashes, op.Rec.Token)
	case Batch:
		for _, op := range op.Ops {
			h.rewrites(op)
		}
	}
	for _, hash := range hashes {
		for _, p := range h.access {
			if h.hash(p) == hash {
				delete(h.dead, "access token "+p)
			}
		}
		for _, p := range h.refresh {
			if h.hash(p) == hash {
				delete(h.dead, "refresh token "+p)
			}
		}
	}
}
