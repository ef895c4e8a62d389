package basicauth

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// hashKind is a password hash format of htpasswd files.
type hashKind int

const (
	kindSHA1     hashKind = iota // {SHA}base64(sha1(password)), htpasswd -s
	kindMD5Crypt                 // $1$salt$hash, crypt(3) MD5
	kindAPR1                     // $apr1$salt$hash, htpasswd -m
	kindBcrypt                   // $2y$cost$..., htpasswd -B
)

// expensive reports whether checking costs much more than a SHA-256 of the
// password, which is when remembering successful checks pays off.
func (k hashKind) expensive() bool { return k != kindSHA1 }

// errNotHashed tells the user what is accepted and how to make a hash. It
// never repeats the value, which may well be a plain-text password.
func errNotHashed(user string) error {
	return fmt.Errorf("the password of %q is not hashed in a supported format; "+
		"use bcrypt ($2y$...), apr1 ($apr1$...) or SHA1 ({SHA}...), "+
		"e.g. made with: htpasswd -nbB %s 'password'", user, user)
}

// parseHash finds the format of a stored hash and checks that it is well
// formed, so that a typo is reported when the configuration is loaded, not
// as a user who can never log in.
func parseHash(user, h string) (hashKind, error) {
	switch {
	case strings.HasPrefix(h, "$$"):
		return 0, fmt.Errorf("the hash of %q starts with \"$$\": that is docker-compose escaping; write single \"$\" outside of a compose file", user)
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		cost, err := bcrypt.Cost([]byte(h))
		if err != nil || len(h) != 60 {
			return 0, fmt.Errorf("the bcrypt hash of %q is malformed (a bcrypt hash is 60 characters)", user)
		}
		if cost > maxBcryptCost {
			return 0, fmt.Errorf("the bcrypt hash of %q has cost %d; above %d every request would take seconds", user, cost, maxBcryptCost)
		}
		return kindBcrypt, nil
	case strings.HasPrefix(h, "$apr1$"):
		if !validCrypt(h, "$apr1$") {
			return 0, fmt.Errorf("the apr1 hash of %q is malformed (want $apr1$salt$22 characters)", user)
		}
		return kindAPR1, nil
	case strings.HasPrefix(h, "$1$"):
		if !validCrypt(h, "$1$") {
			return 0, fmt.Errorf("the MD5-crypt hash of %q is malformed (want $1$salt$22 characters)", user)
		}
		return kindMD5Crypt, nil
	case strings.HasPrefix(h, "{SHA}"):
		if b, err := base64.StdEncoding.DecodeString(h[len("{SHA}"):]); err != nil || len(b) != sha1.Size {
			return 0, fmt.Errorf("the SHA1 hash of %q is malformed (want {SHA} and 28 base64 characters)", user)
		}
		return kindSHA1, nil
	}
	return 0, errNotHashed(user)
}

// maxBcryptCost bounds the work of one check: cost 16 is already about 4 s.
const maxBcryptCost = 16

// validCrypt checks magic + salt (at most 8 characters) + "$" + 22
// characters of the crypt alphabet.
func validCrypt(h, magic string) bool {
	salt, sum, ok := strings.Cut(h[len(magic):], "$")
	if !ok || len(salt) > 8 || len(sum) != 22 {
		return false
	}
	for i := 0; i < len(sum); i++ {
		if !strings.ContainsRune(itoa64, rune(sum[i])) {
			return false
		}
	}
	return true
}

// verify checks password against a stored hash of the given kind. Digests
// are compared in constant time; bcrypt does so itself.
func verify(kind hashKind, stored, password string) bool {
	switch kind {
	case kindBcrypt:
		return bcrypt.CompareHashAndPassword([]byte(stored), []byte(password)) == nil
	case kindAPR1, kindMD5Crypt:
		magic := "$1$"
		if kind == kindAPR1 {
			magic = "$apr1$"
		}
		salt, _, _ := strings.Cut(stored[len(magic):], "$")
		return subtle.ConstantTimeCompare([]byte(md5Crypt(password, salt, magic)), []byte(stored)) == 1
	case kindSHA1:
		sum := sha1.Sum([]byte(password))
		got := "{SHA}" + base64.StdEncoding.EncodeToString(sum[:])
		return subtle.ConstantTimeCompare([]byte(got), []byte(stored)) == 1
	}
	return false
}

