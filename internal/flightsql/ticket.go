package flightsql

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"time"
)

// A statement handle is the SQL of a query bound to the user who asked
// for it and to an expiry, sealed with HMAC-SHA256 under the server's
// ticket key (shared through the policy store by every server, so that a
// DoGet may reach another server than its GetFlightInfo):
//
//	version(1) | expires unix seconds(8) | len(user)(2) | user | sql | mac(32)
//
// The SQL travels in the clear: it is the caller's own. The handle proves
// that this server accepted the query for that user; DoGet still runs it
// with the caller's own principal and refuses a handle made for another.

const (
	handleVersion = 1
	macSize       = sha256.Size
	// MinTicketKey is the shortest ticket key New accepts.
	MinTicketKey = 32
)

// errTicket is any handle that is malformed, forged, expired or not the
// caller's; the client learns no more than that.
var errTicket = errors.New("flightsql: invalid or expired statement handle")

type ticketSealer struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// seal returns the handle of sql for user.
func (s ticketSealer) seal(user, sql string) ([]byte, error) {
	if len(user) > 0xffff {
		return nil, errors.New("flightsql: user name too long")
	}
	b := make([]byte, 0, 1+8+2+len(user)+len(sql)+macSize)
	b = append(b, handleVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(s.now().Add(s.ttl).Unix()))
	b = binary.BigEndian.AppendUint16(b, uint16(len(user)))
	b = append(b, user...)
	b = append(b, sql...)
	m := hmac.New(sha256.New, s.key)
	m.Write(b)
	return m.Sum(b), nil
}

// open returns the SQL of handle when it is sealed with the key, not
// expired and made for user; errTicket otherwise.
func (s ticketSealer) open(handle []byte, user string) (string, error) {
	if len(handle) < 1+8+2+macSize || handle[0] != handleVersion {
		return "", errTicket
	}
	body, mac := handle[:len(handle)-macSize], handle[len(handle)-macSize:]
	m := hmac.New(sha256.New, s.key)
	m.Write(body)
	if !hmac.Equal(mac, m.Sum(nil)) {
		return "", errTicket
	}
	exp := int64(binary.BigEndian.Uint64(body[1:9]))
	n := int(binary.BigEndian.Uint16(body[9:11]))
	if len(body) < 11+n {
		return "", errTicket
	}
	if s.now().Unix() >= exp || string(body[11:11+n]) != user {
		return "", errTicket
	}
	return string(body[11+n:]), nil
}
