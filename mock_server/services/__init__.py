"""The CI services around the pipeline: webhooks and their delivery log, the request journal, faults
on purpose, run-time scenario defaults, and the admin API (`/_mixmock/`) that inspects them all."""
