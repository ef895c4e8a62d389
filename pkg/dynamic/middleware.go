package dynamic

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/decode"
	"github.com/berthproxy/berth/pkg/middleware"
)

// traefikOnly are Traefik's HTTP middleware types (lower-cased) that berth
// does not implement.
var traefikOnly = map[string]bool{
	"buffering": true, "circuitbreaker": true, "contenttype": true, "digestauth": true,
	"errors": true, "grpcweb": true, "passtlsclientcert": true, "plugin": true,
}

// decodeMiddleware is the decode hook for config.Middleware. The node under
// a middleware's name has exactly one key, its type ("stripPrefix"); the
// type's factory supplies the options struct to decode into, which then
// validates itself.
func decodeMiddleware(d *decode.Decoder, n *decode.Node, path string, v reflect.Value) []*decode.Error {
	mw := v.Addr().Interface().(*config.Middleware)
	mw.Source = n.Pos
	switch {
	case n.List || len(n.Children) == 0:
		return []*decode.Error{decode.Errorf(n, path, "a middleware needs its type as its only key (one of %s)", strings.Join(middleware.Types(), ", "))}
	case len(n.Children) > 1:
		types := make([]string, len(n.Children))
		for i, c := range n.Children {
			types[i] = c.Name
		}
		return []*decode.Error{decode.Errorf(n, path, "a middleware has exactly one type, found %d: %s", len(types), describe(types))}
	}
	c := n.Children[0]
	f, ok := middleware.Lookup(c.Name)
	if !ok {
		e := decode.Errorf(c, path+"."+c.Name, "unknown middleware type %q", c.Name)
		e.Key = c.Name
		if traefikOnly[strings.ToLower(c.Name)] {
			// A Traefik user swapping the image deserves to know that the
			// name is right and the feature is missing, not a typo hunt.
			e.Msg = fmt.Sprintf("middleware type %q is a Traefik middleware that berth does not support yet (berth has: %s)",
				c.Name, strings.Join(middleware.Types(), ", "))
		} else if s := decode.Suggest(c.Name, middleware.Types()); s != "" {
			e.Msg += "; did you mean " + `"` + s + `"?`
			e.Suggestion = path + "." + s
		}
		return []*decode.Error{e}
	}
	path += "." + f.Type()
	spec := f.NewSpec()
	sv := reflect.ValueOf(spec)
	if sv.Kind() != reflect.Pointer || sv.IsNil() {
		return []*decode.Error{decode.Errorf(c, path, "middleware type %q cannot be configured (its options are not a pointer)", f.Type())}
	}
	if errs := d.DecodeValue(c, path, sv.Elem()); len(errs) > 0 {
		return errs
	}
	if err := spec.Validate(); err != nil {
		return []*decode.Error{decode.Errorf(c, path, "invalid %s options: %v", f.Type(), err)}
	}
	mw.Type, mw.Spec = f.Type(), spec
	return nil
}
