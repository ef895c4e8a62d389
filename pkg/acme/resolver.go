package acme

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/crypto/acme"

	"github.com/berthproxy/berth/pkg/config"
)

// resolver is one certificatesResolvers.<name>.acme.
type resolver struct {
	m       *Manager
	name    string
	cfg     *config.ACME
	keyType keyType
	hc      *http.Client
	storage Storage
	stats   counters

	// certs are the domain sets of the resolver, by domainKey; guarded
	// by Manager.mu.
	certs map[string]*certState

	// mu serializes account setup and storage writes of the resolver.
	mu             sync.Mutex
	client         *acme.Client // nil until the account is set up
	data           *ResolverData
	dirFetched     bool
	renewalInfoURL string
}

func newResolver(m *Manager, name string, a *config.ACME, st Storage) (*resolver, error) {
	kt, _ := parseKeyType(a.KeyType)
	roots, err := loadRoots(a.CACertificates)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &resolver{
		m: m, name: name, cfg: a, keyType: kt, storage: st,
		hc:    &http.Client{Transport: tr, Timeout: time.Minute},
		certs: map[string]*certState{},
		data:  &ResolverData{},
	}, nil
}

// load reads the stored account and certificates. A stored certificate is
// served at once while valid and renewed when due once a router wants it.
func (r *resolver) load(ctx context.Context) []config.Issue {
	data, err := r.storage.Load(ctx, r.name)
	if err != nil {
		r.m.logger.Error("cannot load the ACME storage; certificates are obtained again and may not be stored",
			zap.String("resolver", r.name), zap.String("storage", r.cfg.Storage), zap.Error(err))
		return []config.Issue{{Kind: "acme", Key: "certificatesResolvers." + r.name + ".acme.storage", Value: r.cfg.Storage,
			Msg: err.Error()}}
	}
	r.mu.Lock()
	r.data = data
	r.mu.Unlock()
	now := time.Now()
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	for i, sc := range data.Certificates {
		cert, err := parseStored(sc)
		if err != nil {
			r.m.logger.Warn("a stored certificate cannot be used and is ignored",
				zap.String("resolver", r.name), zap.Int("index", i), zap.String("main", sc.Domain.Main), zap.Error(err))
			continue
		}
		domains := normalizeDomains(append([]string{sc.Domain.Main}, sc.Domain.SANs...))
		key := domainKey(domains)
		if old := r.certs[key]; old != nil && old.cert.Leaf.NotAfter.After(cert.Leaf.NotAfter) {
			continue
		}
		// Ask the CA's renewal information soon after start; until then
		// the default renewal time holds.
		r.certs[key] = &certState{key: key, domains: domains, cert: cert,
			renewAt: defaultRenewal(cert.Leaf), recheck: now}
	}
	return nil
}

