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

// TestSpecsRefuseEmpty checks that no middleware accepts empty options,
// and that Build refuses them too rather than building a no-op.
func TestSpecsRefuseEmpty(t *testing.T) {
	for _, f := range All {
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
// one of the types the decoder supports.
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
			typ := v.Elem().Type()
			for i := range typ.NumField() {
				fld := typ.Field(i)
				name, _, _ := strings.Cut(fld.Tag.Get("json"), ",")
				if name == "" || name == "-" {
					t.Errorf("field %s has no json tag", fld.Name)
				}
				if !allowed[fld.Type] {
					t.Errorf("field %s has type %s, which the decoder does not support", fld.Name, fld.Type)
				}
			}
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
