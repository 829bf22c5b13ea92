"""Inference API: chat with an Amazon Bedrock model through the Converse API."""

# The one place the version is written: pyproject.toml reads it from here (dynamic). Looking it up
# with importlib.metadata instead cost ~0.1 s of CPU before the port opened (__main__.py).
__version__ = "0.1.0"
