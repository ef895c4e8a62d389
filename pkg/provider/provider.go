// Package provider defines what a configuration provider is: something that
// sends berth full snapshots of dynamic configuration until told to stop.
package provider

import (
	"context"

	"github.com/berthproxy/berth/pkg/config"
)

// Provider is a source of dynamic configuration (files, Docker, ...).
type Provider interface {
	// Name is the provider's namespace: objects it defines are known as
	// name@<Name()>.
	Name() string
	// Run sends full snapshots on out until ctx is done. It sends a first
	// snapshot as soon as it can, even an empty one, so that berth knows
	// the provider is up. It returns nil when ctx is done and an error only
	// when it cannot go on at all.
	Run(ctx context.Context, out chan<- config.Snapshot) error
}
