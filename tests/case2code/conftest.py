"""Catalog tests share the root conftest's fixtures (icd10cm_loaded, app, client)."""
