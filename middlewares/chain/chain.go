// Package chain implements Traefik's chain middleware: a named, reusable list
// of other middlewares. It has no handler of its own; Build asks the routing
// table to wrap the next handler in the listed middlewares, so a chain costs
// nothing per request beyond the middlewares it lists.
package chain
