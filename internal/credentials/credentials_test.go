package credentials_test

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
	"github.com/lakegate/lakegate/internal/store"
)

var (
	idRE     = regexp.MustCompile(`^LG[A-Z0-9]{18}$`)
	secretRE = regexp.MustCompile(`^[A-Za-z0-9]{40}$`)
)

func TestGenerateShape(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id, secret := credentials.Generate()
		if !idRE.MatchString(id) {
			t.Fatalf("access key id %q does not match %s", id, idRE)
		}
		if !secretRE.MatchString(secret) {
			t.Fatalf("secret %q does not match %s", secret, secretRE)
		}
		if seen[id] || seen[secret] {
			t.Fatalf("repeated value after %d draws", len(seen))
		}
		seen[id], seen[secret] = true, true
	}
}

func TestGenerateUsesWholeAlphabet(t *testing.T) {
	counts := map[rune]int{}
	for range 200 {
		_, secret := credentials.Generate()
		for _, r := range secret {
			counts[r]++
		}
	}
	if len(counts) != 62 {
		t.Errorf("8000 secret characters used %d distinct symbols, want 62", len(counts))
	}
}

func openStore(t *testing.T) *store.SQL {
	t.Helper()
	s, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "lakegate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestServiceLookup(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	svc := credentials.New(st)

	if _, err := svc.LookupCredential(ctx, "LGNOSUCHKEY000000000"); !errors.Is(err, sigv4.ErrUnknownAccessKey) {
		t.Fatalf("unknown key: err = %v, want ErrUnknownAccessKey", err)
	}

	k, err := svc.Issue(ctx, "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !idRE.MatchString(k.AccessKeyID) || k.UserName != "alice" || k.ExpiresAt.IsZero() {
		t.Fatalf("issued %+v", k)
	}
	cred, err := svc.LookupCredential(ctx, k.AccessKeyID)
	if err != nil {
		t.Fatal(err)
	}
	if cred.AccessKeyID != k.AccessKeyID || cred.SecretAccessKey != k.SecretAccessKey ||
		!cred.Expires.Equal(k.ExpiresAt.Truncate(time.Millisecond)) {
		t.Errorf("credential %+v does not match issued key %+v", cred, k)
	}

	if err := svc.Ensure(ctx, "LGADMIN0000000000000", "first-secret-value", "admin"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Ensure(ctx, "LGADMIN0000000000000", "second-secret-value", "admin"); err != nil {
		t.Fatal(err)
	}
	cred, err = svc.LookupCredential(ctx, "LGADMIN0000000000000")
	if err != nil {
		t.Fatal(err)
	}
	if cred.SecretAccessKey != "second-secret-value" || !cred.Expires.IsZero() {
		t.Errorf("after Ensure twice: %+v", cred)
	}
}

// failingStore fails every call with a technical error.
type failingStore struct{ err error }

func (f failingStore) GetAccessKey(context.Context, string) (store.AccessKey, error) {
	return store.AccessKey{}, f.err
}
func (f failingStore) CreateAccessKey(context.Context, store.AccessKey) error { return f.err }
func (f failingStore) PutAccessKey(context.Context, store.AccessKey) error    { return f.err }
func (f failingStore) ListAccessKeyIDs(context.Context, string) ([]string, error) {
	return nil, f.err
}
func (f failingStore) DeleteAccessKey(context.Context, string) error     { return f.err }
func (f failingStore) DeleteTokens(context.Context, string) (int, error) { return 0, f.err }

func TestServiceTechnicalErrorIsNotUnknownKey(t *testing.T) {
	boom := errors.New("database is on fire")
	svc := credentials.New(failingStore{err: boom})
	_, err := svc.LookupCredential(t.Context(), "LGX")
	if errors.Is(err, sigv4.ErrUnknownAccessKey) || !errors.Is(err, boom) {
		t.Errorf("err = %v, want the technical error and not ErrUnknownAccessKey", err)
	}
}

// collidingStore reports ErrExists for the first n creates.
type collidingStore struct {
	failingStore
	n       int
	created []store.AccessKey
}

func (c *collidingStore) CreateAccessKey(_ context.Context, k store.AccessKey) error {
	if c.n > 0 {
		c.n--
		return store.ErrExists
	}
	c.created = append(c.created, k)
	return nil
}

func TestIssueRetriesCollisions(t *testing.T) {
	st := &collidingStore{n: 2}
	k, err := credentials.New(st).Issue(t.Context(), "bob", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.created) != 1 || st.created[0].AccessKeyID != k.AccessKeyID || !k.ExpiresAt.IsZero() {
		t.Errorf("created %+v, returned %+v", st.created, k)
	}
	st = &collidingStore{n: 100}
	if _, err := credentials.New(st).Issue(t.Context(), "bob", 0); err == nil {
		t.Error("endless collisions: want an error")
	}
	if _, err := credentials.New(st).Issue(t.Context(), "", 0); err == nil {
		t.Error("empty user: want an error")
	}
}

func TestEnsureKeepsAnUnchangedKey(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	svc := credentials.New(st)
	if err := svc.Ensure(ctx, "LGADMIN0000000000000", "admin-secret-value", "admin"); err != nil {
		t.Fatal(err)
	}
	first, err := st.GetAccessKey(ctx, "LGADMIN0000000000000")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if err := svc.Ensure(ctx, "LGADMIN0000000000000", "admin-secret-value", "admin"); err != nil {
		t.Fatal(err)
	}
	again, err := st.GetAccessKey(ctx, "LGADMIN0000000000000")
	if err != nil {
		t.Fatal(err)
	}
	if !again.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("CreatedAt changed from %v to %v for an unchanged key", first.CreatedAt, again.CreatedAt)
	}
}

