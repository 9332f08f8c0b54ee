package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// Secrets at rest. With a Keyring, the Encrypted decorator stores every
// secret the store holds (an access key's secret and session token, every
// EnsureSecret value) as
//
//	lgenc1:<key id>:<base64 of nonce and AES-256-GCM ciphertext>
//
// with a random 96-bit nonce per value and, as additional authenticated
// data, the record the value belongs to (the access key id, its user and
// the field; the secret's name), so that a ciphertext copied into another
// row, field or user does not decrypt. Values stored before encryption was
// turned on are plaintext (no prefix) and are still read; they are
// encrypted when the record is written again, by `lakegate store
// reencrypt` and by `lakegate store copy`. Tokens need none of this: only
// their SHA-256 is stored.

// sealedPrefix starts every encrypted value; the 1 is the format version.
const sealedPrefix = "lgenc1:"

// ErrDecrypt means a stored secret could not be decrypted: its key is not
// in the keyring, or the value was altered or moved to another record. The
// store never treats such a value as empty or absent.
var ErrDecrypt = errors.New("store: cannot decrypt stored secret")

// KeyringFileMode is the most a key file may allow: the owner's read and
// write. A file that group or others may read is refused.
const KeyringFileMode = 0o600

// keyIDPattern is what a key id may be: it is stored in every value.
var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Keyring holds the keys that encrypt secrets at rest: the current key
// encrypts every new value; every key decrypts the values written with it.
// Rotating (README, "Secrets at rest") takes two restarts: the new key is
// added decrypt-only, then made current; then re-encrypting, then removing
// the old one.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
	ids     []string
}

// LoadKeyring reads a key file (see ParseKeyring). The file must not be
// readable or writable by group or others (mode 0600 or stricter).
func LoadKeyring(path string) (*Keyring, error) {
	f, err := os.Open(path) // #nosec G304 -- operator-chosen path
	if err != nil {
		return nil, fmt.Errorf("store: encryption key file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("store: encryption key file: %w", err)
	}
	if perm := st.Mode().Perm(); perm&^KeyringFileMode != 0 {
		return nil, fmt.Errorf("store: encryption key file %s has mode %04o: it must be readable by its owner only (chmod 600)", path, perm)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("store: encryption key file %s is not a regular file", path)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("store: encryption key file: %w", err)
	}
	k, err := ParseKeyring(data)
	if err != nil {
		return nil, fmt.Errorf("store: encryption key file %s: %w", path, err)
	}
	return k, nil
}

// ParseKeyring parses a key file: one key per line as
//
//	<id>:<base64 of 32 random bytes>
//	decrypt-only <id>:<base64 of 32 random bytes>
//
// (standard base64, padded; e.g. `echo "k1:$(openssl rand -base64 32)"`).
// Ids are 1 to 64 of A-Z a-z 0-9 . _ - and distinct. Empty lines and lines
// starting with # are ignored. The first key not marked decrypt-only is
// the current one; a decrypt-only key only decrypts (a rotation's first
// phase, so that every server can read the new key's values before any
// server writes them). Errors never quote key material.
func ParseKeyring(data []byte) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line, decryptOnly := strings.CutPrefix(line, decryptOnlyMarker)
		line = strings.TrimSpace(line)
		id, b64, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: want <id>:<base64 key>", i+1)
		}
		id, b64 = strings.TrimSpace(id), strings.TrimSpace(b64)
		if !keyIDPattern.MatchString(id) {
			return nil, fmt.Errorf("line %d: key id must be 1 to 64 of A-Z a-z 0-9 . _ -", i+1)
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("line %d: key id %s appears twice", i+1, id)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("line %d (key %s): the key is not standard base64", i+1, id)
		}
		if len(raw) != 32 {
			return nil, fmt.Errorf("line %d (key %s): the key is %d bytes, want 32 (AES-256)", i+1, id, len(raw))
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("line %d (key %s): %w", i+1, id, err)
		}
		aead, err := cipher.NewGCM(block) // 96-bit nonce, 128-bit tag
		if err != nil {
			return nil, fmt.Errorf("line %d (key %s): %w", i+1, id, err)
		}
		k.aeads[id] = aead
		k.ids = append(k.ids, id)
		if k.current == "" && !decryptOnly {
			k.current = id
		}
	}
	if len(k.ids) == 0 {
		return nil, errors.New("no key (want lines <id>:<base64 of 32 bytes>)")
	}
	if k.current == "" {
		return nil, errors.New("every key is decrypt-only: one must encrypt (a line without the marker)")
	}
	return k, nil
}

