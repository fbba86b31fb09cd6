package oauthdbtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/oauthdb/oauthdb"
)

// CodeValue is the JSON document that better-auth's oauth-provider stores
// in verification.value for a pending authorization code — and so does the
// fake server. The verification's identifier is the code's hash under the
// DB's hasher (DB.Hash).
//
// better-auth 1.4 to 1.7.29 write it as
//
//	{"type": "authorization_code", "query": {...}, "userId": "…",
//	 "sessionId": "…", "referenceId": "…", "authTime": 1767225600000,
//	 "resource": ["https://api.example/a"]}
//
// where query is the authorization request: its values are strings, but a
// repeated parameter (resource) and the signed consent parameters' names
// (ba_param) are arrays of strings, and an OpenID claims request is an
// object. ParseCodeValue keeps all of it — what this type does not
// interpret in QueryValues and Extra — so that JSON gives back the same
// document, member for member (in sorted order, not better-auth's).
type CodeValue struct {
	// Type is "authorization_code".
	Type string
	// Query holds the authorization request's parameters whose value is
	// one string: client_id, redirect_uri, response_type, scope (the
	// client's scopes if the request had none; scopes are space-separated),
	// state, code_challenge, code_challenge_method, and any other the
	// request sent.
	Query map[string]string
	// QueryValues holds the request's parameters whose value is not one
	// string, as the JSON better-auth wrote (compact): a repeated parameter
	// as an array of strings (resource), ba_param, claims. A parameter is
	// in Query or here, never in both.
	QueryValues map[string]json.RawMessage
	// UserID is the user who authorized the request.
	UserID string
	// SessionID is the session they authorized it in, if any.
	SessionID string
	// ReferenceID is better-auth's consent reference, if any.
	ReferenceID string
	// AuthTime is when the user signed in: the session's createdAt, in
	// milliseconds since the Unix epoch.
	AuthTime int64
	// Resource lists the resources (RFC 8707) the code was granted for.
	// better-auth 1.7 writes it, [] when none were asked: nil leaves it
	// out, an empty list writes [].
	Resource []string
	// Extra holds the document's other members, as they were written.
	Extra map[string]json.RawMessage
}

// The members CodeValue interprets.
const (
	cvType        = "type"
	cvQuery       = "query"
	cvUserID      = "userId"
	cvSessionID   = "sessionId"
	cvReferenceID = "referenceId"
	cvAuthTime    = "authTime"
	cvResource    = "resource"
)

// ParseCodeValue decodes the value of a verification that holds an
// authorization code, as better-auth or the fake server wrote it.
func ParseCodeValue(v oauthdb.Verification) (CodeValue, error) {
	var cv CodeValue
	if err := cv.UnmarshalJSON([]byte(v.Value)); err != nil {
		return CodeValue{}, err
	}
	return cv, nil
}

// UnmarshalJSON decodes a code's document; a member it does not know goes
// to Extra, a query parameter that is not one string to QueryValues.
func (c *CodeValue) UnmarshalJSON(data []byte) error {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("code value: %w", err)
	}
	if doc == nil {
		return errors.New("code value: not a JSON object")
	}
	var out CodeValue
	member := func(name string, into any) error {
		raw, ok := doc[name]
		delete(doc, name)
		if !ok || string(raw) == "null" {
			return nil
		}
		if err := json.Unmarshal(raw, into); err != nil {
			return fmt.Errorf("code value: %s: %w", name, err)
		}
		return nil
	}
	var query map[string]json.RawMessage
	var authTime json.Number
	for _, m := range []struct {
		name string
		into any
	}{
		{cvType, &out.Type}, {cvQuery, &query}, {cvUserID, &out.UserID}, {cvSessionID, &out.SessionID},
		{cvReferenceID, &out.ReferenceID}, {cvAuthTime, &authTime}, {cvResource, &out.Resource},
	} {
		if err := member(m.name, m.into); err != nil {
			return err
		}
	}
	if authTime != "" {
		ms, err := strconv.ParseInt(string(authTime), 10, 64)
		if err != nil {
			return errors.New("code value: authTime is not whole milliseconds")
		}
		out.AuthTime = ms
	}
	for k, raw := range query {
		if len(raw) > 0 && raw[0] == '"' {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return fmt.Errorf("code value: query.%s: %w", k, err)
			}
			if out.Query == nil {
				out.Query = map[string]string{}
			}
			out.Query[k] = s
			continue
		}
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return fmt.Errorf("code value: query.%s: %w", k, err)
		}
		if out.QueryValues == nil {
			out.QueryValues = map[string]json.RawMessage{}
		}
		out.QueryValues[k] = b.Bytes()
	}
	if len(doc) > 0 {
		out.Extra = map[string]json.RawMessage{}
		for k, raw := range doc {
			var b bytes.Buffer
			if err := json.Compact(&b, raw); err != nil {
				return fmt.Errorf("code value: %s: %w", k, err)
			}
			out.Extra[k] = b.Bytes()
		}
	}
	*c = out
	return nil
}

// MarshalJSON encodes c as JSON does: members and query parameters in
// sorted order, empty ones left out (but for Resource, see there).
func (c CodeValue) MarshalJSON() ([]byte, error) {
	doc := map[string]any{cvType: c.Type, cvUserID: c.UserID}
	query := map[string]any{}
	for k, v := range c.QueryValues {
		query[k] = v
	}
	for k, v := range c.Query {
		query[k] = v
	}
	doc[cvQuery] = query
	for k, v := range c.Extra {
		doc[k] = v
	}
	set := func(name string, ok bool, v any) {
		if ok {
			doc[name] = v
		}
	}
	set(cvSessionID, c.SessionID != "", c.SessionID)
	set(cvReferenceID, c.ReferenceID != "", c.ReferenceID)
	set(cvAuthTime, c.AuthTime != 0, c.AuthTime)
	set(cvResource, c.Resource != nil, c.Resource)
	return json.Marshal(doc)
}

// JSON encodes c as the server stores it. Members and Query's keys are in
// sorted order, so equal values encode the same.
func (c CodeValue) JSON() string {
	b, err := c.MarshalJSON()
	if err != nil {
		panic(err) // only Extra and QueryValues could fail, and they hold JSON that parsed
	}
	return string(b)
}

// Params returns the values of a parameter of the authorization request:
// one for a parameter in Query, each of a repeated one (an array of
// strings in QueryValues), none when it is absent or not a list of
// strings.
func (c CodeValue) Params(name string) []string {
	if v, ok := c.Query[name]; ok {
		return []string{v}
	}
	var vs []string
	if raw, ok := c.QueryValues[name]; ok && json.Unmarshal(raw, &vs) == nil {
		return vs
	}
	return nil
}
