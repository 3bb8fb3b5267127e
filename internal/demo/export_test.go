package demo

// SetTriggerBypass lets tests force foreign keys to be checked row by row, and returns a func
// that restores the default.
func SetTriggerBypass(allow bool) (restore func()) {
	old := allowTriggerBypass
	allowTriggerBypass = allow
	return func() { allowTriggerBypass = old }
}
