package server

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// boundedListener serves at most a fixed number of connections at once:
// Accept waits for a slot before taking the next connection from the
// kernel, so further clients wait in the listen backlog rather than cost
// memory. With a write idle timeout, each connection also drops a client
// that stops reading (see serverConn.Write).
//
// golang.org/x/net/netutil.LimitListener bounds connections the same way,
// but its connections hide the TCP connection's CloseWrite, which
// net/http uses to deliver an error response to a client still sending
// its body (a refused upload) without a reset destroying it.
type boundedListener struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	writeIdle time.Duration
}

// limitListener bounds ln to max connections at once (max >= 1); writeIdle
// > 0 sets the per-write idle deadline of its connections.
func limitListener(ln net.Listener, maxConns int, writeIdle time.Duration) *boundedListener {
	return &boundedListener{Listener: ln, slots: make(chan struct{}, maxConns), done: make(chan struct{}), writeIdle: writeIdle}
}

// Accept waits for a free slot, then for a connection.
func (l *boundedListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &serverConn{Conn: c, writeIdle: l.writeIdle, release: func() { <-l.slots }}, nil
}

// Close stops accepting; connections already accepted stay open.
func (l *boundedListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// serverConn is an accepted connection holding a listener slot until it
// is closed.
type serverConn struct {
	net.Conn
	writeIdle time.Duration
	once      sync.Once
	release   func()
}

// Write extends the write deadline by the idle timeout before writing, and
// again after every part of p the client accepted: a client that reads
// nothing for the whole timeout fails the write, while a slow download
// that keeps reading is never cut, however long it lasts.
func (c *serverConn) Write(p []byte) (int, error) {
	if c.writeIdle <= 0 {
		return c.Conn.Write(p)
	}
	written := 0
	for {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(c.writeIdle))
		n, err := c.Conn.Write(p[written:])
		written += n
		if err == nil || n == 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			return written, err
		}
	}
}

// Close closes the connection and frees its slot (once).
func (c *serverConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite half-closes a TCP connection (see boundedListener).
func (c *serverConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
