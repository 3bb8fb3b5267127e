package mailin

import "time"

// Test hooks: the crash-safety test kills the process at named points, with small batches so
// that there are many points to kill at; the reconnection test shortens the backoff.

func SetCrashHook(r *Runner, f func(point string)) { r.ingester.crash = f }

func SetBatchMessages(r *Runner, n int) { r.batchMessages = n }

func SetBackoff(r *Runner, max, reload time.Duration) { r.maxBackoff, r.reload = max, reload }

var CitedIDs = citedIDs
