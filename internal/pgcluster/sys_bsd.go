//go:build unix && !linux

package pgcluster

import "syscall"

// maxSocketPath is sizeof(sockaddr_un.sun_path) minus the terminating NUL
// on macOS and the BSDs.
const maxSocketPath = 103

// setPdeathsig does nothing: there is no parent-death signal outside Linux.
// A server orphaned by a killed help desk keeps running; the next Start on
// the same directory attaches to it.
func setPdeathsig(*syscall.SysProcAttr) {}
