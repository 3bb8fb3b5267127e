//go:build !unix

package pgcluster

import (
	"context"
	"fmt"
	"runtime"
)

// Start is not supported on this platform: the private cluster relies on
// unix sockets and unix process control.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	return nil, fmt.Errorf("%w: a private PostgreSQL cluster is not supported on %s; set DATABASE_URL to an existing database",
		ErrNoPostgres, runtime.GOOS)
}

func (c *Cluster) stop(context.Context) error { return nil }
