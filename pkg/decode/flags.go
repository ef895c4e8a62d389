package decode

import (
	"fmt"
	"strings"
)

// FromFlags parses Traefik-style flags into a tree: "--a.b.c=v", "--a.b.c v"
// and a bare "--a.b" that means true. Keys are case-insensitive. Each key's
// position is "flag --a.b.c" as written.
//
// Without knowing the target type, "--a.b v" takes v as the value whenever
// it does not start with "-"; a bare boolean flag followed by a positional
// argument is therefore read as that flag's value, and reported by Decode
// if it is not a valid boolean. Any other argument that is not a flag is an
// error, since berth takes no positional arguments.
func FromFlags(args []string) (*Node, error) {
	entries := make([]Entry, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if !strings.HasPrefix(a, "-") || name == "" || name[0] == '-' {
			return nil, fmt.Errorf("unexpected argument %q: berth takes only flags such as --entryPoints.web.address=:80", a)
		}
		key, value, hasValue := strings.Cut(name, "=")
		if !hasValue {
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				value = args[i+1]
				i++
			} else {
				value = "true"
			}
		}
		entries = append(entries, Entry{Key: key, Value: value, Pos: "flag --" + key})
	}
	return FromEntries(entries)
}
