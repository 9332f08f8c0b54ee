package credentials_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/store"
)

var tokenRE = regexp.MustCompile(`^lgt_[A-Za-z0-9]{40}$`)

// tokens returns a token service over a fresh SQLite store and its clock,
// which starts on a whole millisecond (the store's precision).
func tokens(t *testing.T) (*credentials.Tokens, *store.SQL, *clock) {
	t.Helper()
	st := openStore(t)
	tk := credentials.NewTokens(st)
	c := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	credentials.SetTokensClock(tk, c.Now)
	return tk, st, c
}

func TestTokenIssueAndAuthenticate(t *testing.T) {
	ctx := t.Context()
	tk, st, _ := tokens(t)
	raw, err := tk.Issue(ctx, "alice", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !tokenRE.MatchString(raw) {
		t.Errorf("token %q does not match %s", raw, tokenRE)
	}
	user, err := tk.Authenticate(ctx, raw)
	if err != nil || user != "alice" {
		t.Errorf("Authenticate = %q, %v; want alice", user, err)
	}
	// Only the hash is stored.
	rec, err := st.GetToken(ctx, credentials.HashToken(raw))
	if err != nil || rec.UserName != "alice" || !rec.ExpiresAt.IsZero() {
		t.Errorf("stored %+v, %v", rec, err)
	}
	if _, err := st.GetToken(ctx, raw); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the raw token is a stored key: %v", err)
	}
	if h := credentials.HashToken(raw); len(h) != 64 || strings.ToLower(h) != h {
		t.Errorf("HashToken = %q, want 64 lower-case hex digits", h)
	}

	other, err := tk.Issue(ctx, "alice", 0)
	if err != nil {
		t.Fatal(err)
	}
	if other == raw {
		t.Error("two tokens alike")
	}
	if _, err := tk.Issue(ctx, "", 0); err == nil || err.Error() != "credentials: issue token: empty user name" {
		t.Errorf("Issue for an empty user name: %v", err)
	}
}

func TestTokenAuthenticateRefuses(t *testing.T) {
	ctx := t.Context()
	tk, _, _ := tokens(t)
	raw, err := tk.Issue(ctx, "alice", 0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, raw string
	}{
		{"empty", ""},
		{"unknown", "lgt_" + strings.Repeat("x", 40)},
		{"without the prefix", strings.TrimPrefix(raw, "lgt_")},
		{"prefix in upper case", "LGT_" + strings.TrimPrefix(raw, "lgt_")},
		{"with a blank around it", " " + raw},
		{"truncated", raw[:len(raw)-1]},
		{"extended", raw + "x"},
		{"too long", "lgt_" + strings.Repeat("a", 253)},
		{"a JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.sig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, err := tk.Authenticate(ctx, tt.raw)
			if !errors.Is(err, credentials.ErrInvalidToken) || user != "" {
				t.Errorf("Authenticate(%q) = %q, %v; want ErrInvalidToken", tt.raw, user, err)
			}
		})
	}
}

func TestTokenExpiry(t *testing.T) {
	ctx := t.Context()
	tk, st, c := tokens(t)
	issued := c.Now()
	raw, err := tk.Issue(ctx, "bob", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	never, err := tk.Issue(ctx, "carol", 0)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := st.GetToken(ctx, credentials.HashToken(raw))
	if err != nil || !rec.CreatedAt.Equal(issued) || !rec.ExpiresAt.Equal(issued.Add(time.Hour)) {
		t.Fatalf("stored %+v, %v; want created %v, expiring an hour later", rec, err, issued)
	}
	tests := []struct {
		name  string
		at    time.Duration // after issue
		valid bool
	}{
		{"at once", 0, true},
		{"a millisecond before expiry", time.Hour - time.Millisecond, true},
		{"at expiry", time.Hour, false},
		{"after expiry", 2 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.Advance(issued.Add(tt.at).Sub(c.Now()))
			user, err := tk.Authenticate(ctx, raw)
			if tt.valid && (err != nil || user != "bob") {
				t.Errorf("Authenticate = %q, %v; want bob", user, err)
			}
			if !tt.valid && !errors.Is(err, credentials.ErrInvalidToken) {
				t.Errorf("Authenticate = %q, %v; want ErrInvalidToken", user, err)
			}
		})
	}
	c.Advance(100 * 365 * 24 * time.Hour)
	if user, err := tk.Authenticate(ctx, never); err != nil || user != "carol" {
		t.Errorf("a token without expiry, a century later: %q, %v", user, err)
	}
}

