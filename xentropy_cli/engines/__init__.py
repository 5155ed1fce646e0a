"""Engines that run the core pipeline over many chunks or shards (stream, dask)."""
