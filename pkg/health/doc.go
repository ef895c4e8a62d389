// Package health tells the balancer which servers may take requests.
//
// Active checks (HTTP or grpc.health.v1) run in a Pool keyed by server URL
// and check configuration, so that a reload which keeps a server and its
// check keeps the same checker, with its history and its rise/fall counters,
// instead of starting over (and briefly assuming a dead server alive). A
// checker whose server no longer appears in any routing table is stopped
// after a grace period, which absorbs a configuration that flaps.
//
// Passive checks (Passive) count failures of real requests and eject a
// server for a while, as nginx's max_fails/fail_timeout do.
//
// Both publish their result in atomics that pickers read without locking.
package health
