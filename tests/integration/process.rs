//! The `altroot` binary itself: start-up lines, per-query logs, SIGHUP, SIGTERM.
