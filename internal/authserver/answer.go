package authserver

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/oauthdb/oauthdb"
)

// The introspection answer is written by hand, appended to a pooled buffer:
// its shape is fixed, and encoding/json's reflection and allocations were
// a measurable part of each request (see bench/README.md). The fields and
// their order are better-auth 1.7's (oauth-provider's introspect), but for
// the claims better-auth adds from its resource policies and custom
// claim functions, which live in its code, not in its tables.

// inactiveAnswer is RFC 7662's answer for a token that is not active:
// nothing but active, so that it tells the caller nothing.
const inactiveAnswer = `{"active":false}`

// appendAccessAnswer appends the answer for an active access token.
func appendAccessAnswer(b []byte, info *oauthdb.AccessTokenInfo, iss string) []byte {
	t := &info.Token
	b = append(b, `{"active":true,"iss":`...)
	b = appendString(b, iss)
	b = appendAudience(b, t.Resources, t.Scopes, iss)
	b = append(b, `,"client_id":`...)
	b = appendString(b, t.ClientID)
	b = append(b, `,"azp":`...)
	b = appendString(b, t.ClientID)
	return appendCommon(b, info.User.ID, info.Session.ID, t.ExpiresAt.Unix(), t.CreatedAt.Unix(), t.Scopes, t.Confirmation)
}

// appendRefreshAnswer appends the answer for an active refresh token: as an
// access token's, without azp and aud, as better-auth answers.
func appendRefreshAnswer(b []byte, info *oauthdb.RefreshTokenInfo, iss string) []byte {
	t := &info.Token
	b = append(b, `{"active":true,"client_id":`...)
	b = appendString(b, t.ClientID)
	b = append(b, `,"iss":`...)
	b = appendString(b, iss)
	return appendCommon(b, info.User.ID, info.Session.ID, t.ExpiresAt.Unix(), t.CreatedAt.Unix(), t.Scopes, t.Confirmation)
}

// appendCommon appends the fields both kinds end with, and closes the
// object. sub and sid are left out when empty, as better-auth's undefined
// is; token_type is DPoP for a token bound to a DPoP key (cnf.jkt), else
// Bearer; cnf is the token's confirmation as stored.
func appendCommon(b []byte, sub, sid string, exp, iat int64, scopes []string, cnf json.RawMessage) []byte {
	if sub != "" {
		b = append(b, `,"sub":`...)
		b = appendString(b, sub)
	}
	if sid != "" {
		b = append(b, `,"sid":`...)
		b = appendString(b, sid)
	}
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, exp, 10)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, iat, 10)
	b = append(b, `,"scope":"`...)
	for i, s := range scopes {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendEscaped(b, s) // scope-tokens hold no '"' or '\', but say so to nobody
	}
	b = append(b, '"')
	if oauthdb.DPoPThumbprint(cnf) != "" {
		b = append(b, `,"token_type":"DPoP","cnf":`...)
		b = append(b, cnf...) // stored compact and valid (the root package's door)
	} else {
		b = append(b, `,"token_type":"Bearer"`...)
		if len(cnf) > 0 {
			b = append(b, `,"cnf":`...)
			b = append(b, cnf...)
		}
	}
	return append(b, '}')
}

// appendAudience appends aud, as better-auth derives it: the token's
// resources (a string for one, an array for more), with the UserInfo
// endpoint added when the token has openid; nothing when it has no
// resources. better-auth's UserInfo endpoint is its baseURL's
// /oauth2/userinfo, and its default issuer is that baseURL: -issuer.
func appendAudience(b []byte, resources, scopes []string, iss string) []byte {
	if len(resources) == 0 {
		return b
	}
	userinfo := ""
	if slices.Contains(scopes, "openid") {
		userinfo = iss + "/oauth2/userinfo"
		if slices.Contains(resources, userinfo) {
			userinfo = ""
		}
	}
	b = append(b, `,"aud":`...)
	if len(resources) == 1 && userinfo == "" {
		return appendString(b, resources[0])
	}
	b = append(b, '[')
	for i, r := range resources {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, r)
	}
	if userinfo != "" {
		b = append(b, ',')
		b = appendString(b, userinfo)
	}
	return append(b, ']')
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendEscaped appends s escaped for the inside of a JSON string (RFC
// 8259 §7): the quote, the backslash and control characters, and U+2028
// and U+2029, which JavaScript would take for line ends; invalid UTF-8
// becomes U+FFFD, as encoding/json writes it.
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}
