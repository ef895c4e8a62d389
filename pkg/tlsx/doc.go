// Package tlsx holds what TLS entrypoints need from the dynamic
// configuration: a Store of certificates indexed by name, built once per
// routing table from `tls.certificates` and `tls.stores.default`, and a
// *tls.Config (ServerConfig) that reads the current Store and per-SNI TLS
// options on every handshake, so that a reload changes certificates and
// options without restarting listeners.
package tlsx
