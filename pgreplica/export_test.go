package pgreplica

// StreamFromSlot makes r's sessions stream from the slot's confirmed
// position rather than r's own, so that Postgres resends what r applied but
// had not yet acknowledged.
func StreamFromSlot(r *Replica) { r.fromSlot = true }
