package server

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestListenLogOnce: during an outage the policy listener's reconnection
// attempts (up to every 5 s) are logged once, not each, and its return
// once, as Engine.Run does for reloads.
func TestListenLogOnce(t *testing.T) {
	var buf bytes.Buffer
	l := listenLog{log: slog.New(slog.NewTextHandler(&buf, nil))}
	down := errors.New("dial tcp: connection refused")
	count := func(s string) int { return strings.Count(buf.String(), s) }

	l.connected() // first connection: nothing to say
	for range 5 {
		l.lost(down)
	}
	if n := count("level=WARN"); n != 1 {
		t.Errorf("%d warnings for one outage, want 1:\n%s", n, buf.String())
	}
	l.connected()
	l.connected() // a notification: nothing to say
	if n := count("level=INFO"); n != 1 {
		t.Errorf("%d notices of the listener's return, want 1:\n%s", n, buf.String())
	}
	l.lost(down)
	if n := count("level=WARN"); n != 2 {
		t.Errorf("a second outage: %d warnings in all, want 2:\n%s", n, buf.String())
	}
}
