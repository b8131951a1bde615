"""Wire schemas, one module per surface; kept apart from domain objects and table rows."""
