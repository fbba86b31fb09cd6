// Package store is a small, domain-free relational engine over
// github.com/hashicorp/go-memdb.
//
// It adds what go-memdb leaves to its users:
//
//   - typed tables ([Table]) and typed, reflection-free indexes ([Index]) whose
//     keys are all built in one place (key.go): strings with a terminator,
//     times in 12 order-preserving bytes;
//   - enforcement of unique secondary indexes (go-memdb only keeps the last
//     row written under a unique key);
//   - declared relations ([One], [Many]) that are index lookups, drive the
//     foreign-key checks made on every write, and carry the delete actions
//     (restrict, cascade, set null) applied in the same transaction;
//   - validation of all of that when a [DB] opens, so that a broken
//     declaration is an error from [Open] and not a panic later.
//
// Records are stored as pointers and are immutable once stored: a write
// stores a new value, it never changes the one that is there. Readers get the
// stored pointer and must not modify what it points to; the packages built on
// store hand out copies instead.
//
// Every write happens inside [DB.Update]: either all of it commits or none
// of it does. Each single write (an insert, an update, a delete with its
// cascades) first checks everything it depends on and only then changes the
// tree, so a write that fails leaves the transaction as it was.
package store
