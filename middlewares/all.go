// Package middlewares lists every middleware berth has. Importing it (even
// as `_`) registers them all with pkg/middleware, which is how the decoders
// and the routing table find them.
//
// Each middleware lives in its own package, middlewares/<name>, with the
// same files: <name>.go (the handler), spec.go (the options, their Validate
// and the Factory) and <name>_test.go. Adding one means writing that package
// and adding its Factory to All.
package middlewares

import (
	"github.com/berthproxy/berth/middlewares/addprefix"
	"github.com/berthproxy/berth/middlewares/basicauth"
	"github.com/berthproxy/berth/middlewares/chain"
	"github.com/berthproxy/berth/middlewares/compress"
	"github.com/berthproxy/berth/middlewares/forwardauth"
	"github.com/berthproxy/berth/middlewares/headers"
	"github.com/berthproxy/berth/middlewares/inflightreq"
	"github.com/berthproxy/berth/middlewares/ipallowlist"
	"github.com/berthproxy/berth/middlewares/ratelimit"
	"github.com/berthproxy/berth/middlewares/redirectregex"
	"github.com/berthproxy/berth/middlewares/redirectscheme"
	"github.com/berthproxy/berth/middlewares/replacepath"
	"github.com/berthproxy/berth/middlewares/replacepathregex"
	"github.com/berthproxy/berth/middlewares/retry"
	"github.com/berthproxy/berth/middlewares/stripprefix"
	"github.com/berthproxy/berth/middlewares/stripprefixregex"
	"github.com/berthproxy/berth/pkg/middleware"
)

// All is every middleware factory, in no particular order. It is an explicit
// list, rather than each package registering itself in its own init, so that
// what berth supports can be read in one place and a package cannot be left
// out by a missing import.
var All = []middleware.Factory{
	stripprefix.Factory{},
	headers.Factory{},
	redirectscheme.Factory{},
	basicauth.Factory{},
	chain.Factory{},
	retry.Factory{},
	addprefix.Factory{},
	replacepath.Factory{},
	replacepathregex.Factory{},
	stripprefixregex.Factory{},
	redirectregex.Factory{},
	ipallowlist.Factory{},
	ipallowlist.WhiteListFactory{},
	inflightreq.Factory{},
	ratelimit.Factory{},
	compress.Factory{},
	forwardauth.Factory{},
}

func init() {
	for _, f := range All {
		middleware.Register(f)
	}
}
