//go:build tools

package berth

import (
	_ "github.com/coder/websocket"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/pelletier/go-toml/v2"
	_ "go.uber.org/zap"
	_ "golang.org/x/crypto/bcrypt"
	_ "golang.org/x/net/http2"
	_ "google.golang.org/grpc"
	_ "gopkg.in/yaml.v3"
)
