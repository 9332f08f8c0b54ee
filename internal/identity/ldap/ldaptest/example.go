package ldaptest

import (
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // {SSHA} is SHA-1 by definition; slapd verifies it
	"encoding/base64"
	"fmt"
)

// The example directory's accounts (see Example).
const (
	PeopleDN = "ou=people," + Suffix
	GroupsDN = "ou=groups," + Suffix

	// ServiceDN is the service account lakegate searches as.
	ServiceDN       = "cn=lakegate,ou=services," + Suffix
	ServicePassword = "service-secret"

	AliceDN       = "uid=alice," + PeopleDN
	AlicePassword = "alice-secret"
	BobDN         = "uid=bob," + PeopleDN
	BobPassword   = "bob-secret"
	// Carol is in no group, and her cn is alice's: a search by cn for
	// "Alice Liddell" finds two entries.
	CarolDN       = "uid=carol," + PeopleDN
	CarolPassword = "carol-secret"
)

// Example returns the LDIF of lakegate's example directory, passwords
// hashed as {SSHA}:
//
//	ou=services   cn=lakegate (ServiceDN, a simpleSecurityObject)
//	ou=people     alice (cn "Alice Liddell"), bob (cn "Bob Builder", posixAccount),
//	              carol (cn "Alice Liddell" too): inetOrgPerson
//	ou=groups     cn=Analysts  groupOfNames, member alice's DN
//	              cn=ENGINEERS posixGroup, memberUid bob
//
// Group names are mixed case so that tests see them down-cased.
func Example() string {
	return fmt.Sprintf(`dn: ou=services,%[1]s
objectClass: organizationalUnit
ou: services

dn: %[2]s
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: lakegate
userPassword: %[3]s

dn: %[4]s
objectClass: organizationalUnit
ou: people

dn: %[5]s
objectClass: inetOrgPerson
uid: alice
cn: Alice Liddell
sn: Liddell
mail: alice@example.com
userPassword: %[6]s

dn: %[7]s
objectClass: inetOrgPerson
objectClass: posixAccount
uid: bob
cn: Bob Builder
sn: Builder
uidNumber: 1002
gidNumber: 2000
homeDirectory: /home/bob
userPassword: %[8]s

dn: %[9]s
objectClass: inetOrgPerson
uid: carol
cn: Alice Liddell
sn: Other
userPassword: %[10]s

dn: %[11]s
objectClass: organizationalUnit
ou: groups

dn: cn=Analysts,%[11]s
objectClass: groupOfNames
cn: Analysts
member: %[5]s

dn: cn=ENGINEERS,%[11]s
objectClass: posixGroup
cn: ENGINEERS
gidNumber: 2000
memberUid: bob
`, Suffix, ServiceDN, SSHA(ServicePassword), PeopleDN,
		AliceDN, SSHA(AlicePassword), BobDN, SSHA(BobPassword),
		CarolDN, SSHA(CarolPassword), GroupsDN)
}

// SSHA returns password hashed as slappasswd's default {SSHA} scheme:
// base64(SHA-1(password + salt) + salt) with a random 8-byte salt.
func SSHA(password string) string {
	salt := make([]byte, 8)
	_, _ = rand.Read(salt) // never fails (crypto/rand)
	h := sha1.New()        //nolint:gosec // see the import
	h.Write([]byte(password))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}
