"""mt-eklient: build and verify Windows LTSC clients that run medical-device software."""

__version__ = "0.1.0"
