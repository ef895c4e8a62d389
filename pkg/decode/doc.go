// Package decode maps a tree of configuration keys onto berth's config
// structs, the way Traefik's paerser does, so that one decoder serves YAML
// and TOML files, command-line flags, environment variables and container
// labels alike.
//
// Every source is first turned into a tree of Nodes that remember where each
// key was written ("dynamic.yml:14:7", "flag --entryPoints.web.address",
// "env TRAEFIK_LOG_LEVEL"). Decode then walks the tree against the target
// type and collects every problem as an *Error that names that place, the
// full key path and, for unknown keys, what was probably meant.
//
// Matching rules follow Traefik: struct fields are matched case-insensitively
// by the first part of their json tag, embedded structs are flattened, map
// keys keep the case they were written in, a pointer to a struct is
// allocated with its SetDefaults method, and a leaf "true" or "false" on such
// a pointer switches the section on (with defaults) or off.
package decode
