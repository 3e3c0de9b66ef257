"""dbt-intacct: reverse ETL from dbt models to Sage Intacct."""

__version__ = "0.1.0"
