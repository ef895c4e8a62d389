package decode

import (
	"reflect"
	"strings"
)

// FromEnv builds a tree from environment variables (as in os.Environ) whose
// names start with one of prefixes, such as "TRAEFIK_" and "BERTH_":
// TRAEFIK_ENTRYPOINTS_WEB_ADDRESS=:80 sets entryPoints.web.address.
//
// Since "_" both separates the parts of a name and may appear inside map
// keys, names are resolved against the target type t: at a struct, the
// longest run of parts that spells a field wins; a map key takes exactly
// one part (lower-cased, as Traefik does); a numeric part under a slice is
// an index. Parts that cannot be resolved are kept as keys so that Decode
// reports them as unknown, with a suggestion. Each key's position is
// "env NAME".
func FromEnv(environ []string, t reflect.Type, prefixes ...string) *Node {
	root := &Node{}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		for _, p := range prefixes {
			rest, ok := strings.CutPrefix(name, p)
			if !ok || rest == "" {
				continue
			}
			var segs []string
			for _, s := range strings.Split(strings.ToLower(rest), "_") {
				if s != "" {
					segs = append(segs, s)
				}
			}
			if len(segs) > 0 {
				insert(root, resolveEnv(t, segs), value, "env "+name)
			}
			break
		}
	}
	return root
}

// resolveEnv turns lower-cased name parts into key parts for type t.
func resolveEnv(t reflect.Type, segs []string) []string {
	if len(segs) == 0 {
		return nil
	}
	t = deref(t)
	switch t.Kind() {
	case reflect.Struct:
		if reflect.PointerTo(t).Implements(textUnmarshalerType) {
			break
		}
		fs := fieldsOf(t)
		for k := len(segs); k >= 1; k-- {
			if f := fs.lookup(strings.Join(segs[:k], "")); f != nil {
				return append([]string{f.name}, resolveEnv(f.typ, segs[k:])...)
			}
		}
	case reflect.Map:
		return append([]string{segs[0]}, resolveEnv(t.Elem(), segs[1:])...)
	case reflect.Slice:
		if _, ok := parseIndex(segs[0]); ok {
			return append([]string{"[" + segs[0] + "]"}, resolveEnv(t.Elem(), segs[1:])...)
		}
	}
	return segs
}
