package decode

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Error is one decoding problem.
type Error struct {
	// Pos is where the offending key was written (Node.Pos).
	Pos string
	// Path is the full key path with canonical field names and map keys
	// as written: "http.routers.web.rule", "tls.certificates[0].certFile".
	Path string
	// Msg says what is wrong: `invalid value "abc" for "priority": want
	// an integer`, `unknown key "adress"; did you mean "address"?`.
	Msg string
	// Key is set for unknown keys only: the key as written.
	Key string
	// Suggestion is, for an unknown key, the full path that was probably
	// meant. When the unknown key is followed by a single chain of keys
	// (as a flag or an environment variable always is), the chain is
	// appended so that the suggestion replaces the whole written key.
	Suggestion string
}

// Error returns "pos: msg".
func (e *Error) Error() string {
	if e.Pos == "" {
		return e.Msg
	}
	return e.Pos + ": " + e.Msg
}

// Errorf makes an Error for node n at path; hooks use it to report problems
// the same way the decoder does.
func Errorf(n *Node, path, format string, args ...any) *Error {
	return &Error{Pos: n.Pos, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Hook decodes n into v (settable, of the type the hook is registered for)
// in place of the decoder's own rules. It is how interface-typed values,
// such as a middleware's options, are decoded. path is n's full key path.
type Hook func(d *Decoder, n *Node, path string, v reflect.Value) []*Error

// Option configures a Decoder.
type Option func(*Decoder)

// WithHook makes the decoder call h for every value of type t.
func WithHook(t reflect.Type, h Hook) Option {
	return func(d *Decoder) { d.hooks[t] = h }
}

// WithPath sets the path of the root node, so that errors carry full paths
// when a caller decodes a subtree on its own ("http.routers.web").
func WithPath(path string) Option {
	return func(d *Decoder) { d.root = path }
}

// WithTrace makes the decoder call f for every leaf it stores, with the
// leaf's full path; callers use it to know where each setting came from.
func WithTrace(f func(path string, n *Node)) Option {
	return func(d *Decoder) { d.trace = f }
}

// Decoder decodes node trees into Go values.
type Decoder struct {
	hooks map[reflect.Type]Hook
	root  string
	trace func(string, *Node)
}

// New returns a Decoder with the given options.
func New(opts ...Option) *Decoder {
	d := &Decoder{hooks: map[reflect.Type]Hook{}}
	for _, o := range opts {
		o(d)
	}
	return d
}

// Decode decodes n into target, which must be a non-nil pointer, and returns
// every problem found. Values already in target are kept unless n sets them,
// which lets callers layer several sources onto one value.
func Decode(n *Node, target any, opts ...Option) []*Error {
	return New(opts...).Decode(n, target)
}

// Decode is the package-level Decode with d's options.
func (d *Decoder) Decode(n *Node, target any) []*Error {
	v := reflect.ValueOf(target)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return []*Error{{Path: d.root, Msg: fmt.Sprintf("decode: target must be a non-nil pointer, not %T", target)}}
	}
	if n == nil {
		return nil
	}
	return d.DecodeValue(n, d.root, v.Elem())
}

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	nodePtrType         = reflect.TypeFor[*Node]()
)

// defaulter is implemented by config sections that have documented
// defaults.
type defaulter interface{ SetDefaults() }

// DecodeValue decodes n into the settable value v; path is n's full path.
// Hooks call it to decode parts of their value with the usual rules.
func (d *Decoder) DecodeValue(n *Node, path string, v reflect.Value) []*Error {
	t := v.Type()
	if h, ok := d.hooks[t]; ok {
		return h(d, n, path, v)
	}
	if t == nodePtrType {
		// A *Node field keeps the raw subtree, for callers that decode
		// parts of a tree separately.
		v.Set(reflect.ValueOf(n))
		return nil
	}
	if t.Kind() == reflect.Pointer {
		return d.decodePointer(n, path, v)
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) && v.CanAddr() {
		if !n.IsLeaf() {
			return []*Error{notValue(n, path)}
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			return []*Error{Errorf(n, path, "invalid value %q for %q: %v", n.Value, keyName(n, path), err)}
		}
		d.traced(path, n)
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		return d.decodeStruct(n, path, v)
	case reflect.Map:
		return d.decodeMap(n, path, v)
	case reflect.Slice:
		return d.decodeSlice(n, path, v)
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return d.decodeScalar(n, path, v)
	}
	return []*Error{Errorf(n, path, "%q cannot be set here (no decoder for %s)", keyName(n, path), t)}
}

func (d *Decoder) traced(path string, n *Node) {
	if d.trace != nil {
		d.trace(path, n)
	}
}

