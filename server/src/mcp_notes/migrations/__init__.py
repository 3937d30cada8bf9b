"""Versioned schema migrations, one folder per database: NNNN_name.sql, applied in order."""
