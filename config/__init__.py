"""citebot configuration: typed settings loaded once at start-up."""

from config.loader import load_settings
from config.settings import Settings

__all__ = ["Settings", "load_settings"]
