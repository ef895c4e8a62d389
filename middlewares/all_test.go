package middlewares

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/middleware"
)

func TestAllRegisteredOnce(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range All {
		k := strings.ToLower(f.Type())
		if seen[k] {
			t.Errorf("type %q is listed twice in All", f.Type())
		}
		seen[k] = true
		got, ok := middleware.Lookup(f.Type())
		if !ok {
			t.Errorf("type %q is not registered", f.Type())
			continue
		}
		if got.Type() != f.Type() {
			t.Errorf("Lookup(%q) = factory of %q", f.Type(), got.Type())
		}
	}
	if n := len(middleware.Types()); n != len(All) {
		t.Errorf("%d types registered, %d in All: %v", n, len(All), middleware.Types())
	}
}

// emptyIsValid are the middlewares whose empty options are a complete
// configuration in Traefik: `compress: {}` (or the label compress=true)
// compresses with the defaults, and a rateLimit without average does not
// limit.
var emptyIsValid = map[string]bool{"compress": true, "rateLimit": true}

// TestSpecsRefuseEmpty checks that no other middleware accepts empty
// options, and that Build refuses them too rather than building a no-op.
func TestSpecsRefuseEmpty(t *testing.T) {
	for _, f := range All {
		if emptyIsValid[f.Type()] {
			continue
		}
		t.Run(f.Type(), func(t *testing.T) {
			spec := f.NewSpec()
			if spec == nil {
				t.Fatal("NewSpec returned nil")
			}
			err := spec.Validate()
			if err == nil {
				t.Fatal("Validate accepted empty options")
			}
			if strings.TrimSpace(err.Error()) == "" {
				t.Error("Validate returned an empty message")
			}
			ctx := middleware.BuildContext{Chain: func([]string, http.Handler) (http.Handler, error) {
				return http.NotFoundHandler(), nil
			}}
			if _, err := f.Build(ctx, "x", f.NewSpec(), http.NotFoundHandler()); err == nil {
				t.Error("Build accepted empty options")
			}
		})
	}
}

// TestSpecOptionTypes checks the conventions the generic decoder relies
// on: a spec is a pointer to a struct whose every field has a json tag and
// one of the types the decoder supports, or is a pointer to such a struct
// (nested options such as ipStrategy.depth).
func TestSpecOptionTypes(t *testing.T) {
	allowed := map[reflect.Type]bool{
		reflect.TypeFor[string]():            true,
		reflect.TypeFor[bool]():              true,
		reflect.TypeFor[int]():               true,
		reflect.TypeFor[int64]():             true,
		reflect.TypeFor[[]string]():          true,
		reflect.TypeFor[map[string]string](): true,
		reflect.TypeFor[config.Duration]():   true,
	}
	for _, f := range All {
		t.Run(f.Type(), func(t *testing.T) {
			v := reflect.ValueOf(f.NewSpec())
			if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
				t.Fatalf("NewSpec returned %s, want a pointer to a struct", v.Type())
			}
			var check func(prefix string, typ reflect.Type)
			check = func(prefix string, typ reflect.Type) {
				for i := range typ.NumField() {
					fld := typ.Field(i)
					name, _, _ := strings.Cut(fld.Tag.Get("json"), ",")
					if name == "" || name == "-" {
						t.Errorf("field %s%s has no json tag", prefix, fld.Name)
					}
					switch {
					case allowed[fld.Type]:
					case fld.Type.Kind() == reflect.Pointer && fld.Type.Elem().Kind() == reflect.Struct:
						check(prefix+fld.Name+".", fld.Type.Elem())
					default:
						t.Errorf("field %s%s has type %s, which the decoder does not support", prefix, fld.Name, fld.Type)
					}
				}
			}
			check("", v.Elem().Type())
		})
	}
}

// TestBuildRefusesForeignSpec checks that Build reports options of the
// wrong type instead of panicking.
func TestBuildRefusesForeignSpec(t *testing.T) {
	for _, f := range All {
		t.Run(f.Type(), func(t *testing.T) {
			if _, err := f.Build(middleware.BuildContext{}, "x", struct{ middleware.Spec }{}, http.NotFoundHandler()); err == nil {
				t.Error("Build accepted options of the wrong type")
			}
		})
	}
}
