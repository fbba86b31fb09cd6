package store

import (
	"runtime/debug"
	"sync"
)

// The collector during bulk writes.
//
// A transaction that writes many records — a restore, a replica's load, an
// import — builds a heap of pointers (go-memdb's radix nodes) and allocates
// about as much again that it drops. With the collector's default target
// (GOGC=100) a collection starts each time the heap has doubled since the
// last, and marks everything built so far: over a load that grows the heap
// from nothing, the collector marks about six times the final heap, and
// took 30-40% of a restore's time.
//
// So a write transaction raises the target to bulkGCPercent once it has
// written bulkWrites records, and puts it back when it ends, committed or
// not. It never lowers a target that is higher already, or a collector that
// is off. A memory limit, if the process has one (GOMEMLIMIT or
// debug.SetMemoryLimit), still holds: the runtime collects as the heap nears
// it, whatever GOGC says. Transactions of several databases share one raise:
// the first raises, the last puts back the target the first found. A
// program that sets GOGC itself while a bulk write runs has its setting
// undone when the last one ends.
const (
	// bulkWrites is how many records a transaction writes before it raises
	// the target: a token's issue writes two, a client's cascade thousands.
	bulkWrites = 4096
	// bulkGCPercent is the target during bulk writes: the heap may grow to
	// five times what the last collection found live, at most about three
	// times the final heap over a load.
	bulkGCPercent = 400
)

var bulkGC struct {
	sync.Mutex
	writers int // transactions that raised the target and are running
	saved   int // the target to put back when the last one ends
}

// raiseGC raises the collector's target for a bulk write; lowerGC, called
// once for each raiseGC, puts it back after the last.
func raiseGC() {
	bulkGC.Lock()
	defer bulkGC.Unlock()
	if bulkGC.writers++; bulkGC.writers > 1 {
		return
	}
	// SetGCPercent is the only way to read the target.
	bulkGC.saved = debug.SetGCPercent(bulkGCPercent)
	if bulkGC.saved < 0 || bulkGC.saved >= bulkGCPercent {
		debug.SetGCPercent(bulkGC.saved)
	}
}

func lowerGC() {
	bulkGC.Lock()
	defer bulkGC.Unlock()
	if bulkGC.writers--; bulkGC.writers == 0 {
		debug.SetGCPercent(bulkGC.saved)
	}
}

// counted counts a record written by the transaction, and raises the
// collector's target at the bulkWrites-th.
func (tx *Txn) counted() {
	if tx.writes++; tx.writes == bulkWrites {
		raiseGC()
	}
}