// decryptOnlyMarker starts the line of a key that only decrypts.
const decryptOnlyMarker = "decrypt-only "

// Current returns the id of the key new values are encrypted with.
func (k *Keyring) Current() string { return k.current }

// IDs returns the ids of every key, the current one first, the others in
// the file's order.
func (k *Keyring) IDs() []string {
	ids := []string{k.current}
	for _, id := range k.ids {
		if id != k.current {
			ids = append(ids, id)
		}
	}
	return ids
}

// seal encrypts plain for the record named by aad with the current key.
func (k *Keyring) seal(plain []byte, aad string) (string, error) {
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("store: encrypt: %w", err)
	}
	out := aead.Seal(nonce, nonce, plain, []byte(aad))
	return sealedPrefix + k.current + ":" + base64.StdEncoding.EncodeToString(out), nil
}

// open decrypts a sealed value of the record named by aad.
func (k *Keyring) open(stored, aad string) ([]byte, error) {
	id, b64, ok := strings.Cut(strings.TrimPrefix(stored, sealedPrefix), ":")
	if !ok {
		return nil, fmt.Errorf("%w: malformed value", ErrDecrypt)
	}
	aead := k.aeads[id]
	if aead == nil {
		return nil, fmt.Errorf("%w: it was encrypted with key %q, which is not in the key file (keys: %s)",
			ErrDecrypt, id, strings.Join(k.ids, ", "))
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: malformed value", ErrDecrypt)
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(aad))
	if err != nil {
		return nil, fmt.Errorf("%w: key %s does not authenticate it (altered, moved from another record, or a different key with the same id)", ErrDecrypt, id)
	}
	return plain, nil
}

// IsEncrypted reports whether a stored value is in the encrypted form.
func IsEncrypted(stored string) bool { return strings.HasPrefix(stored, sealedPrefix) }

// encryptedKeyID returns the key id of an encrypted value, "" for plaintext.
func encryptedKeyID(stored string) string {
	if !IsEncrypted(stored) {
		return ""
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(stored, sealedPrefix), ":")
	return id
}

// The additional authenticated data binds a value to its record. Parts are
// joined with NUL, which no id or name holds.
func accessKeyAAD(k AccessKey, field string) string {
	return strings.Join([]string{"access_keys", k.AccessKeyID, k.UserName, field}, "\x00")
}

func secretAAD(name string) string { return "secrets\x00" + name }

// Fields of an access key that are secret.
const (
	fieldSecretAccessKey = "secret_access_key"
	fieldSessionToken    = "session_token"
)

// Encrypted is a Store decorator that encrypts secrets at rest (see the
// comment at the top of this file). With a nil Keyring it writes plaintext
// and refuses to read encrypted values, with an error saying that
// store.encryption_key_file is missing, rather than hand ciphertext out as
// a secret.
//
// Every method not listed here passes through: tokens (hashes) and the
// policy hold nothing secret, and ListAccessKeyIDs reads no secret (so
// that revoking a user works while a key does not decrypt).
type Encrypted struct {
	Store
	keys *Keyring
}

var _ Store = (*Encrypted)(nil)

// NewEncrypted decorates s; keys nil means plaintext (see Encrypted).
func NewEncrypted(s Store, keys *Keyring) *Encrypted { return &Encrypted{Store: s, keys: keys} }

// Keyring returns the keyring, nil when values are written as plaintext.
func (e *Encrypted) Keyring() *Keyring { return e.keys }

func (e *Encrypted) sealString(plain, aad string) (string, error) {
	if IsEncrypted(plain) {
		// Never wrap ciphertext: it would come back as a "secret" that is
		// ciphertext (a copy from an encrypted store read without its key).
		return "", fmt.Errorf("store: refusing to store an already encrypted value as a secret (read the source with its encryption key)")
	}
	if e.keys == nil || plain == "" {
		return plain, nil
	}
	return e.keys.seal([]byte(plain), aad)
}

func (e *Encrypted) openBytes(stored []byte, aad, what string) ([]byte, error) {
	if !IsEncrypted(string(stored)) {
		return stored, nil // plaintext from before encryption was turned on
	}
	if e.keys == nil {
		return nil, fmt.Errorf("%w: %s is encrypted (key %s) and store.encryption_key_file is not set",
			ErrDecrypt, what, encryptedKeyID(string(stored)))
	}
	plain, err := e.keys.open(string(stored), aad)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return plain, nil
}