// isSection reports whether t is decoded from keys (a struct that is not a
// text value and has no hook).
func (d *Decoder) isSection(t reflect.Type) bool {
	_, hooked := d.hooks[t]
	return t.Kind() == reflect.Struct && !hooked && !reflect.PointerTo(t).Implements(textUnmarshalerType)
}

// decodePointer allocates the pointee (with its defaults) when needed. A
// leaf on a pointer to a section is Traefik's switch: "true" (or nothing)
// turns the section on with its defaults, "false" turns it off.
func (d *Decoder) decodePointer(n *Node, path string, v reflect.Value) []*Error {
	et := v.Type().Elem()
	if d.isSection(et) && n.IsLeaf() {
		switch strings.ToLower(strings.TrimSpace(n.Value)) {
		case "false":
			v.Set(reflect.Zero(v.Type()))
			d.traced(path, n)
			return nil
		case "true", "":
			allocate(v)
			d.setSource(n, v.Elem())
			d.traced(path, n)
			return nil
		default:
			return []*Error{Errorf(n, path, "invalid value %q for %q: want true, false or a section of keys", n.Value, keyName(n, path))}
		}
	}
	allocate(v)
	return d.DecodeValue(n, path, v.Elem())
}

// allocate gives a nil pointer a new value with its defaults; an existing
// value, from an earlier source, is kept.
func allocate(v reflect.Value) {
	if !v.IsNil() {
		return
	}
	nv := reflect.New(v.Type().Elem())
	if s, ok := nv.Interface().(defaulter); ok {
		s.SetDefaults()
	}
	v.Set(nv)
}

func (d *Decoder) setSource(n *Node, v reflect.Value) {
	if v.Kind() != reflect.Struct {
		return
	}
	if idx := fieldsOf(v.Type()).source; idx != nil {
		v.FieldByIndex(idx).SetString(n.Pos)
	}
}

func (d *Decoder) decodeStruct(n *Node, path string, v reflect.Value) []*Error {
	d.setSource(n, v)
	if n.List {
		return []*Error{Errorf(n, path, "invalid list for %q: want a section of keys", keyName(n, path))}
	}
	if len(n.Children) == 0 {
		if s := strings.TrimSpace(n.Value); s != "" && !strings.EqualFold(s, "true") {
			return []*Error{Errorf(n, path, "invalid value %q for %q: want a section of keys", n.Value, keyName(n, path))}
		}
		return nil
	}
	fs := fieldsOf(v.Type())
	var errs []*Error
	for _, c := range n.Children {
		f := fs.lookup(c.Name)
		if f == nil {
			errs = append(errs, d.unknown(c, path, v.Type()))
			continue
		}
		if fs.keys != nil && c.Pos != "" {
			// Record where each key was written, so that a later check
			// (routing's rule parser) can point at the key's own line.
			m := v.FieldByIndex(fs.keys)
			if m.IsNil() {
				m.Set(reflect.MakeMap(m.Type()))
			}
			m.SetMapIndex(reflect.ValueOf(f.name), reflect.ValueOf(c.Pos))
		}
		errs = append(errs, d.DecodeValue(c, join(path, f.name), v.FieldByIndex(f.index))...)
	}
	return errs
}

func (d *Decoder) decodeMap(n *Node, path string, v reflect.Value) []*Error {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		return []*Error{Errorf(n, path, "%q cannot be set here (map key type %s)", keyName(n, path), t.Key())}
	}
	if n.List {
		return []*Error{Errorf(n, path, "invalid list for %q: want a section of named entries", keyName(n, path))}
	}
	if len(n.Children) == 0 {
		if s := strings.TrimSpace(n.Value); s != "" {
			return []*Error{Errorf(n, path, "invalid value %q for %q: want a section of named entries", n.Value, keyName(n, path))}
		}
		return nil
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(t))
	}
	// Keys already present (from an earlier source) are matched
	// case-insensitively so that --entrypoints.web.address overrides the
	// file's entryPoints.Web instead of creating a second entrypoint.
	existing := map[string]reflect.Value{}
	for it := v.MapRange(); it.Next(); {
		existing[strings.ToLower(it.Key().String())] = it.Key()
	}
	var errs []*Error
	for _, c := range n.Children {
		key, ok := existing[strings.ToLower(c.Name)]
		if !ok {
			key = reflect.New(t.Key()).Elem()
			key.SetString(c.Name)
			existing[strings.ToLower(c.Name)] = key
		}
		ev := reflect.New(t.Elem()).Elem()
		if old := v.MapIndex(key); old.IsValid() {
			ev.Set(old)
		}
		errs = append(errs, d.DecodeValue(c, join(path, c.Name), ev)...)
		v.SetMapIndex(key, ev)
	}
	return errs
}

