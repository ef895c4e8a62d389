package decode

import (
	"reflect"
	"strings"
	"sync"
)

// field is one key a struct accepts.
type field struct {
	// name is the canonical spelling, from the json tag or the Go name.
	name  string
	index []int
	typ   reflect.Type
}

// fieldSet is what decoding needs to know about a struct type.
type fieldSet struct {
	list   []*field
	byName map[string]*field // lower-cased name
	// source is the index of the `decode:"source"` field, or nil.
	source []int
	// keys is the index of the `decode:"keys"` field (a map[string]string
	// from each decoded key's canonical name to its position), or nil.
	keys []int
}

func (fs *fieldSet) lookup(name string) *field { return fs.byName[strings.ToLower(name)] }

// fieldCache holds a *fieldSet per struct type; types never change, so the
// reflection walk is done once per type.
var fieldCache sync.Map

// fieldsOf returns the keys of struct type t.
func fieldsOf(t reflect.Type) *fieldSet {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.(*fieldSet)
	}
	fs := &fieldSet{byName: map[string]*field{}}
	collectFields(fs, t, nil)
	v, _ := fieldCache.LoadOrStore(t, fs)
	return v.(*fieldSet)
}

// collectFields adds t's fields to fs. Direct fields are added before those
// of embedded structs so that, as in Go, an outer field shadows a promoted
// one of the same name.
func collectFields(fs *fieldSet, t reflect.Type, prefix []int) {
	var embedded []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		index := append(append([]int(nil), prefix...), i)
		if sf.Tag.Get("decode") == "source" && sf.Type.Kind() == reflect.String {
			if fs.source == nil {
				fs.source = index
			}
			continue
		}
		if sf.Tag.Get("decode") == "keys" && sf.Type == reflect.TypeOf(map[string]string(nil)) {
			if fs.keys == nil {
				fs.keys = index
			}
			continue
		}
		tag := sf.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
			sf.Index = index
			embedded = append(embedded, sf)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		add(fs, &field{name: name, index: index, typ: sf.Type})
	}
	for _, sf := range embedded {
		collectFields(fs, sf.Type, sf.Index)
	}
}

func add(fs *fieldSet, f *field) {
	k := strings.ToLower(f.name)
	if _, dup := fs.byName[k]; dup {
		return
	}
	fs.byName[k] = f
	fs.list = append(fs.list, f)
}

// names lists the canonical key names of struct type t.
func names(t reflect.Type) []string {
	fs := fieldsOf(t)
	out := make([]string, len(fs.list))
	for i, f := range fs.list {
		out[i] = f.name
	}
	return out
}

// deref strips pointers.
func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}
