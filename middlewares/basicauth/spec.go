package basicauth

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"go.uber.org/zap"
	"golang.org/x/net/http/httpguts"

	"github.com/berthproxy/berth/pkg/middleware"
)

// DefaultRealm is Traefik's default realm.
const DefaultRealm = "traefik"

// Spec is the options of a basicAuth middleware, named as in Traefik.
type Spec struct {
	// Users are "name:hash" entries, as htpasswd writes them.
	Users []string `json:"users"`
	// UsersFile is a file of "name:hash" lines; blank lines and lines
	// starting with "#" are skipped. It is read when the routing table
	// is built; a user in both the file and Users takes the file's hash,
	// as in Traefik.
	UsersFile string `json:"usersFile"`
	// Realm is shown by browsers in the login prompt.
	Realm string `json:"realm"`
	// RemoveHeader removes the Authorization header before forwarding,
	// so that the backend never sees the password.
	RemoveHeader bool `json:"removeHeader"`
	// HeaderField, when set, is a request header set to the
	// authenticated user's name (e.g. X-WebAuth-User).
	HeaderField string `json:"headerField"`
}

// Validate checks the inline users and the other options. The users file is
// checked when it is read, at build time.
func (s *Spec) Validate() error {
	if len(s.Users) == 0 && s.UsersFile == "" {
		return errors.New(`users: at least one user ("name:hash") or a usersFile is required; make an entry with: htpasswd -nbB name 'password'`)
	}
	var errs []error
	if _, err := parseUsers(s.Users, inlineWhere); err != nil {
		errs = append(errs, err)
	}
	if strings.ContainsAny(s.Realm, "\"\\") || !httpguts.ValidHeaderFieldValue(s.Realm) {
		errs = append(errs, fmt.Errorf("realm: %q may not contain quotes, backslashes or control characters", s.Realm))
	}
	if s.HeaderField != "" && !httpguts.ValidHeaderFieldName(s.HeaderField) {
		errs = append(errs, fmt.Errorf("headerField: %q is not a valid header name", s.HeaderField))
	}
	if strings.EqualFold(s.HeaderField, "Authorization") {
		errs = append(errs, errors.New(`headerField: "Authorization" would overwrite the credentials; choose e.g. "X-WebAuth-User"`))
	}
	return errors.Join(errs...)
}

// user is one parsed entry.
type user struct {
	name, hash string
	kind       hashKind
}

// parseUsers parses and checks entries; where names an entry in errors
// ("users[2]", "usersFile \"/x\" line 3").
func parseUsers(lines []string, where func(i int) string) ([]user, error) {
	var (
		out  []user
		errs []error
		seen = map[string]string{}
	)
	for i, line := range lines {
		name, hash, err := parseUser(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where(i), err))
			continue
		}
		kind, err := parseHash(name, hash)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where(i), err))
			continue
		}
		if prev, dup := seen[name]; dup {
			errs = append(errs, fmt.Errorf("%s: user %q is already defined in %s", where(i), name, prev))
			continue
		}
		seen[name] = where(i)
		out = append(out, user{name: name, hash: hash, kind: kind})
	}
	return out, errors.Join(errs...)
}

// inlineWhere names an entry of Users in errors.
func inlineWhere(i int) string { return fmt.Sprintf("users[%d]", i) }

// readUsersFile reads the non-blank, non-comment lines of path.
func readUsersFile(path string) ([]user, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("usersFile: %w", err)
	}
	var lines []string
	var lineNos []int
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		lines = append(lines, l)
		lineNos = append(lineNos, i+1)
	}
	return parseUsers(lines, func(i int) string { return fmt.Sprintf("usersFile %q line %d", path, lineNos[i]) })
}

// Factory builds basicAuth middlewares.
type Factory struct{}

// Type is the key used in files and labels.
func (Factory) Type() string { return "basicAuth" }

// NewSpec returns options with Traefik's default realm.
func (Factory) NewSpec() middleware.Spec { return &Spec{Realm: DefaultRealm} }

// Build parses the users, reads the users file and picks the dummy hash for
// unknown users.
func (Factory) Build(ctx middleware.BuildContext, name string, spec middleware.Spec, next http.Handler) (http.Handler, error) {
	s, ok := spec.(*Spec)
	if !ok {
		return nil, fmt.Errorf("basicAuth: got options of type %T, want *basicauth.Spec", spec)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	log := ctx.Logger
	if log == nil {
		log = zap.NewNop()
	}
	users, _ := parseUsers(s.Users, inlineWhere) // checked by Validate
	if s.UsersFile != "" {
		fromFile, err := readUsersFile(s.UsersFile)
		if err != nil {
			return nil, err
		}
		users = merge(users, fromFile, func(n string) {
			log.Warn("basicAuth user defined in both users and usersFile; the file's entry is used",
				zap.String("middleware", name), zap.String("user", n))
		})
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("usersFile: %q defines no user", s.UsersFile)
	}

	realm := s.Realm
	if realm == "" {
		realm = DefaultRealm
	}
	h := &handler{
		next:         next,
		users:        make(map[string]*credential, len(users)),
		challenge:    `Basic realm="` + realm + `"`,
		removeHeader: s.RemoveHeader,
		cache:        newVerifiedCache(cacheSize),
	}
	if s.HeaderField != "" {
		h.headerField = http.CanonicalHeaderKey(s.HeaderField)
	}

	// Unknown users are checked against a dummy hash as slow as the
	// slowest real one. With mixed kinds or costs a timing attacker can
	// still tell the names with cheaper hashes apart; say so.
	slowest, kinds := users[0], map[int]bool{}
	for _, u := range users {
		h.users[u.name] = newCredential(u)
		c := costOf(u.kind, u.hash)
		kinds[c] = true
		if c > costOf(slowest.kind, slowest.hash) {
			slowest = u
		}
	}
	h.dummy = newCredential(user{kind: slowest.kind, hash: dummyHash(slowest.kind, slowest.hash)})
	if len(kinds) > 1 {
		log.Warn("basicAuth users mix hash formats or bcrypt costs; response times may reveal which user names exist",
			zap.String("middleware", name))
	}
	return h, nil
}

// merge adds the file's users to the inline ones, the file winning.
func merge(inline, fromFile []user, overridden func(name string)) []user {
	idx := make(map[string]int, len(inline))
	for i, u := range inline {
		idx[u.name] = i
	}
	for _, u := range fromFile {
		if i, ok := idx[u.name]; ok {
			overridden(u.name)
			inline[i] = u
			continue
		}
		idx[u.name] = len(inline)
		inline = append(inline, u)
	}
	return inline
}

var _ middleware.Factory = Factory{}
var _ middleware.Spec = (*Spec)(nil)
