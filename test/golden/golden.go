// Package golden runs golden-file tests: each file holds an input, a line
// "----------", and the output expected for that input. Run the tests with
// -update to rewrite the expected outputs from what the code produces now
// (then read the diff before committing it).
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected output of the golden files")

// Separator divides a golden file's input from its expected output.
const Separator = "----------"

// Run runs one subtest per file matching pattern: render turns the file's
// input (without the separator and what follows) into the output that is
// compared with the expected one.
func Run(t *testing.T, pattern string, render func(t *testing.T, input string) string) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files match %s: %v", pattern, err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, want, ok := strings.Cut(string(raw), "\n"+Separator+"\n")
			if !ok && !*update {
				t.Fatalf("no %q line", Separator)
			}
			input = strings.TrimRight(input, "\n") + "\n"
			got := render(t, input)
			if *update {
				if err := os.WriteFile(file, []byte(input+Separator+"\n"+got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != want {
				t.Errorf("output differs (run go test -update to accept)\n--- got:\n%s\n--- want:\n%s", got, want)
			}
		})
	}
}
