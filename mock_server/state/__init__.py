"""Jobs and what they need: the job record and store interface (`jobs`), the embedded SQLite store
(`sqlite_store`, `database`), how a job ends (`lifecycle`), made-up ids and values (`ids`), the clock."""
