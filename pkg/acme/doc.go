// Package acme obtains and renews TLS certificates from ACME certificate
// authorities (Let's Encrypt, ZeroSSL, step-ca, Pebble) for the routers
// that name a certificate resolver, with golang.org/x/crypto/acme.
//
// The Manager is told what the configuration in force needs (Update, with
// the domains of each router's tls.domains or Host rule), orders what is not
// yet covered by a valid certificate, answers the HTTP-01 and TLS-ALPN-01
// challenges through the entrypoints, serves the certificates to handshakes
// (Certificate), and renews them: inside the CA's renewal window when the
// CA offers ACME Renewal Information (RFC 9773), else when a third of the
// lifetime remains. A failed attempt is logged with the CA's problem
// detail, counted (Stats), listed (Issues) and retried with jittered
// exponential backoff; it never stops berth, and a certificate being renewed
// keeps being served while it is valid.
//
// Accounts and certificates are kept in a Storage; the default is a JSON
// file shaped like Traefik's acme.json, written atomically with mode 0600.
//
// Optional on-demand TLS obtains a certificate during the first handshake
// for a name no router asks for, if an "ask" URL allows the name, within a
// rate limit.
package acme
