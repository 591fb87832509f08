"""Small low-level helpers shared by every layer (no imports from tandem's other packages)."""
