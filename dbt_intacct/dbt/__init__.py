"""The only package that imports dbt: manifest, selection, the warehouse through the adapter."""