const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// md5Crypt is Poul-Henning Kamp's MD5-based crypt(3), which Apache's apr1
// uses unchanged but for the magic string. It returns magic+salt+"$"+hash.
func md5Crypt(password, salt, magic string) string {
	pw, sl := []byte(password), []byte(salt)
	if len(sl) > 8 {
		sl = sl[:8]
	}

	alt := md5.New()
	alt.Write(pw)
	alt.Write(sl)
	alt.Write(pw)
	altSum := alt.Sum(nil)

	d := md5.New()
	d.Write(pw)
	d.Write([]byte(magic))
	d.Write(sl)
	for i := len(pw); i > 0; i -= 16 {
		d.Write(altSum[:min(i, 16)])
	}
	// For each bit of the length, a NUL byte or the first password byte.
	for i := len(pw); i > 0; i >>= 1 {
		if i&1 == 1 {
			d.Write([]byte{0})
		} else {
			d.Write(pw[:1])
		}
	}
	sum := d.Sum(nil)

	// 1000 rounds, meant to slow down brute force (in 1994).
	for i := range 1000 {
		r := md5.New()
		if i&1 == 1 {
			r.Write(pw)
		} else {
			r.Write(sum)
		}
		if i%3 != 0 {
			r.Write(sl)
		}
		if i%7 != 0 {
			r.Write(pw)
		}
		if i&1 == 1 {
			r.Write(sum)
		} else {
			r.Write(pw)
		}
		sum = r.Sum(sum[:0])
	}

	out := make([]byte, 0, len(magic)+len(sl)+1+22)
	out = append(out, magic...)
	out = append(out, sl...)
	out = append(out, '$')
	to64 := func(v uint32, n int) {
		for ; n > 0; n-- {
			out = append(out, itoa64[v&0x3f])
			v >>= 6
		}
	}
	to64(uint32(sum[0])<<16|uint32(sum[6])<<8|uint32(sum[12]), 4)
	to64(uint32(sum[1])<<16|uint32(sum[7])<<8|uint32(sum[13]), 4)
	to64(uint32(sum[2])<<16|uint32(sum[8])<<8|uint32(sum[14]), 4)
	to64(uint32(sum[3])<<16|uint32(sum[9])<<8|uint32(sum[15]), 4)
	to64(uint32(sum[4])<<16|uint32(sum[10])<<8|uint32(sum[5]), 4)
	to64(uint32(sum[11]), 2)
	return string(out)
}

// dummyHash returns a hash of the same kind (and bcrypt cost) as a real one,
// which no password matches, to check unknown users' passwords against so
// that they take as long as known users'. For bcrypt the cost digits of a
// fixed cost-4 hash are replaced: the check then does the work of that cost
// without ever generating a hash at that cost.
func dummyHash(kind hashKind, like string) string {
	switch kind {
	case kindBcrypt:
		cost, _ := bcrypt.Cost([]byte(like))
		return "$2a$" + fmt.Sprintf("%02d", cost) + dummyBcryptTail
	case kindAPR1:
		return "$apr1$dummysal$0000000000000000000000"
	case kindMD5Crypt:
		return "$1$dummysal$0000000000000000000000"
	}
	return "{SHA}AAAAAAAAAAAAAAAAAAAAAAAAAAA="
}

// dummyBcryptTail is the salt and hash of a bcrypt hash of a random password
// (generated once with cost 4).
const dummyBcryptTail = "$Rcwpn90bTDOIeCXFVTBrn.RUdwG/W5GjImhpT2arXcJs6GUB3hBSO"

// parseUser splits "name:hash".
func parseUser(line string) (name, hash string, err error) {
	name, hash, ok := strings.Cut(strings.TrimSpace(line), ":")
	switch {
	case !ok:
		return "", "", errors.New(`want "name:hash", e.g. the output of: htpasswd -nbB name 'password'`)
	case name == "":
		return "", "", errors.New("the user name is empty")
	}
	return name, strings.TrimSpace(hash), nil
}

// costOf ranks kinds and bcrypt costs by how long a check takes, to pick
// the dummy hash for unknown users.
func costOf(kind hashKind, h string) int {
	if kind == kindBcrypt {
		c, _ := bcrypt.Cost([]byte(h))
		return 100 + c
	}
	return int(kind)
}
