"""Model backends: one interface per capability, a registry of named backends, heavy imports inside."""
