package dynamic

import (
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthproxy/berth/pkg/middleware"
)

var update = flag.Bool("update", false, "rewrite the expected output of testdata/*.txt")

// separator divides a golden file's input from its expected output.
const separator = "----------"

// TestGolden decodes each testdata/*.txt input and compares the resulting
// configuration (as indented JSON) and issues with the expected output
// after the separator. The first line of the input, "# format: yaml" or
// "# format: toml", picks the format; the input is decoded as a file named
// after the test file with the matching extension.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, want, ok := strings.Cut(string(raw), "\n"+separator+"\n")
			if !ok && !*update {
				t.Fatalf("no %q line", separator)
			}
			input += "\n"
			first, _, _ := strings.Cut(input, "\n")
			ext := ".yml"
			switch strings.TrimSpace(strings.TrimPrefix(first, "# format:")) {
			case "toml":
				ext = ".toml"
			case "yaml":
			default:
				t.Fatalf("first line must be \"# format: yaml\" or \"# format: toml\", got %q", first)
			}
			name := strings.TrimSuffix(filepath.Base(file), ".txt") + ext
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
			if *update {
				out := input + separator + "\n" + got.String()
				if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got.String() != want {
				t.Errorf("output differs (run go test -update to accept)\n--- got:\n%s\n--- want:\n%s", got.String(), want)
			}
		})
	}
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
