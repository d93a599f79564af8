"""resolver: an authoritative and recursive DNS server that routes traffic."""

__version__ = "0.1.0"
