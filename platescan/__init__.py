"""platescan: licence-plate recognition on an event-driven AWS pipeline that also runs offline."""

__version__ = "0.1.0"
