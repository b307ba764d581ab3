"""The items as rows: per-item columns (partner ranks, pair scores), the filter language, exact
search and sorting for the item table, and which modality drives the map. No Qt."""
