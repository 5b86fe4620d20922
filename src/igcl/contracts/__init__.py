"""The table contracts between stages: every Parquet schema (:mod:`~igcl.contracts.schema`), with its validated
I/O, and the readers of the tables several stages share (graph shards, node-feature stores)."""
