package pgreplica

import (
	"log/slog"
	"maps"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultTables are better-auth's tables that oauthdb models, parents
// before children.
var DefaultTables = []string{
	"user", "session", "oauthClient", "oauthRefreshToken", "oauthAccessToken", "oauthConsent", "verification",
}

// SessionSettings returns the settings of every connection the replica
// opens, whatever the DSN says, because they decide the text form of values:
// with them a value reads the same in a Snapshot and in a Txn, and a
// timestamptz is always in UTC ("2026-01-02 03:04:05.123456+00"). A test that
// reads the tables itself to compare should use them too.
func SessionSettings() map[string]string { return maps.Clone(sessionSettings) }

var sessionSettings = map[string]string{
	"client_encoding":    "UTF8",
	"DateStyle":          "ISO, MDY",
	"IntervalStyle":      "postgres",
	"TimeZone":           "UTC",
	"extra_float_digits": "3",
	"bytea_output":       "hex",
}

// Defaults of Config's optional fields.
const (
	DefaultPublication    = "oauthdb"
	DefaultSchema         = "public"
	DefaultStatusInterval = time.Second
	DefaultMinBackoff     = 100 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
	DefaultConnectTimeout = 10 * time.Second
)

// Config configures a Replica. Only DSN and Slot are required.
type Config struct {
	// DSN is a libpq connection string or URL for a role that may
	// replicate (REPLICATION), read the tables, and create the publication
	// if it does not exist yet. It names the database; the replica adds
	// replication=database itself where it needs it.
	DSN string

	// Slot is the name of this replica's permanent logical replication
	// slot: lower-case letters, digits and underscores, at most 63. Every
	// replica needs a slot of its own; two replicas sharing one would take
	// each other's changes.
	Slot string

	// Publication is the publication the slot streams: created for Tables
	// if absent, and extended with any of Tables it lacks. Default
	// DefaultPublication.
	Publication string

	// Schema is the tables' schema. Default DefaultSchema.
	Schema string

	// Tables are the tables to replicate, by name, parents before children
	// (the order of a Snapshot's tables). Default DefaultTables.
	Tables []string

	// ResumeLSN, when not zero, says that the sink already holds the tables
	// as of this position (restored from a snapshot of an earlier run, say,
	// taken at a Txn's EndLSN or a Snapshot's LSN). The replica then
	// resumes the slot from there without a Load, if the slot still exists
	// and has not been acknowledged past it; else it loads.
	ResumeLSN LSN

	// ResumeSystemID, with ResumeLSN, is the system identifier of the
	// cluster the sink's state came from (Status.SystemID when it was
	// saved): a state of another cluster is loaded again, not resumed.
	ResumeSystemID string

	// TemporarySlot makes the slot temporary: Postgres drops it when the
	// session's connection closes, so that a replica that dies leaves no
	// slot behind to hold WAL, and every session loads the sink again.
	// It is for a sink whose state does not outlive the process;
	// ResumeLSN is then ignored. A permanent slot of the same name, left
	// by an earlier run, is dropped.
	TemporarySlot bool

	// SlotTTL and SlotPrefix reclaim the slots of dead replicas: a replica
	// drops a logical slot of its database whose name starts with
	// SlotPrefix (not its own) once it has seen it unused — inactive, its
	// position still — for SlotTTL, since a slot no one streams holds WAL
	// on the primary until someone drops it. A replica that restarts
	// within SlotTTL finds its slot and resumes. Both must be set; a zero
	// SlotTTL reclaims nothing. SlotTTL must be well above MaxBackoff (a
	// replica reconnecting leaves its slot inactive meanwhile); at least a
	// minute.
	SlotTTL    time.Duration
	SlotPrefix string

	// Durable, when set, returns the position of the sink's last durable
	// state (saved where a restart reads it): the replica acknowledges to
	// Postgres no further, so that the slot keeps the WAL a restart from
	// that state replays. Without it the replica acknowledges all it has
	// applied.
	Durable func() LSN

	// StatusInterval is how often the replica reports its position to the
	// primary and asks for a reply, and writes a heartbeat, whose return
	// proves it caught up (Status.CaughtUpAt). Default
	// DefaultStatusInterval.
	StatusInterval time.Duration

	// Timeout is how long the replica waits for any message from the
	// primary before it takes the connection as lost; the primary answers
	// every status update, so silence means it is gone. Default ten
	// StatusIntervals, at least 5 s.
	Timeout time.Duration

	// ConnectTimeout bounds connecting and setting up a session (not the
	// initial load). Default DefaultConnectTimeout.
	ConnectTimeout time.Duration

	// MinBackoff and MaxBackoff bound the jittered, doubling wait between
	// two attempts to connect. Defaults DefaultMinBackoff and
	// DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration

	// Logger receives the replica's log: loads, reconnects and the errors
	// that caused them. Default slog.Default().
	Logger *slog.Logger
}

// slotName is what Postgres accepts as a slot name; publication names are
// held to the same so that they need no quoting in START_REPLICATION.
var slotName = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	if c.DSN == "" {
		return c, &ConfigError{Field: "DSN", Reason: "is empty"}
	}
	if _, err := pgconn.ParseConfig(c.DSN); err != nil {
		// pgconn's message can quote the DSN, password and all: keep it out.
		return c, &ConfigError{Field: "DSN", Reason: "cannot be parsed"}
	}
	if !slotName.MatchString(c.Slot) {
		return c, &ConfigError{Field: "Slot", Reason: "must be 1 to 63 of a-z, 0-9 and _"}
	}
	if c.Publication == "" {
		c.Publication = DefaultPublication
	}
	if !slotName.MatchString(c.Publication) {
		return c, &ConfigError{Field: "Publication", Reason: "must be 1 to 63 of a-z, 0-9 and _"}
	}
	if c.Schema == "" {
		c.Schema = DefaultSchema
	}
	if len(c.Tables) == 0 {
		c.Tables = DefaultTables
	}
	seen := make(map[string]bool, len(c.Tables))
	for _, t := range c.Tables {
		if t == "" || seen[t] {
			return c, &ConfigError{Field: "Tables", Reason: "has an empty or repeated name"}
		}
		seen[t] = true
	}
	c.Tables = append([]string(nil), c.Tables...)
	if c.StatusInterval <= 0 {
		c.StatusInterval = DefaultStatusInterval
	}
	if c.Timeout <= 0 {
		c.Timeout = max(10*c.StatusInterval, 5*time.Second)
	}
	if c.Timeout <= c.StatusInterval {
		return c, &ConfigError{Field: "Timeout", Reason: "must be longer than StatusInterval"}
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		return c, &ConfigError{Field: "MaxBackoff", Reason: "is below MinBackoff"}
	}
	if c.SlotTTL != 0 && (c.SlotTTL < time.Minute || c.SlotTTL < 3*c.MaxBackoff) {
		return c, &ConfigError{Field: "SlotTTL", Reason: "must be at least a minute and three MaxBackoffs"}
	}
	if c.SlotTTL != 0 && !slotName.MatchString(c.SlotPrefix) {
		return c, &ConfigError{Field: "SlotPrefix", Reason: "must be 1 to 63 of a-z, 0-9 and _ with SlotTTL"}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}
