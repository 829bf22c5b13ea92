"""App API: the platform's starter HTTP service behind the shared load balancer."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("app-api")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
