//go:build linux

package pgcluster

import "syscall"

// maxSocketPath is sizeof(sockaddr_un.sun_path) minus the terminating NUL.
const maxSocketPath = 107

// setPdeathsig makes the kernel send the server SIGINT (fast shutdown) when
// we die, even by SIGKILL, so a crashed help desk leaves no orphaned server
// holding the data directory.
func setPdeathsig(a *syscall.SysProcAttr) {
	a.Pdeathsig = syscall.SIGINT
}
