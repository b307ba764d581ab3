"""The on-disk embedding store: vector shelves, atomic writes, the content-hash cache, quick-reopen snapshots."""
