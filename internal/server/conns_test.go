package server

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// TestBoundedListenerLimitsConnections: the third connection is accepted
// only once one of the first two closes.
func TestBoundedListenerLimitsConnections(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := limitListener(raw, 2, 0)
	defer ln.Close()
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	for range 3 {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	first := <-accepted
	<-accepted
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted with a limit of 2")
	case <-time.After(200 * time.Millisecond):
	}
	first.Close()
	first.Close() // a second Close frees nothing more
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the third connection was not accepted after one closed")
	}
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-accepted; ok {
		t.Error("Accept returned a connection after Close")
	}
}

// TestBoundedListenerCloseUnblocksAccept: Close ends an Accept waiting for
// a slot.
func TestBoundedListenerCloseUnblocksAccept(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := limitListener(raw, 1, 0)
	c, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	held, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	done := make(chan error)
	go func() {
		_, err := ln.Accept()
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	ln.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept still waiting after Close")
	}
}

// TestWriteIdleTimeout: a reader that stops reading fails the write after
// the idle timeout; one that reads slowly, in pieces each within it, gets
// everything however long that takes in all.
func TestWriteIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	// More than the socket buffers hold, so writes block on the reader.
	payload := make([]byte, 16<<20)
	tests := []struct {
		name     string
		read     func(c net.Conn) (int64, error)
		complete bool
	}{
		{
			name: "stalled reader",
			read: func(c net.Conn) (int64, error) {
				time.Sleep(6 * idle)
				return 0, nil
			},
		},
		{
			name: "slow reader making progress",
			read: func(c net.Conn) (int64, error) {
				var n int64
				buf := make([]byte, 1<<20)
				for {
					time.Sleep(idle / 3)
					m, err := io.ReadFull(c, buf)
					n += int64(m)
					if err != nil {
						if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
							return n, nil
						}
						return n, err
					}
				}
			},
			complete: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ln := limitListener(raw, 4, idle)
			defer ln.Close()
			client, err := net.Dial("tcp", raw.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			if tc, ok := client.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(64 << 10)
			}
			srv, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			if tc, ok := srv.(*serverConn).Conn.(*net.TCPConn); ok {
				_ = tc.SetWriteBuffer(64 << 10)
			}
			var wg sync.WaitGroup
			var got int64
			var readErr error
			wg.Go(func() { got, readErr = tt.read(client) })
			start := time.Now()
			n, err := srv.Write(payload)
			took := time.Since(start)
			srv.Close()
			wg.Wait()
			if tt.complete {
				if err != nil || n != len(payload) || got != int64(len(payload)) || readErr != nil {
					t.Fatalf("wrote %d, read %d of %d in %s: %v, %v", n, got, len(payload), took, err, readErr)
				}
				if took < 2*idle {
					t.Errorf("the slow read took %s, not longer than the idle timeout: the test proves nothing", took)
				}
				return
			}
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("write to a stalled reader: %d bytes, %v after %s, want a deadline error", n, err, took)
			}
			if took > 5*idle {
				t.Errorf("the stalled write failed after %s, want about %s", took, idle)
			}
		})
	}
}