func (e *Encrypted) sealKey(k AccessKey) (AccessKey, error) {
	var err error
	if k.SecretAccessKey, err = e.sealString(k.SecretAccessKey, accessKeyAAD(k, fieldSecretAccessKey)); err != nil {
		return AccessKey{}, fmt.Errorf("access key %s: %w", k.AccessKeyID, err)
	}
	if k.SessionToken, err = e.sealString(k.SessionToken, accessKeyAAD(k, fieldSessionToken)); err != nil {
		return AccessKey{}, fmt.Errorf("access key %s: %w", k.AccessKeyID, err)
	}
	return k, nil
}

func (e *Encrypted) openKey(k AccessKey) (AccessKey, error) {
	what := "access key " + k.AccessKeyID
	secret, err := e.openBytes([]byte(k.SecretAccessKey), accessKeyAAD(k, fieldSecretAccessKey), what+" secret")
	if err != nil {
		return AccessKey{}, err
	}
	token, err := e.openBytes([]byte(k.SessionToken), accessKeyAAD(k, fieldSessionToken), what+" session token")
	if err != nil {
		return AccessKey{}, err
	}
	k.SecretAccessKey, k.SessionToken = string(secret), string(token)
	return k, nil
}

// CreateAccessKey implements Store.
func (e *Encrypted) CreateAccessKey(ctx context.Context, k AccessKey) error {
	sealed, err := e.sealKey(k)
	if err != nil {
		return err
	}
	return e.Store.CreateAccessKey(ctx, sealed)
}

// PutAccessKey implements Store; a key stored as plaintext is encrypted.
func (e *Encrypted) PutAccessKey(ctx context.Context, k AccessKey) error {
	sealed, err := e.sealKey(k)
	if err != nil {
		return err
	}
	return e.Store.PutAccessKey(ctx, sealed)
}

// GetAccessKey implements Store.
func (e *Encrypted) GetAccessKey(ctx context.Context, accessKeyID string) (AccessKey, error) {
	k, err := e.Store.GetAccessKey(ctx, accessKeyID)
	if err != nil {
		return AccessKey{}, err
	}
	return e.openKey(k)
}

