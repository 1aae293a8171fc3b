"""For people and test suites: the `mixmock` command, the pytest plugin, and `running_server`."""
