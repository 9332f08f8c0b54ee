package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// revokeWithin is how long keys of a deleted user may keep working: the
// proxy's credential cache keeps a key for 5 s, plus a margin for a slow
// machine.
const revokeWithin = 10 * time.Second

// TestRevokedUserKeysRefused: keys a user got from `lakegate users
// create` and from POST /api/aws-credentials (with a JWT for the same
// name, whose keys act with the JWT's groups: the users table's are for
// lakegate credentials only) read through the proxy;
// after `lakegate users delete` the proxy refuses both. How long that
// takes is logged.
func TestRevokedUserKeysRefused(t *testing.T) {
	signer := newJWTSigner(t, "")
	st := newPolicyStack(t, lakegateOptions{Auth: jwtOptions(signer)})
	lg := st.LG
	w := watchSecrets(t, lg)
	bucket := bucketName("revoke")
	const content = "revoke me\n"
	st.MinIO.makeBucket(t, bucket, false)
	st.MinIO.put(t, bucket, "allowed/x", content)
	grantAnalysts(t, lg, bucket)

	key, secret := lg.createUser(t, "rita", "analysts")
	// A JWT is not the users table's user of the same name: its keys act
	// with its own groups claim.
	ritaJWT := signer.mint(t, "rita", []string{"Analysts"}, time.Now().Add(time.Hour))
	w.add(secret, ritaJWT)
	sess := lg.awsCredentials(t, bearer(ritaJWT))
	w.add(sess.SecretAccessKey)
	users := []*s3User{
		newS3User(lg, "rita (users create)", key, secret),
		newS3User(lg, "rita (aws-credentials)", sess.AccessKeyID, sess.SecretAccessKey),
	}
	get := rawReq{Method: http.MethodGet, Path: "/" + bucket + "/allowed/x"}
	for _, u := range users {
		if r := u.do(t, get); r.Status != http.StatusOK || string(r.Body) != content {
			t.Fatalf("%s: GET %s before the delete: %d %s", u.Name, get.Path, r.Status, r.Body)
		}
	}

	if stdout, stderr, code := lg.client(t, []string{"users", "delete"}, "rita"); code != 0 {
		t.Fatalf("lakegate users delete rita: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	deleted := time.Now()
	// Every key is asked in turn until each one's key is unknown
	// (InvalidAccessKeyId) or revokeWithin passes. A key may first be
	// refused for want of grants (AccessDenied: its user, and so its
	// groups, are gone) while the proxy's credential cache still knows it.
	type progress struct {
		refused, invalid time.Duration // since the delete; 0: not yet
		served           int           // reads that still returned the object
		last             rawResponse
	}
	prog := make([]progress, len(users))
	poll(revokeWithin, 100*time.Millisecond, func() bool {
		done := true
		for i, u := range users {
			p := &prog[i]
			if p.invalid != 0 {
				continue
			}
			p.last = u.do(t, get)
			since := time.Since(deleted)
			e, _ := parseS3Error(p.last.Body)
			switch {
			case p.last.Status == http.StatusOK:
				p.served++
			case p.last.Status == http.StatusForbidden && e.Code == "InvalidAccessKeyId":
				p.invalid = since
				if p.refused == 0 {
					p.refused = since
				}
			case p.last.Status == http.StatusForbidden && e.Code == "AccessDenied":
				if p.refused == 0 {
					p.refused = since
				}
			default:
				t.Errorf("%s: GET %s after the delete: %d %s, want 403 InvalidAccessKeyId or AccessDenied", u.Name, get.Path, p.last.Status, p.last.Body)
			}
			done = done && p.invalid != 0
		}
		return done
	})
	for i, u := range users {
		p := prog[i]
		switch {
		case p.refused == 0:
			t.Errorf("%s: the proxy still serves GET %s %s after `lakegate users delete rita` (%d reads served)", u.Name, get.Path, revokeWithin, p.served)
		case p.invalid == 0:
			t.Errorf("%s: refused %s after the delete, but the deleted key still authenticates after %s: %d %s, want InvalidAccessKeyId",
				u.Name, p.refused.Round(time.Millisecond), revokeWithin, p.last.Status, p.last.Body)
		default:
			t.Logf("%s: refused %s after `lakegate users delete`, InvalidAccessKeyId after %s (%d reads served after the delete)",
				u.Name, p.refused.Round(time.Millisecond), p.invalid.Round(time.Millisecond), p.served)
		}
	}

	// A JWT is the identity provider's, not lakegate's: it still
	// authenticates, with its own groups whether or not the users table
	// lists rita; one claiming no group gets none, so its keys read
	// nothing.
	t.Run("jwt_after_delete", func(t *testing.T) {
		bare := signer.mint(t, "rita", nil, time.Now().Add(time.Hour))
		w.add(bare)
		u, res, ok := lg.getUser(t, bearer(bare))
		if !ok || u.User != "rita" || len(u.Groups) != 0 {
			t.Errorf("GET /api/get-user with rita's JWT after the delete: %s; want rita without groups", res)
		}
		c := lg.awsCredentials(t, bearer(bare))
		w.add(c.SecretAccessKey)
		if r := newS3User(lg, "rita (new keys)", c.AccessKeyID, c.SecretAccessKey).do(t, get); r.Status != http.StatusForbidden {
			t.Errorf("new keys of the deleted rita, whose JWT names no group: GET %s: %d %s, want 403", get.Path, r.Status, r.Body)
		}
	})

	// A user known only from a JWT has keys from /api/aws-credentials but
	// no row in the users table.
	t.Run("jwt_only_user", func(t *testing.T) {
		jdoeJWT := signer.mint(t, "jdoe", []string{"Analysts"}, time.Now().Add(time.Hour))
		w.add(jdoeJWT)
		c := lg.awsCredentials(t, bearer(jdoeJWT))
		w.add(c.SecretAccessKey)
		jdoe := newS3User(lg, "jdoe (aws-credentials)", c.AccessKeyID, c.SecretAccessKey)
		if r := jdoe.do(t, get); r.Status != http.StatusOK {
			t.Fatalf("jdoe's session keys: GET %s: %d %s", get.Path, r.Status, r.Body)
		}
		// The identity issue: after `lakegate users delete U` the proxy
		// refuses U's keys, from users create or from aws-credentials.
		stdout, stderr, code := lg.client(t, []string{"users", "delete"}, "jdoe")
		if code != 0 {
			r := jdoe.do(t, get)
			t.Fatalf("lakegate users delete jdoe (known from a JWT, not in the users table): exit %d: %s; "+
				"jdoe's session keys are not revoked (GET %s: %d)", code, strings.TrimSpace(stdout+stderr), get.Path, r.Status)
		}
		var last rawResponse
		took, ok := poll(revokeWithin, 100*time.Millisecond, func() bool {
			last = jdoe.do(t, get)
			return last.Status != http.StatusOK
		})
		if !ok {
			t.Errorf("jdoe's session keys still work %s after `lakegate users delete jdoe` exited 0", took.Round(time.Millisecond))
		}
	})
	assertResigned(t, st)
}
