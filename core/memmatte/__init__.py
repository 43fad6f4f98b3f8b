"""memmatte: trimap-free, temporally stable video portrait matting."""

__version__ = "0.1.0"
