package pgcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// pgLibRoot is where Debian and Ubuntu install PostgreSQL, one directory per
// major version, without putting the server binaries on PATH. A variable so
// tests can point it at an empty directory.
var pgLibRoot = "/usr/lib/postgresql"

// binaries locates one PostgreSQL installation. initdb and postgres must
// come from the same version, so they are always found together.
type binaries struct {
	initdb   string
	postgres string
}

func noPostgresError() error {
	return fmt.Errorf("%w (looked for initdb on PATH and in %s/*/bin): "+
		"install PostgreSQL (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql) "+
		"or set DATABASE_URL to an existing database", ErrNoPostgres, pgLibRoot)
}

// findBinaries prefers PATH, so a user can choose a version by putting it
// first, and falls back to the newest version under pgLibRoot.
func findBinaries() (binaries, error) {
	if initdb, err := exec.LookPath("initdb"); err == nil {
		if pg, ok := postgresNextTo(initdb); ok {
			return binaries{initdb: initdb, postgres: pg}, nil
		}
	}
	if b, ok := newestLibInstall(); ok {
		return b, nil
	}
	return binaries{}, noPostgresError()
}

// postgresNextTo finds the server binary that belongs to initdb. PATH often
// holds symlinks (/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb),
// so the link target's directory is the more reliable place to look.
func postgresNextTo(initdb string) (string, bool) {
	var candidates []string
	if real, err := filepath.EvalSymlinks(initdb); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(real), "postgres"))
	}
	candidates = append(candidates, filepath.Join(filepath.Dir(initdb), "postgres"))
	if pg, err := exec.LookPath("postgres"); err == nil {
		candidates = append(candidates, pg)
	}
	for _, c := range candidates {
		if isExecutable(c) {
			return c, true
		}
	}
	return "", false
}

func newestLibInstall() (binaries, bool) {
	entries, err := os.ReadDir(pgLibRoot)
	if err != nil {
		return binaries{}, false
	}
	var best binaries
	var bestVersion []int
	for _, e := range entries {
		v, ok := parseVersion(e.Name())
		if !ok {
			continue
		}
		b, ok := libInstall(e.Name())
		if !ok {
			continue
		}
		if bestVersion == nil || compareVersions(v, bestVersion) > 0 {
			best, bestVersion = b, v
		}
	}
	return best, bestVersion != nil
}

// libInstall returns the installation of one major version under pgLibRoot.
func libInstall(major string) (binaries, bool) {
	bin := filepath.Join(pgLibRoot, major, "bin")
	b := binaries{initdb: filepath.Join(bin, "initdb"), postgres: filepath.Join(bin, "postgres")}
	return b, isExecutable(b.initdb) && isExecutable(b.postgres)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// parseVersion parses "9.6" or "16" so versions compare numerically; as
// strings, "9.6" would sort above "16".
func parseVersion(s string) ([]int, bool) {
	parts := strings.Split(s, ".")
	v := make([]int, 0, len(parts))
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, false
		}
		v = append(v, n)
	}
	return v, len(v) > 0
}

func compareVersions(a, b []int) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)(?:\.(\d+))?`)

// majorVersion asks the server binary for its version, in the form
// PG_VERSION uses: "9.6" before PostgreSQL 10, "15" after. postgres allows
// --version even as root.
func majorVersion(ctx context.Context, postgres string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, postgres, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("pgcluster: %s --version: %w", postgres, err)
	}
	m := versionRE.FindStringSubmatch(string(out))
	if m == nil {
		return "", fmt.Errorf("pgcluster: cannot parse %s --version output %q", postgres, strings.TrimSpace(string(out)))
	}
	if major, _ := strconv.Atoi(m[1]); major < 10 && m[2] != "" {
		return m[1] + "." + m[2], nil
	}
	return m[1], nil
}

// matchCluster makes sure an existing cluster is run by the major version
// that created it: postgres refuses other versions anyway, and after a
// distribution upgrade the old version is often still installed under
// pgLibRoot next to the new one on PATH.
func matchCluster(ctx context.Context, b binaries, dataDir string) (binaries, string, error) {
	have, err := majorVersion(ctx, b.postgres)
	if err != nil {
		return b, "", err
	}
	raw, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION"))
	if err != nil {
		return b, have, nil // not initialized yet: any version will do
	}
	want := strings.TrimSpace(string(raw))
	if want == have {
		return b, have, nil
	}
	if alt, ok := libInstall(want); ok {
		return alt, want, nil
	}
	return b, have, fmt.Errorf("pgcluster: the cluster in %s was created by PostgreSQL %s, but the PostgreSQL found (%s) is version %s: "+
		"install PostgreSQL %s as well (Debian/Ubuntu: apt-get install postgresql-%s), or upgrade the cluster with pg_upgrade",
		dataDir, want, b.postgres, have, want, want)
}
