"""Inference API: chat with an Amazon Bedrock model through the Converse API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("inference-api")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
