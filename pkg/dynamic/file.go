// Package dynamic decodes dynamic configuration in Traefik's dynamic-file
// format (http.routers, http.services, http.middlewares,
// http.serversTransports, tls.certificates, tls.options, tls.stores) into
// config.Dynamic, reporting every problem as a config.Issue that names its
// file, line and column.
//
// Each object is decoded on its own so that a mistake in one router drops
// that router only: the rest of the file still applies.
package dynamic

import (
	"errors"
	"path/filepath"
	"strings"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/decode"
)

// DecodeFile decodes one dynamic configuration file. The format is chosen by
// the file name's extension: .toml is TOML, anything else (.yml, .yaml) is
// read as YAML. Objects that fail to decode are left out and reported; the
// rest are returned. A file that cannot be parsed gives an empty
// configuration and a single fatal issue with the position of the error.
func DecodeFile(filename string, data []byte) (*config.Dynamic, []config.Issue) {
	var root *decode.Node
	var err error
	if strings.EqualFold(filepath.Ext(filename), ".toml") {
		root, err = decode.FromTOML(filename, data)
	} else {
		root, err = decode.FromYAML(filename, data)
	}
	if err != nil {
		issue := config.Issue{Source: filename, Provider: "file", Kind: "file", Msg: err.Error(), Fatal: true}
		var se *decode.SyntaxError
		if errors.As(err, &se) {
			issue.Source, issue.Msg = se.Pos(), se.Msg
		}
		return &config.Dynamic{}, []config.Issue{issue}
	}
	return Decode(root, "file")
}
