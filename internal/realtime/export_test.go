package realtime

import "time"

// SetPresenceWindow sets how long presence changes wait to be told
// together; it returns the restore function. Tests using it must not run
// in parallel with others of the package.
func SetPresenceWindow(d time.Duration) (restore func()) {
	old := presenceWindow
	presenceWindow = d
	return func() { presenceWindow = old }
}
