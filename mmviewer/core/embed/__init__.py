"""The embedding job: options, the local and Dask engines, their helper processes."""
