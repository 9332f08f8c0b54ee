// Package audit records one event for every proxy and REST request and
// reads them back. It owns the event format, the sinks the events go to (a
// local JSONL file with rotation, an S3 log bucket fed from a local spool,
// stdout), the broker that writes to them, the same sinks for the server's
// own log, and the query that merges and filters what was written.
//
// # Two records per request
//
// A request is recorded twice under one request_id. Broker.Decide writes the
// decision record and returns only once at least one sink has accepted it,
// so the decision is evidence before anything is forwarded. Broker.Complete
// writes the completion record (status, bytes, duration) asynchronously.
// Both records carry the whole event: a completion alone is a usable event
// (REST requests may record only that), and tools reading the raw JSONL
// (Athena, jq) can take completion records plus decisions that have none.
// The reader (Query) merges the two into one Event, so N requests read back
// as N events; a decision without a completion (the process died while the
// request ran) is reported with Incomplete set.
//
// # Durability
//
// "Accepted" means handed to the operating system: write(2) on the log file
// or the S3 sink's spool file, or on stdout. A kill -9 of the process
// therefore loses nothing that was accepted. The files are fsynced every
// Options.FsyncInterval (audit.fsync_interval, 1s in the default
// configuration), which bounds what a power loss or kernel crash can lose;
// an interval of zero fsyncs every batch before Decide returns. A record torn by a crash (a final line
// without its newline) is cut off when the file is opened again and skipped
// by the reader, so the log never holds a corrupt record that hides a good
// one. Completion records wait in a bounded queue: when it is full they are
// dropped (counted in Stats) rather than blocking requests, and the event
// reads back as incomplete.
//
// # Secrets
//
// An Event is a whitelist of fields and never holds a secret key. Scrub is a
// safety net on top: it removes anything shaped like a signature, token,
// JWT or secret key from the free-text fields of events and from every
// server log line.
package audit
