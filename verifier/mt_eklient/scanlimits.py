"""How many hosts a scan or build plan collects at once, and how long one host may take: the
library's defaults and the CLI's, in a module light enough for building `mtk`'s parser."""

DEFAULT_FORKS = 20
DEFAULT_TIMEOUT = 300  # seconds per host: the collector takes seconds, a slow WinRM link minutes
