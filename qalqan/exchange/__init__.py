"""Exchange format v1: the tables operators hand over and the tables Qalqan writes back.

``schema`` is the contract as data; ``reader`` streams tables from CSV,
CSV.gz and Parquet in chunks, validating every row; ``writer`` writes them.
"""
