"""asyncio SDK for the SOVFixer (Ping.Extraction) and Ping.Data APIs."""

from sovfixer_async._version import __version__

__all__ = ["__version__"]