// parseStored turns a stored certificate into a served one.
func parseStored(sc *StoredCert) (*tls.Certificate, error) {
	c, err := tls.X509KeyPair(sc.Certificate, sc.Key)
	if err != nil {
		return nil, err
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// account returns the ACME client with the resolver's account, registering
// one on first use (or reusing the stored one).
func (r *resolver) account(ctx context.Context) (*acme.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		return r.client, nil
	}
	c := &acme.Client{DirectoryURL: r.cfg.CAServer, HTTPClient: r.hc, UserAgent: "berth"}
	if a := r.data.Account; a != nil && a.Registration != nil && a.Registration.URI != "" &&
		(a.CAServer == "" || a.CAServer == r.cfg.CAServer) {
		key, err := parseAccountKey(a.PrivateKey)
		if err == nil {
			c.Key, c.KID = key, acme.KeyID(a.Registration.URI)
			r.client = c
			return c, nil
		}
		r.m.logger.Warn("the stored ACME account key cannot be read; registering a new account",
			zap.String("resolver", r.name), zap.Error(err))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	c.Key = key
	acct := &acme.Account{}
	if r.cfg.Email != "" {
		acct.Contact = []string{"mailto:" + r.cfg.Email}
	}
	if e := r.cfg.EAB; e != nil {
		hmac, err := decodeHMAC(e.HmacEncoded)
		if err != nil {
			return nil, err
		}
		acct.ExternalAccountBinding = &acme.ExternalAccountBinding{KID: e.Kid, Key: hmac}
	}
	reg, err := c.Register(ctx, acct, acme.AcceptTOS)
	if err != nil && !errors.Is(err, acme.ErrAccountAlreadyExists) {
		return nil, stageError{stage: "account", err: err}
	}
	uri := string(c.KID)
	if reg != nil && reg.URI != "" {
		uri = reg.URI
	}
	c.KID = acme.KeyID(uri)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	data := r.data.clone()
	data.Account = &Account{Email: r.cfg.Email, Registration: &Registration{URI: uri}, PrivateKey: der,
		KeyType: "EC256", CAServer: r.cfg.CAServer}
	if err := r.storage.Save(ctx, r.name, data); err != nil {
		r.m.logger.Error("the ACME account could not be stored; a new one is registered after a restart",
			zap.String("resolver", r.name), zap.Error(err))
	}
	r.data = data
	r.client = c
	r.m.logger.Info("ACME account registered", zap.String("resolver", r.name), zap.String("account", uri))
	return c, nil
}

// parseAccountKey reads an account key in PKCS#8, PKCS#1 (Traefik's RSA
// keys) or SEC 1 DER.
func parseAccountKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
		return nil, fmt.Errorf("unsupported account key type %T", k)
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("not a PKCS#8, PKCS#1 or SEC 1 private key")
}

// obtain runs one order for domains: authorizations with the configured
// challenge, then finalization with a fresh key.
func (r *resolver) obtain(ctx context.Context, domains []string) (*tls.Certificate, error) {
	c, err := r.account(ctx)
	if err != nil {
		return nil, err
	}
	var opts []acme.OrderOption
	if r.cfg.Profile != "" {
		opts = append(opts, acme.WithOrderIssuanceProfile(acme.ProfileName(r.cfg.Profile)))
	}
	order, err := c.AuthorizeOrder(ctx, acme.DomainIDs(domains...), opts...)
	if err != nil {
		return nil, stageError{stage: "order", err: err}
	}
	for _, u := range order.AuthzURLs {
		if err := r.authorize(ctx, c, u); err != nil {
			return nil, stageError{stage: "challenge", err: err}
		}
	}
	order, err = c.WaitOrder(ctx, order.URI)
	if err != nil {
		return nil, stageError{stage: "order", err: err}
	}
	key, err := r.newKey()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.CertificateRequest{DNSNames: domains}
	// A common name longer than 64 bytes is invalid; CAs take the
	// names from the SANs anyway.
	if len(domains[0]) <= 64 {
		tmpl.Subject = pkix.Name{CommonName: domains[0]}
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, err
	}
	// CreateCertFromOrder, not CreateOrderCert: the latter expects a
	// Location header in the finalize answer, which Pebble (and RFC 8555)
	// do not require.
	der, _, err := c.CreateCertFromOrder(ctx, order, csr, true)
	if err != nil {
		return nil, stageError{stage: "finalize", err: err}
	}
	leaf, err := x509.ParseCertificate(der[0])
	if err != nil {
		return nil, stageError{stage: "finalize", err: err}
	}
	for _, d := range domains {
		if err := leaf.VerifyHostname(d); err != nil {
			return nil, stageError{stage: "finalize", err: fmt.Errorf("the CA issued a certificate that does not cover %q", d)}
		}
	}
	return &tls.Certificate{Certificate: der, PrivateKey: key, Leaf: leaf}, nil
}

// authorize completes one authorization with HTTP-01 or TLS-ALPN-01,
// whichever is configured and offered (HTTP-01 first).
func (r *resolver) authorize(ctx context.Context, c *acme.Client, url string) error {
	z, err := c.GetAuthorization(ctx, url)
	if err != nil {
		return err
	}
	switch z.Status {
	case acme.StatusValid:
		return nil
	case acme.StatusPending:
	default:
		return fmt.Errorf("authorization for %s is %s", z.Identifier.Value, z.Status)
	}
	var chal *acme.Challenge
	var offered []string
	for _, want := range []string{"http-01", "tls-alpn-01"} {
		if (want == "http-01" && r.cfg.HTTPChallenge == nil) || (want == "tls-alpn-01" && r.cfg.TLSChallenge == nil) {
			continue
		}
		for _, ch := range z.Challenges {
			if ch.Type == want && chal == nil {
				chal = ch
			}
		}
	}
	if chal == nil {
		for _, ch := range z.Challenges {
			offered = append(offered, ch.Type)
		}
		return fmt.Errorf("the CA offers none of the configured challenges for %s (offered: %v)", z.Identifier.Value, offered)
	}
	domain := normalizeName(z.Identifier.Value)
	switch chal.Type {
	case "http-01":
		ka, err := c.HTTP01ChallengeResponse(chal.Token)
		if err != nil {
			return err
		}
		r.m.chal.putHTTP(chal.Token, ka)
		defer r.m.chal.deleteHTTP(chal.Token)
	case "tls-alpn-01":
		cert, err := c.TLSALPN01ChallengeCert(chal.Token, domain)
		if err != nil {
			return err
		}
		r.m.chal.putALPN(domain, &cert)
		defer r.m.chal.deleteALPN(domain, &cert)
	}
	if _, err := c.Accept(ctx, chal); err != nil {
		return err
	}
	_, err = c.WaitAuthorization(ctx, z.URI)
	return err
}

// newKey makes a certificate key of the configured type.
func (r *resolver) newKey() (crypto.Signer, error) {
	if r.keyType.ec {
		curve := elliptic.P256()
		if r.keyType.bits == 384 {
			curve = elliptic.P384()
		}
		return ecdsa.GenerateKey(curve, rand.Reader)
	}
	return rsa.GenerateKey(rand.Reader, r.keyType.bits)
}

// schedule computes when to renew a certificate and when to ask the CA
// again: from the CA's renewal information (ARI) when it offers it, at a
// random time inside the suggested window, else when a third of the
// lifetime remains.
func (r *resolver) schedule(ctx context.Context, leaf *x509.Certificate) (renewAt, recheck time.Time) {
	def := defaultRenewal(leaf)
	endpoint := r.renewalInfoEndpoint(ctx)
	if endpoint == "" {
		return def, time.Time{}
	}
	now := time.Now()
	ri, err := fetchRenewalInfo(ctx, r.hc, endpoint, leaf, now)
	if err != nil {
		r.m.logger.Warn("cannot get the certificate's renewal information; renewing when a third of its lifetime remains",
			zap.String("resolver", r.name), zap.Strings("domains", leaf.DNSNames), zap.Error(err))
		return def, now.Add(time.Hour)
	}
	t, ok := renewalTime(ri.Window, random())
	if !ok {
		return def, now.Add(ri.RetryAfter)
	}
	t = clampRenewal(t, leaf)
	if ri.ExplanationURL != "" && t.Before(def) {
		r.m.logger.Info("the CA asks for an early renewal", zap.String("resolver", r.name),
			zap.Strings("domains", leaf.DNSNames), zap.String("explanation", ri.ExplanationURL))
	}
	return t, now.Add(ri.RetryAfter)
}

// renewalInfoEndpoint returns the directory's renewalInfo URL, or "" when
// the CA does not offer ARI. The directory is read once; x/crypto/acme
// does not expose this field.
func (r *resolver) renewalInfoEndpoint(ctx context.Context) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dirFetched {
		return r.renewalInfoURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.CAServer, nil)
	if err != nil {
		return ""
	}
	res, err := r.hc.Do(req)
	if err != nil {
		return "" // try again next time
	}
	defer res.Body.Close()
	var dir struct {
		RenewalInfo string `json:"renewalInfo"`
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK || json.Unmarshal(body, &dir) != nil {
		return ""
	}
	r.dirFetched, r.renewalInfoURL = true, dir.RenewalInfo
	return r.renewalInfoURL
}

// store saves a new certificate, replacing the one for the same domain set
// and dropping expired ones.
func (r *resolver) store(ctx context.Context, domains []string, cert *tls.Certificate) error {
	var chain []byte
	for _, der := range cert.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return err
	}
	sc := &StoredCert{
		Domain:      config.Domain{Main: domains[0], SANs: slices.Clone(domains[1:])},
		Certificate: chain,
		Key:         pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		Store:       "default",
	}
	key := domainKey(domains)
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	data := r.data.clone()
	kept := data.Certificates[:0]
	for _, old := range data.Certificates {
		if domainKey(normalizeDomains(append([]string{old.Domain.Main}, old.Domain.SANs...))) == key {
			continue
		}
		if c, err := parseStored(old); err == nil && now.After(c.Leaf.NotAfter) {
			continue
		}
		kept = append(kept, old)
	}
	data.Certificates = append(kept, sc)
	if err := r.storage.Save(ctx, r.name, data); err != nil {
		return err
	}
	r.data = data
	return nil
}
