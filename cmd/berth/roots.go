package main

// The berth image is FROM scratch and has no CA bundle: embed Go's copy of
// the Mozilla roots, used only when the system has none, so that HTTPS to
// servers and ACME work in the image.
import _ "golang.org/x/crypto/x509roots/fallback"
