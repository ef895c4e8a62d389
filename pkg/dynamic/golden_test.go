package dynamic

import (
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthproxy/berth/pkg/middleware"
	"github.com/berthproxy/berth/test/golden"
)

// TestGolden decodes each testdata/*.txt input and compares the resulting
// configuration (as indented JSON) and issues with the expected output
// after the separator. The first line of the input, "# format: yaml" or
// "# format: toml", picks the format; the input is decoded as a file named
// after the test file with the matching extension.
func TestGolden(t *testing.T) {
	golden.Run(t, "testdata/*.txt", func(t *testing.T, input string) string {
		first, _, _ := strings.Cut(input, "\n")
		ext := ".yml"
		switch strings.TrimSpace(strings.TrimPrefix(first, "# format:")) {
		case "toml":
			ext = ".toml"
		case "yaml":
		default:
			t.Fatalf("first line must be \"# format: yaml\" or \"# format: toml\", got %q", first)
		}
		name := filepath.Base(t.Name()) + ext // as the golden file is named
		cfg, issues := DecodeFile(name, []byte(input))
		js, err := json.MarshalIndent(cfg, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		var got strings.Builder
		got.Write(js)
		got.WriteString("\n")
		for _, i := range issues {
			got.WriteString("issue: " + i.Error() + "\n")
		}
		return got.String()
	})
}

// stripPrefix and addPrefix are test middlewares, shaped like Traefik's.
type stripPrefixSpec struct {
	Prefixes []string `json:"prefixes"`
}

func (s *stripPrefixSpec) Validate() error {
	if len(s.Prefixes) == 0 {
		return errors.New("prefixes is empty; want at least one prefix such as \"/api\"")
	}
	return nil
}

type addPrefixSpec struct {
	Prefix string `json:"prefix"`
}

func (s *addPrefixSpec) Validate() error {
	if !strings.HasPrefix(s.Prefix, "/") {
		return errors.New("prefix must start with \"/\"")
	}
	return nil
}

type testFactory struct {
	typ     string
	newSpec func() middleware.Spec
}

func (f testFactory) Type() string             { return f.typ }
func (f testFactory) NewSpec() middleware.Spec { return f.newSpec() }
func (f testFactory) Build(middleware.BuildContext, string, middleware.Spec, http.Handler) (http.Handler, error) {
	return nil, errors.New("test factory")
}

func init() {
	middleware.Register(testFactory{"stripPrefix", func() middleware.Spec { return &stripPrefixSpec{} }})
	middleware.Register(testFactory{"addPrefix", func() middleware.Spec { return &addPrefixSpec{} }})
}