func TestTokenEnsure(t *testing.T) {
	ctx := t.Context()
	tk, st, c := tokens(t)
	const raw = "lgt_configured-admin-token-000"
	if err := tk.Ensure(ctx, raw, "admin"); err != nil {
		t.Fatal(err)
	}
	if user, err := tk.Authenticate(ctx, raw); err != nil || user != "admin" {
		t.Fatalf("Authenticate after Ensure = %q, %v", user, err)
	}
	first, err := st.GetToken(ctx, credentials.HashToken(raw))
	if err != nil || !first.ExpiresAt.IsZero() {
		t.Fatalf("stored %+v, %v; want no expiry", first, err)
	}

	c.Advance(time.Hour)
	if err := tk.Ensure(ctx, raw, "admin"); err != nil {
		t.Fatalf("Ensure again: %v", err)
	}
	again, err := st.GetToken(ctx, credentials.HashToken(raw))
	if err != nil || !again.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("Ensure again rewrote the token: %+v, %v", again, err)
	}

	err = tk.Ensure(ctx, raw, "mallory")
	if err == nil || err.Error() != "credentials: the configured token already belongs to user admin" {
		t.Errorf("Ensure for another user: %v", err)
	}
	if user, _ := tk.Authenticate(ctx, raw); user != "admin" {
		t.Errorf("the token now authenticates %q", user)
	}
}

// TestTokenEnsureRefusesUnusableToken: a token Authenticate would never
// accept is refused when registered, not silently stored.
func TestTokenEnsureRefusesUnusableToken(t *testing.T) {
	tk, _, _ := tokens(t)
	for _, raw := range []string{"", "admin-token-without-prefix", "lgt_" + strings.Repeat("a", 253)} {
		err := tk.Ensure(t.Context(), raw, "admin")
		if err == nil || !strings.Contains(err.Error(), "a token must start with lgt_ and be at most 256 bytes long") {
			t.Errorf("Ensure(%q): %v", raw, err)
		}
	}
	if err := tk.Ensure(t.Context(), "lgt_"+strings.Repeat("a", 252), "admin"); err != nil {
		t.Errorf("Ensure of a 256-byte token: %v", err)
	}
}

// brokenTokens fails every call with a technical error.
type brokenTokens struct{ err error }

func (b brokenTokens) CreateToken(context.Context, store.Token) error { return b.err }
func (b brokenTokens) GetToken(context.Context, string) (store.Token, error) {
	return store.Token{}, b.err
}
func (b brokenTokens) EnsureSecret(context.Context, string, []byte) ([]byte, error) {
	return nil, b.err
}

func TestTokenTechnicalErrors(t *testing.T) {
	boom := errors.New("database is on fire")
	tk := credentials.NewTokens(brokenTokens{err: boom})
	ctx := t.Context()
	if _, err := tk.Authenticate(ctx, "lgt_"+strings.Repeat("x", 40)); errors.Is(err, credentials.ErrInvalidToken) || !errors.Is(err, boom) {
		t.Errorf("Authenticate: %v, want the technical error and not ErrInvalidToken", err)
	}
	if _, err := tk.Issue(ctx, "alice", 0); !errors.Is(err, boom) {
		t.Errorf("Issue: %v", err)
	}
	if err := tk.Ensure(ctx, "lgt_configured-admin-token-000", "admin"); !errors.Is(err, boom) {
		t.Errorf("Ensure: %v", err)
	}
}