// maxIndex bounds indexed keys so that "servers[99999999]" is an error
// rather than a huge allocation.
const maxIndex = 1000

func (d *Decoder) decodeSlice(n *Node, path string, v reflect.Value) []*Error {
	et := v.Type().Elem()
	var items []*Node
	var errs []*Error
	switch {
	case n.List:
		items = n.Children
	case len(n.Children) > 0:
		// Indexed keys: "servers[0].url", or "servers.0.url" in labels.
		for _, c := range n.Children {
			i, ok := parseIndex(c.Name)
			switch {
			case !ok:
				errs = append(errs, Errorf(c, join(path, c.Name), "invalid key %q under %q: want a list, or indexes such as %q", c.Name, keyName(n, path), keyName(n, path)+"[0]"))
				continue
			case i >= maxIndex:
				errs = append(errs, Errorf(c, path, "index %d of %q is too large (the limit is %d)", i, keyName(n, path), maxIndex-1))
				continue
			}
			for len(items) <= i {
				items = append(items, nil)
			}
			if items[i] != nil {
				// Two spellings of one index ("[0]" and "0"): merge.
				items[i] = &Node{Name: c.Name, Pos: c.Pos, Children: append(append([]*Node(nil), items[i].Children...), c.Children...), Value: c.Value}
				continue
			}
			items[i] = c
		}
	default:
		s := strings.TrimSpace(n.Value)
		if s == "" {
			v.Set(reflect.Zero(v.Type()))
			d.traced(path, n)
			return nil
		}
		if !isScalar(et) {
			return []*Error{Errorf(n, path, "invalid value %q for %q: want a list", n.Value, keyName(n, path))}
		}
		// A single value holds a comma-separated list, as in Traefik's
		// flags: --entryPoints.web.http.middlewares=a,b.
		for _, p := range strings.Split(s, ",") {
			items = append(items, &Node{Name: n.Name, Value: strings.TrimSpace(p), Pos: n.Pos})
		}
	}
	out := reflect.MakeSlice(v.Type(), len(items), len(items))
	for i, it := range items {
		if it == nil {
			continue
		}
		errs = append(errs, d.DecodeValue(it, fmt.Sprintf("%s[%d]", path, i), out.Index(i))...)
	}
	v.Set(out)
	return errs
}

// isScalar reports whether t is decoded from a single value.
func isScalar(t reflect.Type) bool {
	t = deref(t)
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

func (d *Decoder) decodeScalar(n *Node, path string, v reflect.Value) []*Error {
	if !n.IsLeaf() {
		return []*Error{notValue(n, path)}
	}
	s := n.Value
	if v.Kind() != reflect.String {
		s = strings.TrimSpace(s)
		if s == "" {
			// An empty value (YAML null, "key =") leaves the zero
			// value rather than failing on a missing number.
			return nil
		}
	}
	bad := func(want string) []*Error {
		return []*Error{Errorf(n, path, "invalid value %q for %q: want %s", n.Value, keyName(n, path), want)}
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.ToLower(s))
		if err != nil {
			return bad("true or false")
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(s, 0, v.Type().Bits())
		if errors.Is(err, strconv.ErrRange) {
			bits := v.Type().Bits()
			return bad(fmt.Sprintf("an integer between %d and %d", int64(-1)<<(bits-1), int64(1)<<(bits-1)-1))
		}
		if err != nil {
			return bad("an integer")
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(s, 0, v.Type().Bits())
		if errors.Is(err, strconv.ErrRange) {
			return bad(fmt.Sprintf("an integer between 0 and %d", uint64(math.MaxUint64)>>(64-v.Type().Bits())))
		}
		if err != nil {
			return bad("a non-negative integer")
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return bad("a number")
		}
		v.SetFloat(f)
	}
	d.traced(path, n)
	return nil
}

func notValue(n *Node, path string) *Error {
	if n.List {
		return Errorf(n, path, "invalid list for %q: want a single value", keyName(n, path))
	}
	return Errorf(n, path, "invalid section for %q: want a single value", keyName(n, path))
}

// keyName is the key to name in a message: as written when there is one,
// else the last part of the path.
func keyName(n *Node, path string) string {
	if n.Name != "" {
		if _, isIndex := parseIndex(n.Name); !isIndex {
			return n.Name
		}
	}
	if path == "" {
		return "(root)"
	}
	return path
}

// join appends a key to a path.
func join(path, key string) string {
	switch {
	case path == "":
		return key
	case key == "":
		return path
	case strings.HasPrefix(key, "["):
		return path + key
	}
	return path + "." + key
}
