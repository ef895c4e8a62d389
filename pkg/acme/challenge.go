package acme

import (
	"crypto/tls"
	"sync"
)

// challengePath is where HTTP-01 validations ask for a token.
const challengePath = "/.well-known/acme-challenge/"

// challenges holds the challenge responses pending validation: HTTP-01 key
// authorizations by token and TLS-ALPN-01 certificates by name. They live
// only while an authorization is being validated.
type challenges struct {
	mu   sync.RWMutex
	http map[string]string
	alpn map[string]*tls.Certificate
}

func (c *challenges) init() {
	c.http = map[string]string{}
	c.alpn = map[string]*tls.Certificate{}
}

func (c *challenges) putHTTP(token, keyAuth string) {
	c.mu.Lock()
	c.http[token] = keyAuth
	c.mu.Unlock()
}

func (c *challenges) deleteHTTP(token string) {
	c.mu.Lock()
	delete(c.http, token)
	c.mu.Unlock()
}

func (c *challenges) httpToken(token string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ka, ok := c.http[token]
	return ka, ok
}

func (c *challenges) putALPN(name string, cert *tls.Certificate) {
	c.mu.Lock()
	c.alpn[name] = cert
	c.mu.Unlock()
}

// deleteALPN removes the challenge certificate of name if it is still
// cert: two orders validating the same name must not remove each other's.
func (c *challenges) deleteALPN(name string, cert *tls.Certificate) {
	c.mu.Lock()
	if c.alpn[name] == cert {
		delete(c.alpn, name)
	}
	c.mu.Unlock()
}

func (c *challenges) alpnCert(name string) *tls.Certificate {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.alpn[name]
}