// TestTokenSession: a token issued for a session carries its groups and
// expiry to AuthenticateSession; one issued without groups carries none.
func TestTokenSession(t *testing.T) {
	ctx := t.Context()
	tk, _, c := tokens(t)
	raw, err := tk.IssueSession(ctx, "jdoe", &identity.Groups{Names: []string{"analysts"}, CaseInsensitive: true}, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	id, err := tk.AuthenticateSession(ctx, raw)
	if err != nil || id.User != "jdoe" || id.Method != credentials.MethodToken || !id.Expires.Equal(c.Now().Add(30*time.Minute)) {
		t.Fatalf("AuthenticateSession = %+v, %v", id, err)
	}
	if id.Session == nil || !slices.Equal(id.Session.Names, []string{"analysts"}) || !id.Session.CaseInsensitive || id.Session.Source != identity.SourceSession {
		t.Errorf("session groups = %+v, want [analysts], case-insensitive, from the session", id.Session)
	}
	plain, err := tk.Issue(ctx, "carol", 0)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := tk.AuthenticateSession(ctx, plain); err != nil || id.Session != nil || !id.Expires.IsZero() {
		t.Errorf("a token without a session: %+v, %v; want no groups and no expiry", id, err)
	}
	c.Advance(30 * time.Minute)
	if _, err := tk.AuthenticateSession(ctx, raw); !errors.Is(err, credentials.ErrInvalidToken) {
		t.Errorf("the session token at its expiry: %v, want ErrInvalidToken", err)
	}
}

// TestEnsureRevoked: a token Ensure registered and that was deleted since
// (its user's credentials revoked) is not registered again; others are.
func TestEnsureRevoked(t *testing.T) {
	ctx := t.Context()
	tk, st, _ := tokens(t)
	raw := credentials.TokenPrefix + credentials.RandomToken(40)
	for range 2 { // the second time it is registered already
		if err := tk.Ensure(ctx, raw, "admin"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.DeleteTokens(ctx, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := tk.Ensure(ctx, raw, "admin"); !errors.Is(err, credentials.ErrTokenRevoked) {
		t.Errorf("Ensure of the revoked token: %v, want ErrTokenRevoked", err)
	}
	if _, err := tk.Authenticate(ctx, raw); !errors.Is(err, credentials.ErrInvalidToken) {
		t.Errorf("the revoked token authenticates: %v", err)
	}
	other := credentials.TokenPrefix + credentials.RandomToken(40)
	if err := tk.Ensure(ctx, other, "admin"); err != nil {
		t.Errorf("Ensure of a new token after the revocation: %v", err)
	}
}

// slowCreate is a TokenStore whose CreateToken starts after a delay, and
// which says when its EnsureSecret returned: a server between recording
// the token it registers and creating it.
type slowCreate struct {
	credentials.TokenStore
	delay    time.Duration
	recorded chan struct{}
}

func (s slowCreate) EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	defer close(s.recorded)
	return s.TokenStore.EnsureSecret(ctx, name, value)
}

func (s slowCreate) CreateToken(ctx context.Context, tok store.Token) error {
	time.Sleep(s.delay)
	return s.TokenStore.CreateToken(ctx, tok)
}

// TestEnsureConcurrentStart: two servers sharing a fresh store register
// the same configured token at once; the one that finds the other's record
// before the token exists must not take the token for revoked.
func TestEnsureConcurrentStart(t *testing.T) {
	ctx := t.Context()
	_, st, _ := tokens(t)
	raw := credentials.TokenPrefix + credentials.RandomToken(40)
	slow := slowCreate{TokenStore: st, delay: 300 * time.Millisecond, recorded: make(chan struct{})}
	errA := make(chan error, 1)
	go func() { errA <- credentials.NewTokens(slow).Ensure(ctx, raw, "admin") }()
	<-slow.recorded
	if err := credentials.NewTokens(st).Ensure(ctx, raw, "admin"); err != nil {
		t.Errorf("server B: Ensure = %v, want nil (A is registering the token)", err)
	}
	if err := <-errA; err != nil {
		t.Errorf("server A: Ensure = %v", err)
	}
	if user, err := credentials.NewTokens(st).Authenticate(ctx, raw); err != nil || user != "admin" {
		t.Errorf("Authenticate = %q, %v", user, err)
	}
}