func TestRevokeUser(t *testing.T) {
	st, err := store.OpenSQLite(t.Context(), t.TempDir()+"/db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc := credentials.New(st)
	tokens := credentials.NewTokens(st)
	// jdoe is not in the users table: a user known only from a JWT.
	a, _ := svc.Issue(t.Context(), "jdoe", 0)
	b, _ := svc.Issue(t.Context(), "jdoe", time.Hour)
	other, _ := svc.Issue(t.Context(), "someone-else", 0)
	raw, _ := tokens.Issue(t.Context(), "jdoe", 0)

	ids, n, err := svc.RevokeUser(t.Context(), "jdoe")
	if err != nil || len(ids) != 2 || n != 1 {
		t.Fatalf("RevokeUser = %v, %d, %v; want 2 keys and 1 token", ids, n, err)
	}
	for _, id := range []string{a.AccessKeyID, b.AccessKeyID} {
		if _, err := svc.LookupCredential(t.Context(), id); !errors.Is(err, sigv4.ErrUnknownAccessKey) {
			t.Errorf("revoked key %s still resolves: %v", id, err)
		}
	}
	if _, err := tokens.Authenticate(t.Context(), raw); !errors.Is(err, credentials.ErrInvalidToken) {
		t.Errorf("revoked token still works: %v", err)
	}
	if _, err := svc.LookupCredential(t.Context(), other.AccessKeyID); err != nil {
		t.Errorf("another user's key was revoked: %v", err)
	}
	if _, _, err := svc.RevokeUser(t.Context(), "failing"); err != nil {
		// nothing to revoke is not an error
		t.Errorf("RevokeUser of a user without keys: %v", err)
	}
}

// TestRevokeUserUndecryptableKey: revoking needs only the keys' ids, so a
// key the keyring cannot decrypt (written under a key not yet, or no
// longer, in the key file: a rotation window) does not stop it.
func TestRevokeUserUndecryptableKey(t *testing.T) {
	st := openStore(t)
	keyring := func(line string) *store.Keyring {
		k, err := store.ParseKeyring([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	old := credentials.New(store.NewEncrypted(st, keyring("old:"+strings.Repeat("A", 43)+"=")))
	key, err := old.Issue(t.Context(), "jdoe", 0)
	if err != nil {
		t.Fatal(err)
	}
	svc := credentials.New(store.NewEncrypted(st, keyring("new:"+strings.Repeat("B", 43)+"=")))
	if _, err := svc.LookupCredential(t.Context(), key.AccessKeyID); !errors.Is(err, store.ErrDecrypt) {
		t.Fatalf("lookup under another key = %v, want ErrDecrypt (the test's premise)", err)
	}
	ids, _, err := svc.RevokeUser(t.Context(), "jdoe")
	if err != nil || len(ids) != 1 || ids[0] != key.AccessKeyID {
		t.Fatalf("RevokeUser = %v, %v; want [%s]", ids, err, key.AccessKeyID)
	}
	if _, err := st.GetAccessKey(t.Context(), key.AccessKeyID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the undecryptable key is still stored: %v", err)
	}
}
