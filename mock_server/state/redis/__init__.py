"""The shared state on Redis: jobs and their engine work, webhook deliveries, the journal, run-time
defaults and the registry of engine workers.

Selected by a `redis://` or `rediss://` store URL (`mixmock serve --store redis://HOST:PORT/DB`); every
module here implements the same interface as its SQLite counterpart, so any number of mock replicas and
engine workers share one state.
"""