// ListAccessKeys implements Store. One key that does not decrypt fails the
// whole list.
func (e *Encrypted) ListAccessKeys(ctx context.Context, userName string) ([]AccessKey, error) {
	keys, err := e.Store.ListAccessKeys(ctx, userName)
	if err != nil {
		return nil, err
	}
	for i := range keys {
		if keys[i], err = e.openKey(keys[i]); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// EnsureSecret implements PolicyStore: value is stored encrypted when no
// value is stored yet; the stored value is returned decrypted.
func (e *Encrypted) EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	sealed, err := e.sealString(string(value), secretAAD(name))
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	stored, err := e.Store.EnsureSecret(ctx, name, []byte(sealed))
	if err != nil {
		return nil, err
	}
	return e.openBytes(stored, secretAAD(name), "secret "+name)
}

// ListSecrets implements Store, decrypted.
func (e *Encrypted) ListSecrets(ctx context.Context) ([]Secret, error) {
	secrets, err := e.Store.ListSecrets(ctx)
	if err != nil {
		return nil, err
	}
	for i := range secrets {
		if secrets[i].Value, err = e.openBytes(secrets[i].Value, secretAAD(secrets[i].Name), "secret "+secrets[i].Name); err != nil {
			return nil, err
		}
	}
	return secrets, nil
}

// Export implements Store: the snapshot's secrets are decrypted.
func (e *Encrypted) Export(ctx context.Context) (Snapshot, error) {
	snap, err := e.Store.Export(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	for i := range snap.AccessKeys {
		if snap.AccessKeys[i], err = e.openKey(snap.AccessKeys[i]); err != nil {
			return Snapshot{}, err
		}
	}
	for i := range snap.Secrets {
		s := &snap.Secrets[i]
		if s.Value, err = e.openBytes(s.Value, secretAAD(s.Name), "secret "+s.Name); err != nil {
			return Snapshot{}, err
		}
	}
	return snap, nil
}

// Import implements Store: the snapshot's secrets are encrypted with the
// current key (stored as plaintext without a Keyring).
func (e *Encrypted) Import(ctx context.Context, snap Snapshot, o ImportOptions) error {
	out := snap
	out.AccessKeys = make([]AccessKey, len(snap.AccessKeys))
	for i, k := range snap.AccessKeys {
		sealed, err := e.sealKey(k)
		if err != nil {
			return err
		}
		out.AccessKeys[i] = sealed
	}
	out.Secrets = make([]Secret, len(snap.Secrets))
	for i, s := range snap.Secrets {
		sealed, err := e.sealString(string(s.Value), secretAAD(s.Name))
		if err != nil {
			return fmt.Errorf("secret %s: %w", s.Name, err)
		}
		out.Secrets[i] = Secret{Name: s.Name, Value: []byte(sealed)}
	}
	return e.Store.Import(ctx, out, o)
}

// ReencryptResult counts what Reencrypt did.
type ReencryptResult struct {
	// Encrypted values were plaintext or under another key and are now
	// encrypted with the current key.
	Encrypted int
	// Current values were already encrypted with the current key.
	Current int
	// Changed values were changed by someone else while Reencrypt ran and
	// were left for the writer (whose write encrypted them).
	Changed int
}

// valueSwapper replaces a stored value only while it still is what was
// read, so that re-encrypting never undoes a concurrent write. *SQL
// implements it for every driver.
type valueSwapper interface {
	SwapAccessKeySecrets(ctx context.Context, old, repl AccessKey) (bool, error)
	SwapSecret(ctx context.Context, name string, old, repl []byte) (bool, error)
}

// Reencrypt rewrites every stored secret that is plaintext or encrypted
// with another key than the current one, so that the other keys can then
// be removed from the key file. It is safe while servers run: a value is
// replaced only if it is still the one read. Without a Keyring it fails.
func (e *Encrypted) Reencrypt(ctx context.Context) (ReencryptResult, error) {
	var res ReencryptResult
	if e.keys == nil {
		return res, errors.New("store: reencrypt needs store.encryption_key_file")
	}
	sw, ok := e.Store.(valueSwapper)
	if !ok {
		return res, fmt.Errorf("store: reencrypt: %T cannot replace stored values", e.Store)
	}
	current := e.keys.Current()
	keys, err := e.Store.ListAccessKeys(ctx, "")
	if err != nil {
		return res, err
	}
	for _, raw := range keys {
		stale := 0
		for _, v := range []string{raw.SecretAccessKey, raw.SessionToken} {
			if v == "" || encryptedKeyID(v) == current {
				continue
			}
			stale++
		}
		if stale == 0 {
			res.Current++
			continue
		}
		plain, err := e.openKey(raw)
		if err != nil {
			return res, err
		}
		sealed, err := e.sealKey(plain)
		if err != nil {
			return res, err
		}
		swapped, err := sw.SwapAccessKeySecrets(ctx, raw, sealed)
		if err != nil {
			return res, err
		}
		if swapped {
			res.Encrypted++
		} else {
			res.Changed++
		}
	}
	secrets, err := e.Store.ListSecrets(ctx)
	if err != nil {
		return res, err
	}
	for _, raw := range secrets {
		if encryptedKeyID(string(raw.Value)) == current {
			res.Current++
			continue
		}
		plain, err := e.openBytes(raw.Value, secretAAD(raw.Name), "secret "+raw.Name)
		if err != nil {
			return res, err
		}
		sealed, err := e.keys.seal(plain, secretAAD(raw.Name))
		if err != nil {
			return res, err
		}
		swapped, err := sw.SwapSecret(ctx, raw.Name, raw.Value, []byte(sealed))
		if err != nil {
			return res, err
		}
		if swapped {
			res.Encrypted++
		} else {
			res.Changed++
		}
	}
	return res, nil
}

// WithKeyFile decorates s with the keyring in keyFile (LoadKeyring), or
// for plaintext when keyFile is "" (see Encrypted).
func WithKeyFile(s Store, keyFile string) (*Encrypted, error) {
	if keyFile == "" {
		return NewEncrypted(s, nil), nil
	}
	keys, err := LoadKeyring(keyFile)
	if err != nil {
		return nil, err
	}
	return NewEncrypted(s, keys), nil
}

// PlaintextWarning is what a process says at start when it writes the
// store's secrets in plaintext.
const PlaintextWarning = "store.encryption_key_file is not set: secrets are stored in plaintext in the policy store (access key secrets, the listing seal key)"
