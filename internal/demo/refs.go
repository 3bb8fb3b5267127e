package demo

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Foreign keys are most of the cost of a bulk load here: PostgreSQL checks each reference of each
// row with a query of its own, and an event row has three. Measured on 2 cores, loading 1M
// tickets took about 2 minutes with those checks and about half that without. So where it may,
// Load sets session_replication_role = replica on its own sessions, which skips the per-row
// foreign key triggers, and does their work itself, once per batch:
//
//   - rows that reference rows of the same transaction (a ticket's messages and events) are
//     right by construction, which the tests verify;
//   - rows that reference committed rows (customers, staff, teams) could lose them to a
//     concurrent delete, so each batch takes FOR KEY SHARE locks on every such row it
//     references, as the triggers would have, and fails if any is gone.
//
// It may only where skipping triggers skips nothing else: the setting needs a superuser (or a
// grant of it), and the loaded tables must have no INSERT triggers or rules of their own, which
// would be skipped too. Otherwise the triggers run and the load is just slower.

// allowTriggerBypass is false in tests that check the slower path.
var allowTriggerBypass = true

// loadedTables are the tables Load writes to.
var loadedTables = []string{"users", "teams", "team_members", "customers", "customer_identities", "tickets", "messages", "events"}

// bypassTriggers switches the loader's sessions to replica mode if that is allowed and safe, and
// reports whether it did.
func (l *loader) bypassTriggers(ctx context.Context) (bool, error) {
	if !allowTriggerBypass {
		return false, nil
	}
	// Triggers enabled for origin ('O') stop firing in replica mode and replica-only ones ('R')
	// start; either changes what an insert does. Internal triggers are the foreign keys.
	var own int
	err := l.conns[0].QueryRow(ctx, `
		SELECT (SELECT count(*) FROM pg_trigger
				WHERE tgrelid = ANY($1::text[]::regclass[]) AND NOT tgisinternal
				AND tgenabled IN ('O', 'R') AND tgtype & 4 <> 0)
			+ (SELECT count(*) FROM pg_rewrite WHERE ev_class = ANY($1::text[]::regclass[]) AND ev_type = '3')`,
		loadedTables).Scan(&own)
	if err != nil {
		return false, fmt.Errorf("demo: look for triggers: %w", err)
	}
	if own > 0 {
		l.log.Info("demo: the tables have insert triggers or rules of their own; checking foreign keys row by row")
		return false, nil
	}
	for i, conn := range l.conns {
		_, err := conn.Exec(ctx, `SET session_replication_role = replica`)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" { // insufficient_privilege
			for _, c := range l.conns[:i] {
				if _, err := c.Exec(ctx, `RESET session_replication_role`); err != nil {
					return false, fmt.Errorf("demo: reset session_replication_role: %w", err)
				}
			}
			l.log.Info("demo: may not set session_replication_role; checking foreign keys row by row")
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("demo: set session_replication_role: %w", err)
		}
	}
	return true, nil
}

// lockRefs does for ids what the foreign key triggers would for rows referencing them: lock them
// FOR KEY SHARE until the transaction ends, so that nobody can delete them meanwhile, and fail if
// any is gone already. table is one of a few constants, never input.
func lockRefs(ctx context.Context, tx pgx.Tx, table string, ids []int64) error {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+table+` WHERE id = ANY($1) FOR KEY SHARE) locked`, ids).Scan(&n)
	if err != nil {
		return fmt.Errorf("lock %s: %w", table, err)
	}
	if n != len(ids) {
		return fmt.Errorf("%d of the %d %s referenced are gone", len(ids)-n, len(ids), table)
	}
	return nil
}
