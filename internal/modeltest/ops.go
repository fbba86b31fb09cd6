package modeltest

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/oauthdb/oauthdb"
)

// An Op is one step of a test: plain data, so that a sequence can be
// replayed and shrunk. References to rows or tokens that exist only at run
// time (generated IDs, issued tokens) are indexes, resolved when the step
// runs against whatever exists then.
type Op interface{ isOp() }

// Advance moves the clock.
type Advance struct{ D time.Duration }

// Insert inserts Rec into its table.
type Insert[T any] struct{ Rec T }

// Update replaces a row with Rec: the Ref-th row of the table (in ID order)
// if Ref >= 0 and the table has rows, otherwise the row with Rec's own ID.
type Update[T any] struct {
	Ref int
	Rec T
}

// Delete deletes a row of Table: the Ref-th, or ID if Ref < 0.
type Delete struct {
	Table string
	Ref   int
	ID    string
}

// Batch runs inserts, updates and deletes in one transaction, which
// commits unless Abort.
type Batch struct {
	Ops   []Op
	Abort bool
}

func (Batch) isOp() {}

// Issue issues tokens: by DB.IssueTokens, or if InTx by Tx.IssueTokens in a
// transaction that commits whatever happens.
type Issue struct {
	Req  oauthdb.IssueRequest
	InTx bool
}

// TokenRef names a presented token: the Idx-th access or refresh token the
// test has seen (mod their number), or a literal string.
type TokenRef struct {
	List int // refAccess, refRefresh or refLiteral
	Idx  int
	Lit  string
}

const (
	refAccess = iota
	refRefresh
	refLiteral
)

// Validate validates an access token.
type Validate struct{ Tok TokenRef }

// Introspect introspects an access token for a client: the token's own
// client if Own, else Client.
type Introspect struct {
	Tok    TokenRef
	Own    bool
	Client string
}

// ValidateRefresh validates a refresh token, or introspects it for a
// client if Introspect: its own if Own, else Client.
type ValidateRefresh struct {
	Tok        TokenRef
	Introspect bool
	Own        bool
	Client     string
}

// Rotate rotates a refresh token for a client (its own if Own), with a
// DPoP proof of the key whose thumbprint is DPoP, if it is not empty.
type Rotate struct {
	Tok    TokenRef
	Own    bool
	Client string
	Scopes []string
	DPoP   string
}

// RevokeAccess and RevokeRefresh revoke a token by its plaintext;
// RevokeRefreshByID revokes a refresh token by its record ID (the Ref-th,
// or ID if Ref < 0) in a transaction that commits whatever happens.
type (
	RevokeAccess      struct{ Tok TokenRef }
	RevokeRefresh     struct{ Tok TokenRef }
	RevokeRefreshByID struct {
		Ref int
		ID  string
	}
)

// RevokeToken is a client's revocation request for a token of either kind:
// for the token's own client (the Tok's, by its kind's list) if Own, else
// Client; Hint is the request's token_type_hint.
type RevokeToken struct {
	Tok          TokenRef
	Own          bool
	Client, Hint string
}

// RevokeBy revokes by session, user, client, client and user, or
// authorization code (ID holds its hash).
type RevokeBy struct {
	By       string // "session", "user", "client", "clientUser" or "code"
	ID       string
	ClientID string
}

// Consent grants, checks or revokes a consent, or lists a user's.
type Consent struct {
	Do                            string // "grant", "check", "revoke" or "list"
	ClientID, UserID, ReferenceID string
	Scopes                        []string
}

// Sweep sweeps expired rows.
type Sweep struct{ Limit int }

// Authenticate authenticates a client by its clientId and a secret.
type Authenticate struct{ ClientID, Secret string }

// Read compares every lookup and relation: of the Ref-th row of each table,
// and by Key.
type Read struct {
	Ref int
	Key string
}

// Restore replaces the DB with one restored from its snapshot, encoded as
// JSON and decoded if JSON is set.
type Restore struct{ JSON bool }

func (Restore) isOp()           {}
func (Advance) isOp()           {}
func (Insert[T]) isOp()         {}
func (Update[T]) isOp()         {}
func (Delete) isOp()            {}
func (Issue) isOp()             {}
func (Validate) isOp()          {}
func (Introspect) isOp()        {}
func (ValidateRefresh) isOp()   {}
func (Rotate) isOp()            {}
func (RevokeAccess) isOp()      {}
func (RevokeRefresh) isOp()     {}
func (RevokeRefreshByID) isOp() {}
func (RevokeToken) isOp()       {}
func (RevokeBy) isOp()          {}
func (Consent) isOp()           {}
func (Sweep) isOp()             {}
func (Authenticate) isOp()      {}
func (Read) isOp()              {}

// Format prints an op as Go-like text that shows every byte of its strings
// and times in UTC, for failure reports.
func Format(op Op) string {
	var b strings.Builder
	format(&b, reflect.ValueOf(op))
	return b.String()
}

var timeType = reflect.TypeFor[time.Time]()

func format(b *strings.Builder, v reflect.Value) {
	switch {
	case v.Type() == timeType:
		t := v.Interface().(time.Time)
		if t.IsZero() {
			b.WriteString("time{}")
		} else {
			b.WriteString(t.UTC().Format(time.RFC3339Nano))
		}
		return
	case v.Type() == reflect.TypeFor[time.Duration]():
		b.WriteString(v.Interface().(time.Duration).String())
		return
	}
	switch v.Kind() {
	case reflect.Interface:
		format(b, v.Elem())
	case reflect.String:
		fmt.Fprintf(b, "%q", v.String())
	case reflect.Struct:
		name := strings.ReplaceAll(v.Type().Name(), "github.com/oauthdb/oauthdb.", "")
		b.WriteString(name + "{")
		sep := ""
		for i := range v.NumField() {
			if v.Field(i).IsZero() {
				continue
			}
			b.WriteString(sep + v.Type().Field(i).Name + ":")
			format(b, v.Field(i))
			sep = " "
		}
		b.WriteString("}")
	case reflect.Slice:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			fmt.Fprintf(b, "%q", v.Bytes())
			return
		}
		b.WriteString("[")
		for i := range v.Len() {
			if i > 0 {
				b.WriteString(" ")
			}
			format(b, v.Index(i))
		}
		b.WriteString("]")
	default:
		fmt.Fprintf(b, "%v", v.Interface())
	}
}
